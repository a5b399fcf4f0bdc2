"""The demo's day: channels place orders, the simulated back office books, ships and delivers,
customers return things, agents step in, and the ERP goes down for a while and comes back."""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from itertools import count
from uuid import UUID

from adapters.simulators.back_office import SimulatedBackOffice
from application.process_managers.fulfilment import Fulfilment
from domain import commands as c
from domain.errors import DomainError
from domain.returns import ReturnLineSpec
from entrypoints.container import Container
from entrypoints.demo.clock import DemoClock
from entrypoints.demo.counts import DayCounts
from entrypoints.demo.summary import Summary, summarize
from entrypoints.demo.traffic import day_of_orders, return_delay, stock_counts
from entrypoints.http.inbound_events import command_for, command_of
from ports.inbound import InboundEvent
from ports.unit_of_work import CommandMeta
from ports.views import OrderFilter

logger = logging.getLogger("orderhub.demo")

Action = Callable[[], Awaitable[None]]
#: Told how far the day has come after each simulated moment.
Observer = Callable[[DayCounts], None]


class DemoDay:
    def __init__(
        self, container: Container, back_office: SimulatedBackOffice, clock: DemoClock, seed: int
    ) -> None:
        self._container = container
        self._office = back_office
        self._clock = clock
        self.counts = DayCounts(now=clock.now())
        self._reported: Counter[str] = Counter()  # back-office events processed, by type
        self._rng = random.Random(seed)
        self._bus = container.bus()
        self._inbound = container.inbound()
        self._relay = container.relay()
        self._read_models = container.read_models()
        self._engine = container.engine()
        self._actions: list[tuple[datetime, int, Action]] = []
        self._sequence = count()
        self._considered_for_return: set[UUID] = set()
        self.refused = 0
        self.inbound: Counter[str] = Counter()

    async def run(
        self, order_count: int, start: datetime, days: int = 7, observe: Observer | None = None
    ) -> Summary:
        for sku, location, on_hand in stock_counts(self._rng):
            self._office.warehouse.report_stock(
                sku, location, on_hand, at=start - timedelta(minutes=5)
            )
        for planned in day_of_orders(order_count, start, self._rng):
            self._at(planned.at, self._placer(planned.command))
        self._agent_moments(start)
        end = start + timedelta(days=days)
        while (moment := self._next_moment()) is not None and moment <= end:
            self._clock.set(moment)
            await self._feed_back_office()
            await self._run_due_actions()
            await self._drain()
            await self._plan_returns()
            if observe is not None:
                observe(self._counted())
        await self._drain()
        summary = await summarize(self._engine, self.refused)
        summary.inbound = self.inbound
        return summary

    def _counted(self) -> DayCounts:
        self.counts.now = self._clock.now()
        self.counts.refused = self.refused
        self.counts.shipped = self._reported["shipment.dispatched"]
        self.counts.refunded = self._reported["credit_memo.posted"]
        return self.counts

    # -- the timeline --------------------------------------------------------------------------

    def _at(self, moment: datetime, action: Action) -> None:
        heapq.heappush(self._actions, (moment, next(self._sequence), action))

    def _next_moment(self) -> datetime | None:
        candidates = [self._office.next_due(), self._actions[0][0] if self._actions else None]
        return min((m for m in candidates if m is not None), default=None)

    async def _run_due_actions(self) -> None:
        now = self._clock.now()
        while self._actions and self._actions[0][0] <= now:
            _, _, action = heapq.heappop(self._actions)
            try:
                await action()
            except DomainError as e:  # a refused command is part of a realistic day
                logger.info("demo: refused (%s): %s", e.code, e)

    async def _feed_back_office(self) -> None:
        self.inbound.update(await feed_back_office(self._container, self._office, self._reported))

    # -- what the channels and agents do --------------------------------------------------------

    def _placer(self, command: c.PlaceOrder) -> Action:
        meta = CommandMeta(
            actor=f"channel:{command.channel}",
            correlation_id=f"{command.channel}:{command.channel_order_ref}",
        )

        async def place() -> None:
            try:
                order_id = await self._bus.handle(command, meta)
            except DomainError:
                self.refused += 1
                raise
            self.counts.placed += 1
            roll = self._rng.random()
            if roll < 0.04:  # the customer changes their mind
                self._at(
                    self._clock.now() + timedelta(minutes=7),
                    self._command(
                        c.CancelOrder(order_id=order_id, reason="customer changed their mind"),
                        "agent",
                    ),
                )
            elif roll < 0.07 and len(command.lines) > 1:  # drops a line before it ships
                self._at(
                    self._clock.now() + timedelta(minutes=3),
                    self._command(
                        c.AmendOrder(
                            order_id=order_id,
                            lines=(c.SkuCount(sku=command.lines[-1].sku, quantity=0),),
                        ),
                        command.channel,
                    ),
                )
            elif roll < 0.09:  # fraud check: held, then released an hour later
                self._at(
                    self._clock.now() + timedelta(minutes=1),
                    self._command(c.HoldOrder(order_id=order_id, reason="fraud check"), "agent"),
                )
                self._at(
                    self._clock.now() + timedelta(hours=1),
                    self._command(c.ResumeOrder(order_id=order_id), "agent"),
                )

        return place  # fmt: skip

    def _command(self, command: c.Command, actor: str) -> Action:
        async def run() -> None:
            await self._bus.handle(
                command,
                CommandMeta(actor=actor, correlation_id=f"{actor}:{type(command).__name__}"),
            )

        return run

    def _agent_moments(self, start: datetime) -> None:
        """An agent releases orders the ERP refused (after fixing the item) in the afternoon."""

        async def release_rejected() -> None:
            for order_id in await self._orders_in("on_hold"):
                try:
                    await self._bus.handle(c.CancelOrder(order_id=order_id, reason="item discontinued; customer refunded"),
                                           CommandMeta(actor="agent", correlation_id=f"agent:{order_id}"))  # fmt: skip
                except DomainError as e:
                    logger.info("demo: %s", e)

        self._at(start.replace(hour=21, minute=0), release_rejected)

    async def _plan_returns(self) -> None:
        """Some customers send something back a day or two after it arrived."""
        for order_id in await self._orders_in("delivered"):
            if order_id in self._considered_for_return:
                continue
            self._considered_for_return.add(order_id)
            if self._rng.random() < 0.2:
                self._at(self._clock.now() + return_delay(self._rng), self._returner(order_id))

    def _returner(self, order_id: UUID) -> Action:
        async def request_return() -> None:
            order = await self._container.lookup().order(order_id)
            if order is None:
                return
            line = self._rng.choice(order.lines)
            case = (
                f"500{self._rng.randint(10**11, 10**12 - 1)}"  # a CRM (Salesforce) case id
                if self._rng.random() < 0.3
                else None
            )
            await self._bus.handle(
                c.RequestReturn(order_id=order_id, case_id=case,
                                lines=(ReturnLineSpec(sku=line.sku, quantity=1, reason=self._rng.choice(["damaged", "too small", "not as pictured"])),)),
                CommandMeta(actor=f"channel:{order.channel}", correlation_id=f"return:{order_id}"),
            )  # fmt: skip
            self.counts.returned += 1

        return request_return

    # -- letting the hub catch up ---------------------------------------------------------------

    async def _drain(self, timeout: float = 60.0) -> None:
        """Relay, deliver and run the periodic jobs until nothing is left in flight."""
        fulfilment = self._container.consumers()["fulfilment"]
        assert isinstance(fulfilment, Fulfilment)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            relayed = 0
            while taken := await self._relay.relay_once():
                relayed += taken
            self.counts.relayed += relayed
            await fulfilment.submit_waiting()
            await self._inbound.retry_due(command_of)
            await self._bus.handle(
                c.ExpireReservations(), CommandMeta(actor="job", correlation_id="job")
            )
            if relayed == 0 and await self._in_flight() == 0:
                return
            await asyncio.sleep(0.01)
        logger.warning("demo: deliveries still in flight after %.0f s", timeout)

    async def _in_flight(self) -> int:
        return (await self._container.operations().counts())["deliveries_pending"]

    async def _orders_in(self, status: str) -> list[UUID]:
        """The orders an agent finds in `status`, oldest first (the read models: the demo drains
        before it looks)."""
        found: list[UUID] = []
        cursor: str | None = None
        while True:
            page = await self._read_models.orders(OrderFilter(status=status), 500, cursor)
            found += [UUID(document["id"]) for document in page.items]
            if (cursor := page.next_cursor) is None:
                return found[::-1]


async def feed_back_office(
    container: Container, office: SimulatedBackOffice, processed: Counter[str] | None = None
) -> Counter[str]:
    """Everything the simulated back office reports by now goes through the inbound path; the
    outcomes are counted, and the types of the events processed into `processed`."""
    outcomes: Counter[str] = Counter()
    inbound = container.inbound()
    for source, body in office.due_events(container.clock().now()):
        occurred_at = datetime.fromisoformat(body["occurred_at"])
        event = InboundEvent(
            source=source, event_id=body["event_id"], type=body["type"], body=body,
            actor=f"{source}:simulated", correlation_id=f"{source}:{body['event_id']}",
        )  # fmt: skip
        command = command_for(source, body["type"], body["data"], occurred_at)
        try:
            outcome = (await inbound.accept(event, command)).value
            outcomes[outcome] += 1
            if processed is not None and outcome == "processed":
                processed[body["type"]] += 1
        except DomainError as e:
            outcomes["refused"] += 1
            logger.info("demo: inbound %s refused (%s): %s", body["type"], e.code, e)
    return outcomes
