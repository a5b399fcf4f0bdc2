"""Who is listening: consumers that hear events only for someone (the webhooks consumer, for its
subscribers) are sent none while nobody listens, so that a hub with no subscriber pays nothing
for them (PRODUCT.md §7: the pipeline's cost per order)."""

from __future__ import annotations

from typing import Protocol


class Audience(Protocol):
    async def listening(self) -> frozenset[str]:
        """Of the consumers that hear events only for someone, those with someone to hear them
        now. Read after the relay's claim: a listener it does not see began after every event
        of the claim had committed, and hears the events committed after it."""
        ...
