"""A delivered event is handled under its correlation id: the consumer's logs and its calls to
other systems carry the id of the request that caused the event."""

from __future__ import annotations

from typing import Any, ClassVar

from outbox.delivery import Outcome
from ports.correlation import current_correlation_id
from ports.outbox import EventEnvelope
from tests.integration.delivery.conftest import Pipeline
from tests.integration.delivery.test_in_order import delivery, relayed  # noqa: F401 - fixture


class Witness:
    name: ClassVar[str] = "fulfilment"
    subscribes: ClassVar[frozenset[str]] = frozenset()
    in_order: ClassVar[bool] = False

    def __init__(self) -> None:
        self.saw: list[str | None] = []

    async def handle(self, envelope: EventEnvelope) -> None:
        self.saw.append(current_correlation_id())


async def test_a_consumer_works_under_the_event_s_correlation_id(
    relayed: tuple[Pipeline, list[dict[str, Any]]],  # noqa: F811 - the fixture
) -> None:
    pipeline, (first, *_) = relayed
    witness = Witness()
    result = await delivery(pipeline, witness).deliver(witness.name, first)  # type: ignore[arg-type]
    assert result.outcome is Outcome.DONE
    assert witness.saw == [first["correlation_id"]]
    assert witness.saw[0] is not None
    assert current_correlation_id() is None  # and only while it works
