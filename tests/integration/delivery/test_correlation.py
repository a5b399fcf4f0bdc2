"""A delivered event is handled under its correlation id: the consumer's logs and its calls to
other systems carry the id of the request that caused the event."""

from __future__ import annotations

from typing import Any, ClassVar

from opentelemetry.trace import SpanKind

from domain import commands as c
from outbox.delivery import Outcome
from ports.correlation import current_correlation_id
from ports.outbox import EventEnvelope
from tests.integration.delivery.conftest import Pipeline
from tests.integration.delivery.test_in_order import delivery, relayed  # noqa: F401 - fixture
from tests.tracing import finished, recording


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


async def test_a_delivery_and_a_relay_batch_are_spans(
    relayed: tuple[Pipeline, list[dict[str, Any]]],  # noqa: F811 - the fixture
) -> None:
    pipeline, (first, *_) = relayed
    recording()
    await pipeline.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=9, sequence=2))
    assert await pipeline.relay_until_quiet() == 1  # a new event, relayed
    witness = Witness()
    await delivery(pipeline, witness).deliver(witness.name, first)  # type: ignore[arg-type]
    spans = finished()
    [batch] = [s for s in spans if s.name == "relay batch"]
    assert batch.kind is SpanKind.PRODUCER
    [delivered] = [s for s in spans if s.kind is SpanKind.CONSUMER]
    assert delivered.name == f"deliver {first['event_type']} to fulfilment"
    assert delivered.attributes is not None
    assert delivered.attributes["orderhub.correlation_id"] == first["correlation_id"]
    assert delivered.attributes["orderhub.outcome"] == "done"
