"""The `orderhub` command: serve, relay, worker, migrate, keys create."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence

from adapters.sql.engine import database_files
from adapters.sql.migrate import migrate
from entrypoints.container import build_container
from entrypoints.heap import freeze_startup_objects
from entrypoints.logs import configure_logging
from entrypoints.relay_process import run_relay
from entrypoints.settings import Settings, SettingsError
from entrypoints.tracing import configure_tracing
from entrypoints.worker_process import run_worker
from ports.api_keys import Role, Source
from read_models.projector import rebuild


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command = COMMANDS.get(args.command or "")
    if command is None:
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        print(f"orderhub: configuration error: {e}", file=sys.stderr)
        return 2
    # The demo talks to a person at a terminal: text, unless LOG_FORMAT says otherwise.
    readable = args.command == "demo" and "LOG_FORMAT" not in os.environ
    configure_logging(settings.log_level, "TEXT" if readable else settings.log_format)
    if args.command in ("relay", "worker"):  # `serve` sets up each server process (asgi.py)
        configure_tracing(args.command, settings.otel_exporter_otlp_endpoint)
    return command(settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderhub", description="Order operations hub")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    sub.add_parser("migrate", help="bring the database schema up to date (safe to repeat)")
    sub.add_parser("relay", help="publish outbox events to the broker; run the periodic jobs")
    demo = sub.add_parser("demo", help="a simulated day through the whole hub, then serve the API")
    demo.add_argument("--orders", type=int, default=300)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--no-serve", action="store_true", help="exit after the summary")
    demo.add_argument(
        "--fresh", action="store_true", help="start from an empty SQLite database file"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    worker = sub.add_parser("worker", help="deliver events to their consumers (Dramatiq)")
    worker.add_argument("--threads", type=int, default=8)
    projections = sub.add_parser("projections", help="read models").add_subparsers(
        dest="projections_command", required=True
    )
    projections.add_parser(
        "rebuild", help="recreate every order view and timeline from the stored events"
    )
    keys = sub.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key; prints it once, on the last line")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--channel", help="the channel a channel key acts for")
    create.add_argument(
        "--source",
        action="append",
        choices=[s.value for s in Source],
        help="a back-office system a system key speaks for (repeat for several)",
    )
    create.add_argument("--label", help="a note on who holds the key")
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only the serve command needs the server

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


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    async def upgrade() -> None:
        engine = build_container(settings).engine()
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
    print("orderhub: database schema is up to date")
    return 0


def _relay(settings: Settings, args: argparse.Namespace) -> int:
    container = build_container(settings)
    freeze_startup_objects()
    asyncio.run(run_relay(container))
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    container = build_container(settings)
    freeze_startup_objects()
    return run_worker(container, threads=args.threads)


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from entrypoints.demo.runner import run_demo  # noqa: PLC0415 - the simulators load only here

    if args.fresh:
        files = database_files(settings.database_url)
        if files is None:
            print("orderhub: --fresh only empties a SQLite database file", file=sys.stderr)
            return 2
        for file in files:
            file.unlink(missing_ok=True)
    return run_demo(
        settings, args.orders, args.seed, serve=not args.no_serve, host=args.host, port=args.port
    )


def _projections(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> int:
        container = build_container(settings)
        try:
            return await rebuild(container.view_store())
        finally:
            await container.engine().dispose()

    orders = asyncio.run(run())
    print(f"orderhub: rebuilt the order views and timelines of {orders} orders from the outbox")
    return 0


def _keys(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_create_key(settings, args))


async def _create_key(settings: Settings, args: argparse.Namespace) -> int:
    container = build_container(settings)
    try:
        principal, secret = await container.api_keys().create(
            Role(args.role),
            args.channel,
            args.label,
            frozenset(Source(s) for s in args.source or ()),
        )
    except ValueError as e:
        print(f"orderhub: {e}", file=sys.stderr)
        return 2
    finally:
        await container.engine().dispose()
    scope = f" for channel {principal.channel}" if principal.channel else ""
    if principal.sources:
        scope = f" for {', '.join(sorted(principal.sources))}"
    print(f"created {principal.role} key {principal.key_id}{scope}; it is shown only once:")
    print(secret)
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": _serve,
    "migrate": _migrate,
    "relay": _relay,
    "worker": _worker,
    "keys": _keys,
    "demo": _demo,
    "projections": _projections,
}

if __name__ == "__main__":
    sys.exit(main())
