"""Messages on the broker are JSON, written and read by msgspec instead of Dramatiq's stdlib
encoder; what cannot be a message is refused as Dramatiq's own `DecodeError`."""

from __future__ import annotations

import json

import dramatiq
import pytest
from dramatiq import Message
from dramatiq.errors import DecodeError

from adapters.dramatiq.broker import MsgspecEncoder, make_broker


def a_message() -> Message[object]:
    payload = {"order_id": "8c3e…", "lines": [{"sku": "MUG", "quantity": 2}], "note": "Grüße"}
    return Message(queue_name="orderhub.projection", actor_name="deliver_to_projection",
                   args=({"event_id": "e-1", "payload": payload},), kwargs={}, options={})  # fmt: skip


def test_a_message_reads_back_as_with_dramatiqs_own_encoder() -> None:
    data = a_message().asdict()
    stdlib = dramatiq.JSONEncoder()
    as_dramatiq_reads_it = stdlib.decode(stdlib.encode(data))  # tuples come back as lists
    encoder = MsgspecEncoder()
    assert encoder.decode(encoder.encode(data)) == as_dramatiq_reads_it
    assert stdlib.decode(encoder.encode(data)) == as_dramatiq_reads_it
    assert encoder.decode(stdlib.encode(data)) == as_dramatiq_reads_it
    assert json.loads(encoder.encode(data))["args"][0]["payload"]["note"] == "Grüße"


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_what_is_not_a_message_is_refused(data: bytes) -> None:
    with pytest.raises(DecodeError):
        MsgspecEncoder().decode(data)


def test_every_broker_of_ours_uses_it() -> None:
    make_broker("stub://")
    assert isinstance(dramatiq.get_encoder(), MsgspecEncoder)
