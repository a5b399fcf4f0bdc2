"""What a command checks before it starts, so that the common first-day failures (the database
unreachable or not migrated, the port in use) stop it with one line and a hint, not a traceback.
Messages name the database with its password masked and never quote a driver's own text."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Coroutine
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

from adapters.redaction import masked_url
from adapters.sql.engine import create_engine, ping
from adapters.sql.migrate import current_revision, head_revision, known_revision

#: How long a database may take to answer the first ping.
CONNECT_SECONDS = 5.0


class StartFailure(Exception):
    """Raised when a command cannot start; the message is one line that ends with a hint."""


async def check_database(url: str, *, migrated: bool) -> None:
    """Raise `StartFailure` unless the database answers and, when `migrated`, has this code's
    newest schema."""
    engine = create_engine(url)
    try:
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                await ping(engine)
        except Exception as e:  # noqa: BLE001 - whatever stops the ping, the database is away
            raise StartFailure(_unreachable(url, e)) from None
        if migrated:
            _check_schema(url, await _quietly(current_revision(engine)))
    finally:
        await engine.dispose()


async def _quietly(reading: Coroutine[Any, Any, str | None]) -> str | None:
    """Alembic announces its context at INFO each time it reads the revision: not news here."""
    alembic = logging.getLogger("alembic.runtime.migration")
    level = alembic.level
    alembic.setLevel(logging.WARNING)
    try:
        return await reading
    finally:
        alembic.setLevel(level)


def check_port(host: str, port: int) -> None:
    """Raise `StartFailure` if nothing can listen on `host:port` (as the server will bind it)."""
    listen(host, port).close()


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host:port`, for a server to take over; connections made before it
    accepts wait in the backlog instead of being refused. `StartFailure` if it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
        s.listen(2048)  # uvicorn's default backlog
    except OSError as e:
        s.close()
        raise cannot_listen(host, port, e) from None
    return s


def cannot_listen(
    host: str, port: int, error: OSError, flags: tuple[str, str] = ("--host", "--port")
) -> StartFailure:
    """The one-line failure of a server that could not bind `host:port`; `flags` are the
    options that chose them."""
    host_flag, port_flag = flags
    if error.errno == errno.EADDRINUSE:
        return StartFailure(
            f"cannot listen on {host}:{port}: the port is in use; hint: stop what "
            f"listens there, or pass another port ({port_flag} {port + 1})"
        )
    return StartFailure(
        f"cannot listen on {host}:{port} ({error.strerror or type(error).__name__}); hint: "
        f"{host_flag} takes an address of this machine, such as 127.0.0.1"
    )


def _check_schema(url: str, revision: str | None) -> None:
    head = head_revision()
    if revision == head:
        return
    where = masked_url(url)
    if revision is None:
        raise StartFailure(
            f"the database {where} is not migrated (it has no orderhub schema); hint: run "
            "`orderhub migrate` with the same DATABASE_URL"
        )
    if known_revision(revision):
        raise StartFailure(
            f"the database {where} is not migrated (schema {revision}, this code needs {head}); "
            "hint: run `orderhub migrate` with the same DATABASE_URL"
        )
    raise StartFailure(
        f"the database {where} has schema {revision}, newer than this orderhub knows ({head}); "
        "hint: run the orderhub that migrated it, or point DATABASE_URL at another database"
    )


def _unreachable(url: str, error: BaseException) -> str:
    parsed = make_url(url)
    reason, hint = _reason(_root(error), parsed.get_backend_name(), parsed)
    return f"cannot reach the database {masked_url(url)} ({reason}); hint: {hint}"


def _root(error: BaseException) -> BaseException:
    """The driver's or the operating system's error under SQLAlchemy's wrappers."""
    seen = error
    while True:
        inner = getattr(seen, "orig", None) or seen.__cause__
        if inner is None or inner is seen:
            return seen
        seen = inner


#: The PostgreSQL failures told apart: (error types, reason, hint); `{host}` is where it runs.
_POSTGRES_FAILURES: tuple[tuple[tuple[type[BaseException], ...], str, str], ...] = (
    (
        (asyncpg.InvalidCatalogNameError,),
        "no such database",
        "create it (createdb), or set DATABASE_URL to one that exists",
    ),
    (
        (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError),
        "authentication failed",
        "check the user and password in DATABASE_URL",
    ),
    ((socket.gaierror,), "unknown host", "check the host name in DATABASE_URL"),
    (
        (ConnectionRefusedError,),
        "connection refused",
        "is PostgreSQL running on {host}? Start it, or set DATABASE_URL to where it runs",
    ),
    (
        (TimeoutError,),
        f"no answer within {CONNECT_SECONDS:.0f} s",
        "check that PostgreSQL on {host} is reachable from here",
    ),
)


def _reason(error: BaseException, backend: str, url: URL) -> tuple[str, str]:
    if backend == "sqlite":
        return (
            "cannot open the database file",
            "check that its directory exists and is writable, or set DATABASE_URL",
        )
    host = f"{url.host or 'localhost'}:{url.port or 5432}"
    for types, reason, hint in _POSTGRES_FAILURES:
        if isinstance(error, types):
            return reason, hint.format(host=host)
    return type(error).__name__, "check DATABASE_URL (`orderhub config` shows it, masked)"


def check_broker_is_shared(broker_url: str, command: str) -> None:
    """Raise `StartFailure` for a relay or worker on the in-process broker: what it published
    or consumed there would reach no other process."""
    if broker_url.startswith("memory://"):
        raise StartFailure(
            f"BROKER_URL=memory:// is in-process, so a separate `orderhub {command}` would "
            "reach no other process; hint: on the embedded defaults `orderhub serve` runs the "
            "relay and the workers itself; to run them apart, set BROKER_URL=redis://… or amqp://…"
        )
