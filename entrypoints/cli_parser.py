"""The `orderhub` command line: its commands and options, each with the help that describes it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from uuid import UUID

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


#: How long a rotated-out secret is still accepted unless `--grace` says otherwise: time to roll
#: the new one out to its client; short, in case the rotation was for a leak and `--grace 0`
#: was forgotten.
DEFAULT_GRACE_SECONDS = 3600


def _seconds(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"a whole number of seconds, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"at least {minimum} seconds, got {value}")
        return value

    return parse


def _key_id(text: str) -> UUID:
    try:
        return UUID(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a key id such as 9f2c6c1e-…, as `orderhub keys list` shows it; got {text!r}"
        ) from None


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
    create.add_argument(
        "--expires-in",
        type=_seconds(1),
        metavar="SECONDS",
        help="refuse the key (like a revoked one) this many seconds from now (default: never)",
    )
    listing = actions.add_parser(
        "list",
        help="every key: id, role, scope, label, dates, state; never a secret",
        description="List every key, revoked and expired ones too, oldest first: its id, role, "
        "channel or sources, label, when it was created, expires, was revoked, and until when a "
        "rotated-out secret is still accepted. Neither a secret nor its hash is shown.",
    )
    listing.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    revoke = actions.add_parser(
        "revoke",
        help="refuse a key from now on (every API process within 5 s; ends its console sessions)",
        description="Revoke a key: every API process refuses it within 5 seconds and its "
        "console sessions end. Revoking a revoked key changes nothing.",
    )
    revoke.add_argument("key_id", type=_key_id, metavar="ID", help="the key's id (keys list)")
    rotate = actions.add_parser(
        "rotate",
        help="a new secret for a key, printed once; the old one accepted for --grace seconds",
        description="Give a key a new secret, printed once, alone on the last line. The key "
        "keeps its id, role, channel and sources (so callers keep the same actor on events); "
        "the secret it replaces is still accepted for --grace seconds, and one replaced before "
        "that no longer is.",
    )
    rotate.add_argument("key_id", type=_key_id, metavar="ID", help="the key's id (keys list)")
    rotate.add_argument(
        "--grace",
        type=_seconds(0),
        default=DEFAULT_GRACE_SECONDS,
        metavar="SECONDS",
        help=f"how long the old secret is still accepted (default {DEFAULT_GRACE_SECONDS}; "
        "0: refused at once, for a leaked key)",
    )
    rotate.add_argument(
        "--expires-in",
        type=_seconds(1),
        metavar="SECONDS",
        help="a new expiry, this many seconds from now (default: the key's expiry is kept)",
    )
