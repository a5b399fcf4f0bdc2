"""The dead-letter filter of the operations page as typed into its form: read from the query
(the list) or the posted form (a replay), checked by the same schema as the API's bulk replay
(`ReplayFilterBody`), and carried along in links and redirects so the filter is kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from entrypoints.http.ops import ReplayFilterBody
from ports.delivery_log import DeadLetterFilter

#: What each field is called on the page, for messages about it.
LABELS = {
    "consumer": "Consumer",
    "event_type": "Event type",
    "error_contains": "Error contains",
    "since": "Died since",
    "until": "Died before",
}


class BadFilter(Exception):
    """Raised when a filter typed into the page is not one; the message says what to change."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LetterFilterForm:
    """The fields as typed (stripped); an empty field matches everything."""

    consumer: str = ""
    event_type: str = ""
    error_contains: str = ""
    since: str = ""  #: a time in UTC, `2026-11-02T10:00`, or RFC 3339 with an offset
    until: str = ""

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> LetterFilterForm:
        """From query parameters or form fields; anything but text counts as empty."""
        return cls(
            **{
                name: value.strip() if isinstance(value := values.get(name), str) else ""
                for name in LABELS
            }
        )

    @property
    def kept(self) -> dict[str, str]:
        """The fields set, for a link or a redirect that keeps the filter."""
        return {name: value for name, value in asdict(self).items() if value}

    def to_filter(self) -> DeadLetterFilter:
        """Raises `BadFilter` for a field the API's bulk replay would refuse too, a time that is
        not one, or a `until` before `since`."""
        fields: dict[str, Any] = dict(self.kept)
        for name in ("since", "until"):
            if name in fields:
                fields[name] = _moment(name, fields[name])
        if "since" in fields and "until" in fields and fields["until"] < fields["since"]:
            raise BadFilter(f"“{LABELS['until']}” must not be earlier than “{LABELS['since']}”.")
        try:
            body = msgspec.convert(fields, ReplayFilterBody)
        except msgspec.ValidationError as e:
            raise BadFilter(_readable(e)) from e
        return body.to_filter()


def _moment(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise BadFilter(
            f"“{LABELS[name]}” is not a date and time: write it as 2026-11-02T10:00 (UTC), "
            "or with an offset, e.g. 2026-11-02T10:00+01:00."
        ) from e
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _readable(error: msgspec.ValidationError) -> str:
    """`Expected `str` of length <= 100 - at `$.consumer`` as `Consumer: at most 100
    characters.`, or near it."""
    message, _, where = str(error).partition(" - at `$.")
    field = where.rstrip("`")
    label = LABELS.get(field, "The filter")
    if "length <=" in message:
        return f"{label}: at most {message.rsplit(' ', 1)[-1]} characters."
    if "matching regex" in message:
        return f"{label}: must not contain a NUL character."
    return f"{label}: {message}."
