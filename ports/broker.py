"""The broker port: how the relay hands messages to the workers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ports.outbox import Message


class Publisher(Protocol):
    def publish(self, outgoing: Sequence[tuple[str, Message]]) -> None:
        """Send each message to its consumer's queue, (consumer, message) pairs, in order.
        Blocking: the relay calls it off the event loop. Raises when the broker refused any of
        them; a message sent twice is harmless (consumers deduplicate)."""
        ...
