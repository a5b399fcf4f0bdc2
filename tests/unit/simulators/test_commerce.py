"""The simulated commerce platform: one update per key, the latest status and the history."""

from __future__ import annotations

from functools import partial

from adapters.simulators.commerce import SimulatedCommerce
from adapters.simulators.faults import FaultModel, FaultProfile
from ports.commerce import CommercePort, CommerceStatus
from tests.unit.simulators.worlds import with_retries


def status(value: str, ref: str = "WEB-1", **extra: str) -> CommerceStatus:
    return CommerceStatus(channel="web", channel_order_ref=ref, status=value, **extra)


async def test_it_implements_the_commerce_port() -> None:
    commerce: CommercePort = SimulatedCommerce()
    await commerce.push_status(status("booked"), "evt-1:commerce")


async def test_an_update_is_applied_once_per_key() -> None:
    commerce = SimulatedCommerce()
    await commerce.push_status(status("booked"), "evt-1:commerce")
    await commerce.push_status(status("booked"), "evt-1:commerce")
    assert commerce.history("web", "WEB-1") == [status("booked")]
    assert (commerce.stats.updates_applied, commerce.stats.duplicates_suppressed) == (1, 1)


async def test_a_repeated_key_changes_nothing_whatever_it_carries() -> None:
    commerce = SimulatedCommerce()
    await commerce.push_status(status("booked"), "evt-1:commerce")
    await commerce.push_status(status("cancelled"), "evt-1:commerce")
    assert commerce.status("web", "WEB-1") == status("booked")


async def test_the_latest_status_and_the_history_are_kept_per_order() -> None:
    commerce = SimulatedCommerce()
    await commerce.push_status(status("booked"), "e1")
    await commerce.push_status(status("booked", "WEB-2"), "e2")
    shipped = status("shipped", carrier="DHL", tracking_number="0034")
    await commerce.push_status(shipped, "e3")
    assert commerce.status("web", "WEB-1") == shipped
    assert commerce.history("web", "WEB-1") == [status("booked"), shipped]
    assert commerce.status("web", "WEB-3") is None


async def test_lost_replies_never_apply_an_update_twice() -> None:
    faults = FaultModel(FaultProfile(failure_rate=0.2, lost_reply_rate=0.5), seed=6)
    commerce = SimulatedCommerce(faults=faults)
    for n in range(20):
        await with_retries(partial(commerce.push_status, status(f"s{n}"), f"e{n}"))
    assert faults.stats.lost_replies > 0
    assert [u.status for u in commerce.history("web", "WEB-1")] == [f"s{n}" for n in range(20)]
