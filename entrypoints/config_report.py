"""`orderhub config`: the effective configuration, one setting a line, secrets masked."""

from __future__ import annotations

from dataclasses import fields

from adapters.redaction import MASK, masked_url
from entrypoints.embedded import is_embedded
from entrypoints.settings import Settings

#: Fields of `Settings` that no environment variable sets.
_NOT_FROM_ENV = frozenset({"channel_policies", "max_body_bytes"})


def config_report(settings: Settings) -> str:
    defaults = Settings()
    rows = []
    for f in fields(settings):
        if f.name in _NOT_FROM_ENV:
            continue
        value = getattr(settings, f.name)
        origin = "default" if value == getattr(defaults, f.name) else "set"
        shown = _shown(value, secret=not f.repr)
        if f.name == "log_format" and value is None:
            shown = "(not set: TEXT when stdout is a terminal, JSON otherwise)"
        if f.name == "rate_limit_storage" and not value:
            shown = f"(not set: {_where(settings.rate_limit_url())})"
        rows.append((f.name.upper(), shown, origin))
    width = max(len(name) for name, _, _ in rows)
    mode = (
        "embedded: `serve` runs the relay and the workers in its own process"
        if is_embedded(settings)
        else "separate processes: run `serve`, `relay` and `worker`"
    )
    return "\n".join(
        [
            "orderhub: effective configuration (environment over defaults; secrets masked)",
            *(f"  {name:<{width}}  {shown}  ({origin})" for name, shown, origin in rows),
            f"  delivery: {mode}",
            f"  rate-limit counters: {_where(settings.rate_limit_url())}",
            f"  console sessions: {_where(settings.session_store_url())}",
        ]
    )


def _where(url: str) -> str:
    """Memory, or which Redis (password masked), shared by every API process."""
    if url.startswith("memory://"):
        return "memory://, this process's own (one API process)"
    return f"{masked_url(url)}, shared by every API process"


def _shown(value: object, *, secret: bool) -> str:
    if value is None or value == "":
        return "(not set)"
    if secret:
        return MASK
    if isinstance(value, str):
        return masked_url(value)
    if isinstance(value, tuple | frozenset):
        return ",".join(sorted(value) if isinstance(value, frozenset) else value) or "(empty)"
    return str(value)
