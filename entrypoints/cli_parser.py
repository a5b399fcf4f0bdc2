"""The `orderhub` command line: its commands and options, each with the help that describes it."""

from __future__ import annotations

import argparse

from ports.api_keys import Role, Source

#: The settings a newcomer meets first, with their defaults (all of them: `orderhub config`).
SETTINGS_HELP = """\
settings (environment variables; `orderhub config` prints all of them as this process sees
them, secrets masked; docs/configuration.md says what each accepts):
  DATABASE_URL    sqlite+aiosqlite:///./orderhub.db   or postgresql+asyncpg://user:pw@host/db
  BROKER_URL      memory://   in-process: `serve` then runs the relay and workers itself;
                  redis://… or amqp://… to run `serve`, `relay` and `worker` apart
  ERP_URL, CRM_URL, COMMERCE_URL   empty: the simulated back office
  PAYMENT_PROVIDER   simulator   (or stripe, with STRIPE_API_KEY)
  LOG_LEVEL       INFO
  LOG_FORMAT      TEXT when stdout is a terminal, JSON otherwise
  RATE_LIMIT      200/second per API key

first steps: `orderhub migrate`, `orderhub serve`, `orderhub keys create --role agent`
(docs/quickstart.md); or `make run` for a simulated day with the console and keys ready."""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="orderhub",
        description="orderhub, the order operations hub: the API, the outbox relay, the "
        "workers, and the commands that look after them.",
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = root.add_subparsers(dest="command", metavar="COMMAND")
    _serve(sub)
    _command(sub, "migrate", "bring the database schema up to date (safe to run twice)")
    relay = _command(
        sub, "relay", "publish outbox events to the broker and run the periodic jobs "
        "(needs a real BROKER_URL; on memory:// `serve` relays itself)",
    )  # fmt: skip
    _probes(relay)
    worker = _command(
        sub, "worker", "deliver events to their consumers: ERP, CRM, commerce, read models "
        "(needs a real BROKER_URL; on memory:// `serve` runs the workers itself)",
    )  # fmt: skip
    worker.add_argument(
        "--threads", type=int, default=8, help="worker threads in this process (default 8)"
    )
    _probes(worker)
    _demo(sub)
    projections = _command(sub, "projections", "read models (order views and timelines)")
    rebuild = projections.add_subparsers(
        dest="projections_command", required=True, metavar="ACTION"
    )
    rebuild.add_parser(
        "rebuild",
        help="recreate every order view and timeline from the stored events",
        description="Recreate every order view and timeline from the stored events.",
    )
    _keys(sub)
    _command(
        sub, "config", "print the effective configuration (from the environment and the "
        "defaults), secrets masked",
    )  # fmt: skip
    return root


def _command(sub: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    return sub.add_parser(  # type: ignore[no-any-return]
        name,
        help=text,
        description=text[0].upper() + text[1:] + ".",
        epilog="Settings come from the environment: `orderhub --help` lists the main ones, "
        "`orderhub config` prints them all.",
    )


def _probes(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--health-port",
        type=int,
        help="serve /health/live, /health/ready and /metrics on this port (default: none)",
    )
    command.add_argument(
        "--health-host",
        default="127.0.0.1",
        help="address the probes listen on (127.0.0.1; 0.0.0.0 in a container, for scrapers)",
    )


def _serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = _command(
        sub, "serve", "run the HTTP API and the console; on BROKER_URL=memory:// (the default) "
        "also the relay and the workers, in the same process",
    )  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1); each embedded one relays and delivers on its own",
    )


def _demo(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = _command(
        sub, "demo", "a simulated day of orders, shipments, returns and refunds through the "
        "whole hub in one process, a summary, then the API and console with keys to try them",
    )  # fmt: skip
    demo.add_argument("--orders", type=int, default=300, help="orders in the day (300)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the day's randomness (7)")
    demo.add_argument("--no-serve", action="store_true", help="exit after the summary")
    demo.add_argument(
        "--fresh", action="store_true", help="start from an empty SQLite database file"
    )
    demo.add_argument(
        "--log-file",
        help="where the hub's log lines go (default: beside the SQLite file, .log for .db; "
        "./orderhub-demo.log for a database server)",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="port to serve on (8000)")


def _keys(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = _command(sub, "keys", "API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="create a key; it is printed once, alone on the last line",
        description="Create an API key. It is printed once, alone on the last line; only its "
        "SHA-256 is stored.",
    )
    create.add_argument(
        "--role",
        required=True,
        choices=[r.value for r in Role],
        help="channel: one channel's orders; agent: read all, returns, holds, cases; system: "
        "inbound back-office events; ops: operations",
    )
    create.add_argument("--channel", help="the channel a channel key acts for (e.g. web)")
    create.add_argument(
        "--source",
        action="append",
        choices=[s.value for s in Source],
        help="a back-office system a system key speaks for (repeat for several)",
    )
    create.add_argument("--label", help="a note on who holds the key")
