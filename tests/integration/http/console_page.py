"""Reading a console page as a browser would: its forms (where each posts and the values it
would send as it stands) and the sentence on top. Only the standard library's HTML parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)

    def filled(self, **values: str) -> dict[str, str]:
        """What the form sends with `values` typed in (every other field as the page left it)."""
        unknown = set(values) - set(self.fields)
        assert not unknown, f"{self.action} has no fields {unknown}"
        return {**self.fields, **values}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.said: dict[str, str] = {}
        self._form: Form | None = None
        self._textarea: str | None = None
        self._role: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method") == "post":
            self._form = Form(a["action"])
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and "name" in a:
            self._form.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea" and self._form is not None:
            self._textarea = a["name"]
            self._form.fields[a["name"]] = ""
        elif a.get("class") == "notice" or a.get("role") == "alert":
            self._role = "status" if a.get("class") == "notice" else "alert"
            self.said.setdefault(self._role, "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self._form is not None:
            self._form.fields[self._textarea] += data
        if self._role is not None:
            self.said[self._role] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "p":
            self._role = None


@dataclass
class Page:
    status_code: int
    html: str
    forms: list[Form]
    #: The page's sentences on top: `status` what went through (the notice), `alert` what was
    #: refused.
    said: dict[str, str]

    @classmethod
    def of(cls, response: httpx.Response) -> Page:
        reader = _Reader()
        reader.feed(response.text)
        return cls(response.status_code, response.text, reader.forms, reader.said)

    @property
    def acts(self) -> set[str]:
        """The last part of every act's form path: `hold`, `returns/<id>/authorize`, …"""
        found = set()
        for form in self.forms:
            if "/orders/" in form.action:
                found.add(form.action.split("/orders/", 1)[1].split("/", 1)[1])
        return found

    def form(self, ending: str) -> Form:
        matches = [f for f in self.forms if f.action.endswith("/" + ending)]
        assert len(matches) == 1, (ending, [f.action for f in self.forms])
        return matches[0]
