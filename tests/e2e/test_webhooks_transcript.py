"""Issue 18's "done when" on real processes (tests/e2e/webhooks_transcript.py): a POS's receiver
verifies every webhook, misses nothing across its own outage (the feed from its last cursor),
and ignores the webhooks the hub delivers late."""

from __future__ import annotations

import pytest

from tests.e2e.webhooks_transcript import Outcome, run

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def outcome() -> Outcome:
    return run()


def test_the_receiver_has_every_event_of_its_orders_and_no_forged_one(outcome: Outcome) -> None:
    assert len(outcome.feed_ids) == 23  # 3 orders placed, shipped, delivered; 2 returns refunded
    assert set(outcome.feed_ids) <= outcome.seen
    assert outcome.refused_signatures == 0


def test_after_its_outage_the_receiver_caught_up_from_its_cursor_not_from_the_start(
    outcome: Outcome,
) -> None:
    catch_ups = [x for x in outcome.receiver_lines if x.startswith("caught up")]
    assert len(catch_ups) == 2
    assert catch_ups[0].startswith("caught up: 0 events read")
    # the third order's 5 events and the second order's return (4): only what it missed
    assert catch_ups[1].startswith("caught up: 9 events read")
    assert not [x for x in outcome.receiver_lines if "(already had)" in x]


def test_late_webhooks_were_recognised_as_duplicates(outcome: Outcome) -> None:
    late = [x for x in outcome.receiver_lines if "duplicate, ignored" in x]
    first_hand = [x for x in outcome.receiver_lines if "signature ok" in x]
    assert len(first_hand) + 9 == len(outcome.feed_ids)
    assert len(late) <= 9
