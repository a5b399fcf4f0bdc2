"""Who ordered and where it goes: the customer and the shipping address, as value objects."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import FieldIssue

_MAX_TEXT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    """The ordering customer; `id` is the channel's customer id when it has one."""

    email: str
    name: str
    id: str | None = None

    def issues(self, prefix: str = "customer") -> list[FieldIssue]:
        found = _text_issues(prefix, {"email": self.email, "name": self.name})
        if "@" not in self.email.strip("@") and not any(i.field.endswith("email") for i in found):
            found.append(FieldIssue(f"{prefix}.email", "not an email address"))
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A shipping address; `country` is an ISO 3166-1 alpha-2 code."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None

    def issues(self, prefix: str = "shipping_address") -> list[FieldIssue]:
        found = _text_issues(
            prefix,
            {
                "name": self.name,
                "line1": self.line1,
                "city": self.city,
                "postal_code": self.postal_code,
            },
        )
        if not (len(self.country) == 2 and self.country.isascii() and self.country.isupper()):
            found.append(FieldIssue(f"{prefix}.country", "must be an ISO 3166-1 alpha-2 code"))
        if self.line2 is not None and len(self.line2) > _MAX_TEXT:
            found.append(FieldIssue(f"{prefix}.line2", f"at most {_MAX_TEXT} characters"))
        return found


def _text_issues(prefix: str, fields: dict[str, str]) -> list[FieldIssue]:
    found = []
    for name, value in fields.items():
        if "\x00" in value:
            found.append(FieldIssue(f"{prefix}.{name}", "must not contain NUL characters"))
        elif not value.strip():
            found.append(FieldIssue(f"{prefix}.{name}", "must not be blank"))
        elif len(value) > _MAX_TEXT:
            found.append(FieldIssue(f"{prefix}.{name}", f"at most {_MAX_TEXT} characters"))
    return found
