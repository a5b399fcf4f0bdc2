"""The dead-letter filter as typed into the operations page (`LetterFilterForm`): empty fields
match everything, times without an offset are UTC, and what the API's bulk replay refuses is
refused here with a sentence; and how long things took, as the page says it (`duration`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from entrypoints.http.console.letter_filter import BadFilter, LetterFilterForm
from entrypoints.http.console.pages import duration
from ports.delivery_log import DeadLetterFilter


def test_empty_and_missing_fields_match_everything() -> None:
    typed = LetterFilterForm.of({"consumer": "  ", "event_type": ["not", "text"], "other": "x"})

    assert typed.kept == {}
    assert typed.to_filter() == DeadLetterFilter()


def test_fields_are_stripped_and_kept_for_links() -> None:
    typed = LetterFilterForm.of({"consumer": " erp ", "error_contains": "slow "})

    assert typed.kept == {"consumer": "erp", "error_contains": "slow"}
    assert typed.to_filter() == DeadLetterFilter(consumer="erp", error_contains="slow")


def test_a_time_without_an_offset_is_utc_and_one_with_an_offset_keeps_it() -> None:
    where = LetterFilterForm(since="2026-11-02T10:00", until="2026-11-02T12:00+01:00").to_filter()

    assert where.since == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert where.until == datetime(2026, 11, 2, 12, 0, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        (LetterFilterForm(since="tomorrow"), "“Died since” is not a date and time"),
        (LetterFilterForm(until="2026-13-01"), "“Died before” is not a date and time"),
        (
            LetterFilterForm(since="2026-11-02T10:00", until="2026-11-02T10:30+01:00"),
            "“Died before” must not be earlier than “Died since”.",
        ),
        (LetterFilterForm(event_type="E" * 65), "Event type: at most 64 characters."),
        (LetterFilterForm(error_contains="a\x00"), "Error contains: must not contain a NUL"),
    ],
)
def test_a_filter_that_is_not_one_is_refused_with_a_sentence(
    typed: LetterFilterForm, says: str
) -> None:
    with pytest.raises(BadFilter, match=says):
        typed.to_filter()


def test_the_same_moment_twice_is_a_filter_that_matches_nothing_not_an_error() -> None:
    where = LetterFilterForm(since="2026-11-02T10:00", until="2026-11-02T10:00").to_filter()

    assert where.since == where.until


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0, "0 s"), (45.9, "45 s"), (960, "16 min"), (3 * 3600 + 300, "3 h 5 min"),
     (4 * 86400 + 7200, "4 d 2 h"), (-5, "0 s")],
)  # fmt: skip
def test_durations_read_in_the_unit_a_person_acts_on(seconds: float, said: str) -> None:
    assert duration(seconds) == said
