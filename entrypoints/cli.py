"""The `orderhub` command: serve, relay, worker, migrate, demo, projections, keys, config."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence

from adapters.redaction import masked_url
from adapters.sql.engine import database_files
from adapters.sql.migrate import current_revision, migrate
from entrypoints.cli_parser import parser as _parser
from entrypoints.config_report import config_report
from entrypoints.container import build_container, dispose_engines
from entrypoints.embedded import THREADS, is_embedded
from entrypoints.heap import freeze_startup_objects
from entrypoints.key_commands import run_keys
from entrypoints.logs import configure_logging
from entrypoints.preflight import (
    StartFailure,
    check_broker_is_shared,
    check_database,
    check_port,
)
from entrypoints.probes import ProbeServer
from entrypoints.relay_process import run_relay
from entrypoints.settings import Settings, SettingsError
from entrypoints.tracing import configure_tracing
from entrypoints.worker_process import run_worker
from read_models.projector import rebuild

logger = logging.getLogger("orderhub")

#: What each command needs of the database before it starts: a schema this code knows
#: ("migrated"), only an answer ("reachable"), or nothing.
_NEEDS = {
    "serve": "migrated",
    "relay": "migrated",
    "worker": "migrated",
    "keys": "migrated",
    "projections": "migrated",
    "migrate": "reachable",
    "demo": "reachable",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command = COMMANDS.get(args.command or "")
    if command is None:
        parser.print_help()
        return 2
    name = f"orderhub {args.command}"
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        print(
            f"{name}: configuration error: {e}; hint: `orderhub config` prints every setting, "
            "docs/configuration.md says what each accepts",
            file=sys.stderr,
        )
        return 2
    if args.command != "demo":  # the demo sends its log lines to a file of its own
        configure_logging(settings.log_level, settings.log_format, process=args.command)
    if args.command in ("relay", "worker"):  # `serve` sets up each server process (asgi.py)
        configure_tracing(args.command, settings.otel_exporter_otlp_endpoint)
    try:
        if need := _NEEDS.get(args.command):
            asyncio.run(check_database(settings.database_url, migrated=need == "migrated"))
        return command(settings, args)
    except StartFailure as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 1


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only the serve command needs the server

    check_port(args.host, args.port)
    delivery = (
        f"embedded: the relay, the periodic jobs and {THREADS} worker threads run in this process"
        if is_embedded(settings)
        else "API only: run `orderhub relay` and `orderhub worker` beside it"
    )
    logger.info(
        "orderhub serve on http://%s:%d, %s (%s)", args.host, args.port, _uses(settings), delivery
    )
    # loop and http are uvicorn's "auto": uvloop and httptools (dependencies), ~15 % more
    # place-order throughput than asyncio and h11 (bench/README.md).
    uvicorn.run(
        "entrypoints.asgi:app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )
    return 0


def _uses(settings: Settings) -> str:
    """The database and the broker a process uses, their passwords masked."""
    return f"database {masked_url(settings.database_url)}, broker {masked_url(settings.broker_url)}"


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    async def upgrade() -> tuple[str | None, str | None]:
        engine = build_container(settings).engine()
        try:
            before = await current_revision(engine)
            await migrate(engine)
            return before, await current_revision(engine)
        finally:
            await engine.dispose()

    if settings.log_level != "DEBUG":  # one line per migration and two of preamble: not news
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    before, after = asyncio.run(upgrade())
    where = masked_url(settings.database_url)
    if before != after:
        print(f"orderhub: migrated {where} from {before or 'an empty database'} to {after}")
    print(f"orderhub: database schema is up to date ({after})")
    return 0


def _relay(settings: Settings, args: argparse.Namespace) -> int:
    check_broker_is_shared(settings.broker_url, "relay")
    probes = _probe_server(args)
    logger.info("orderhub relay: %s", _uses(settings))
    container = build_container(settings)
    freeze_startup_objects()
    asyncio.run(run_relay(container, probes=probes))
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    check_broker_is_shared(settings.broker_url, "worker")
    probes = _probe_server(args)
    logger.info("orderhub worker with %d threads: %s", args.threads, _uses(settings))
    container = build_container(settings)
    freeze_startup_objects()
    return run_worker(container, threads=args.threads, probes=probes)


def _probe_server(args: argparse.Namespace) -> ProbeServer | None:
    """The probes' server, bound before anything starts (a taken port fails at once)."""
    if args.health_port is None:
        return None
    return ProbeServer(args.health_host, args.health_port)


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from entrypoints.demo.runner import run_demo  # noqa: PLC0415 - the simulators load only here

    if not args.no_serve:  # before the day, not after it: the day takes a while
        check_port(args.host, args.port)
    if args.fresh:
        files = database_files(settings.database_url)
        if files is None:
            print("orderhub demo: --fresh only empties a SQLite database file", file=sys.stderr)
            return 2
        for file in files:
            file.unlink(missing_ok=True)
    return run_demo(settings, args)


def _projections(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> int:
        container = build_container(settings)
        try:
            return await rebuild(container.view_store())
        finally:
            await dispose_engines(container)

    orders = asyncio.run(run())
    print(f"orderhub: rebuilt the order views and timelines of {orders} orders from the outbox")
    return 0


def _config(settings: Settings, args: argparse.Namespace) -> int:
    print(config_report(settings))
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": _serve,
    "migrate": _migrate,
    "relay": _relay,
    "worker": _worker,
    "keys": run_keys,
    "demo": _demo,
    "projections": _projections,
    "config": _config,
}

if __name__ == "__main__":
    sys.exit(main())
