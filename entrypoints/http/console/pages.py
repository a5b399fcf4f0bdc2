"""HTML pages of the console: Jinja templates, autoescaped, sent with a strict security policy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Response
from litestar.enums import MediaType

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

#: No script runs on a console page, nothing loads from elsewhere, no other site may frame it,
#: customer data is never cached, and no URL (which may hold an email) leaks to another site as
#: a referrer. (`same-origin`, not `no-referrer`: with the latter, browsers post forms with
#: `Origin: null`, and the console's own forms would look forged.)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(moment: datetime | str | None) -> str:
    """`2024-05-14 09:03 UTC`: minutes are what a person reads out; seconds add noise."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 5 min`, `4 d 2 h`: how long, to the unit a person acts on."""
    whole = max(int(seconds), 0)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def detail_text(value: Any) -> str:
    """A timeline detail value as one line of text (lists of lines read `2 × MUG, 1 × CAP`)."""
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return "; ".join(", ".join(f"{k} {v}" for k, v in item.items()) for item in value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


class Pages:
    def __init__(self, templates: Path = TEMPLATES) -> None:
        # autoescape=True for every template: a customer's name is data, never markup.
        self._env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["when"] = when
        self._env.filters["detail_text"] = detail_text
        self._env.filters["duration"] = duration

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response[str]:
        html = self._env.get_template(template).render(**context)
        return Response(
            content=html,
            status_code=status_code,
            media_type=MediaType.HTML,
            headers=SECURITY_HEADERS,
        )
