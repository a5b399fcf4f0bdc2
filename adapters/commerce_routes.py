"""Per-channel commerce routing (PRODUCT.md §8.2): each channel's status pushes go to the target
named for it in `COMMERCE_ROUTES`, and only to it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ports.commerce import CommercePort, CommerceStatus

logger = logging.getLogger(__name__)

#: The targets a channel may be routed to; `none` hears nothing.
TARGETS: Final = frozenset({"shopify", "webhook", "simulator", "none"})
NONE: Final = "none"
#: The channel of a route that covers every channel not listed.
EVERY_OTHER: Final = "*"
_EXAMPLE = "e.g. shopify=shopify,web=none,*=simulator"


class InvalidRoutes(ValueError):
    """Raised when a `COMMERCE_ROUTES` text does not follow the grammar, saying what is wrong."""


@dataclass(frozen=True, slots=True)
class CommerceRoutes:
    """Which target hears each channel: `by_channel`, else the `*` route, else `none`."""

    by_channel: Mapping[str, str]

    @classmethod
    def parse(cls, text: str) -> CommerceRoutes:
        """`channel=target` pairs separated by commas; `*` as the channel covers every channel
        not listed. Blanks around names are ignored; targets are case-insensitive."""
        routes: dict[str, str] = {}
        for pair in text.split(","):
            channel, equals, target = (part.strip() for part in pair.partition("="))
            if not equals or not channel or not target:
                raise InvalidRoutes(f"{pair.strip()!r} is not channel=target ({_EXAMPLE})")
            target = target.lower()
            if target not in TARGETS:
                raise InvalidRoutes(
                    f"{channel}={target}: unknown target {target!r}; "
                    f"targets are {', '.join(sorted(TARGETS))}"
                )
            if channel in routes:
                raise InvalidRoutes(f"channel {channel!r} is routed twice")
            routes[channel] = target
        return cls(routes)

    def target(self, channel: str) -> str:
        return self.by_channel.get(channel, self.by_channel.get(EVERY_OTHER, NONE))

    def channels_to(self, target: str) -> list[str]:
        """The channels (or `*`) routed to `target`, in the order they were written."""
        return [channel for channel, named in self.by_channel.items() if named == target]

    @property
    def targets(self) -> frozenset[str]:
        """Every target some channel is routed to (`none` included: unlisted channels)."""
        return frozenset(self.by_channel.values()) | {self.by_channel.get(EVERY_OTHER, NONE)}

    def __str__(self) -> str:
        return ",".join(f"{channel}={target}" for channel, target in self.by_channel.items())


class CommerceRouter:
    """A `CommercePort` that hands each push to the adapter of its channel's target, so no
    adapter is asked about an order of a channel it does not own. A push routed to `none` is
    logged and counted in `skipped` and succeeds: there is nothing to retry or dead-letter."""

    def __init__(self, routes: CommerceRoutes, adapters: Mapping[str, CommercePort]) -> None:
        missing = sorted(routes.targets - adapters.keys() - {NONE})
        if missing:
            raise ValueError(f"commerce routes {routes} name targets without an adapter: {missing}")
        self._routes = routes
        self._adapters = dict(adapters)
        self.skipped = 0

    async def push_status(self, update: CommerceStatus, idempotency_key: str) -> None:
        target = self._routes.target(update.channel)
        if target == NONE:
            self.skipped += 1
            logger.info(
                "commerce push skipped: channel %s routes to none (status %s, order %s)",
                update.channel,
                update.status,
                update.channel_order_ref,
            )
            return
        await self._adapters[target].push_status(update, idempotency_key)
