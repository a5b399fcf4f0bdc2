"""Running the demo: the simulated back office wired into the hub, a day played through the
in-process broker and a Dramatiq worker with its progress on screen and its log lines in a file,
a printed summary, then the API with keys made for it until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dependency_injector import providers
from dramatiq.asyncio import get_event_loop_thread

from adapters.guarded_commerce import GuardedCommerce
from adapters.guarded_crm import GuardedCrm
from adapters.guarded_erp import GuardedErp
from adapters.guarded_payment import GuardedPayments
from adapters.ids import SeededIds
from adapters.simulators.agenda import Redelivery
from adapters.simulators.back_office import SimulatedBackOffice
from adapters.simulators.erp import ErpBehaviour
from adapters.simulators.faults import FaultProfile, Outage
from adapters.simulators.warehouse import WarehouseBehaviour
from adapters.sql.engine import create_engine, database_files
from adapters.sql.migrate import migrate
from entrypoints.container import Container, build_container
from entrypoints.demo.clock import DemoClock
from entrypoints.demo.display import DemoDisplay
from entrypoints.demo.summary import Summary
from entrypoints.demo.traffic import DISCONTINUED
from entrypoints.demo.world import DemoDay
from entrypoints.logs import configure_logging
from entrypoints.preflight import listen
from entrypoints.relay_process import relay_with_jobs
from entrypoints.settings import Settings
from entrypoints.worker_process import start_worker
from ports.api_keys import Role

#: Simulated days the demo plays: the orders come on the first, the rest is deliveries, returns
#: and refunds.
DAYS = 7


async def _no_wait(_: float) -> None:
    """Simulated latency costs no real time in the demo."""


def simulated_back_office(clock: DemoClock, start: datetime, seed: int) -> SimulatedBackOffice:
    """The ERP is down from 12:00 to 12:45 on the demo day; a discontinued item is refused;
    1 credit memo in 20 does not match the refund; one card is declined at capture; 1 event in 20
    comes twice and 1 pair in 20 in the wrong order; some consignments ship in two parcels."""
    outage = Outage(start.replace(hour=12, minute=0), start.replace(hour=12, minute=45))
    return SimulatedBackOffice(
        clock=clock,
        seed=seed,
        sleep=_no_wait,
        faults={"erp": FaultProfile(outages=(outage,))},
        erp_behaviour=ErpBehaviour(
            rejected_skus=frozenset({DISCONTINUED}),
            credit_memo_mismatch_rate=0.05,
            redelivery=Redelivery(rate=0.05),
        ),
        warehouse_behaviour=WarehouseBehaviour(
            split_rate=0.15,
            transit=(timedelta(hours=6), timedelta(days=2)),
            out_of_order_rate=0.05,
            redelivery=Redelivery(rate=0.05),
            return_transit=(timedelta(hours=12), timedelta(days=2)),
            inspection_delay=(timedelta(hours=1), timedelta(hours=12)),
        ),
        declined_references=("pay_web_00007",),
    )


def wire(container: Container, clock: DemoClock, office: SimulatedBackOffice, seed: int) -> None:
    container.clock.override(providers.Object(clock))
    container.ids.override(providers.Object(SeededIds(seed)))
    # The circuit breakers cool down in demo time, like the outage they guard against.
    container.breaker_clock.override(providers.Object(lambda: clock.now().timestamp()))
    # The simulators, whatever URLs the environment names, each behind the container's breaker
    # (so GET /v1/ops/remotes shows the ERP's outage as a real one would).
    container.erp.override(providers.Object(GuardedErp(office.erp, container.erp_breaker())))
    container.crm.override(providers.Object(GuardedCrm(office.crm, container.crm_breaker())))
    container.commerce.override(
        providers.Object(GuardedCommerce(office.commerce, container.commerce_breaker()))
    )
    container.payment.override(
        providers.Object(GuardedPayments(office.payments, container.payment_breaker()))
    )


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    log_file = Path(args.log_file) if args.log_file else demo_log_file(settings.database_url)
    configure_logging(settings.log_level, settings.log_format or "TEXT", "demo", file=log_file)
    logging.captureWarnings(True)  # libraries' warnings too: the terminal shows the progress
    display = DemoDisplay()
    start = (datetime.now(UTC) - timedelta(days=DAYS)).replace(
        hour=8, minute=0, second=0, microsecond=0
    )
    clock = DemoClock(start)
    office = simulated_back_office(clock, start, args.seed)
    container = build_container(settings)
    wire(container, clock, office, args.seed)
    with display.step("database migrated"):
        asyncio.run(_migrated(settings.database_url))
    with display.step("worker and simulated back office started"):
        worker = start_worker(container, threads=4)
    event_loop = get_event_loop_thread()
    assert event_loop is not None
    loop = event_loop.loop
    try:
        day = DemoDay(container, office, clock, args.seed)
        with display.day(start, start + timedelta(days=DAYS)) as bar:
            summary: Summary = _on(loop, day.run(args.orders, start, DAYS, observe=bar.update))
            bar.finish()
        display.summary(summary.render(), log_file)
        if not args.no_serve:
            url = f"http://{args.host}:{args.port}"
            agent_key, ops_key = _on(loop, _demo_keys(container))
            clock.run_in_real_time()
            # Listening before the invitation is shown: a curl copied from it at once waits to
            # be accepted instead of being refused while the server starts.
            listening = listen(args.host, args.port)
            display.invitation(url, agent_key, ops_key)
            _serve(settings, container, office, loop, listening)
    finally:
        worker.stop(timeout=10_000)
    return 0 if summary.reconciles else 1


def demo_log_file(database_url: str) -> Path:
    """Beside the SQLite file (`orderhub-demo.db` → `orderhub-demo.log`), else in the working
    directory."""
    files = database_files(database_url)
    return files[0].with_suffix(".log") if files else Path("orderhub-demo.log")


async def _demo_keys(container: Container) -> tuple[str, str]:
    """An agent key and an ops key, made for this demo, to try the console and the API with."""
    keys = container.api_keys()
    _, agent = await keys.create(Role.AGENT, None, "orderhub demo", frozenset())
    _, ops = await keys.create(Role.OPS, None, "orderhub demo", frozenset())
    return agent, ops


def _on(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result()


async def _migrated(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def _serve(
    settings: Settings,
    container: Container,
    office: SimulatedBackOffice,
    loop: asyncio.AbstractEventLoop,
    listening: socket.socket,
) -> None:
    """Keep the hub alive (relay, jobs, the simulated back office) and serve the API."""
    import uvicorn  # noqa: PLC0415 - only needed once the day is played

    from entrypoints.http.app import create_app  # noqa: PLC0415

    stop = _on(loop, _event())
    background = asyncio.run_coroutine_threadsafe(_keep_alive(container, office, stop), loop)
    api = build_container(settings)
    api.erp.override(providers.Object(office.erp))
    try:
        # log_config=None: uvicorn's lines go where the demo's go (its log file), not to the terminal
        config = uvicorn.Config(create_app(api), log_config=None, access_log=False)
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        loop.call_soon_threadsafe(stop.set)
        with contextlib.suppress(Exception):
            background.result(timeout=10)


async def _event() -> asyncio.Event:
    return asyncio.Event()


async def _keep_alive(
    container: Container, office: SimulatedBackOffice, stop: asyncio.Event
) -> None:
    await asyncio.gather(relay_with_jobs(container, stop), _feed(container, office, stop))


async def _feed(container: Container, office: SimulatedBackOffice, stop: asyncio.Event) -> None:
    """The simulated back office keeps reporting in real time while the API serves."""
    from entrypoints.demo.world import feed_back_office  # noqa: PLC0415

    while not stop.is_set():
        await feed_back_office(container, office)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
