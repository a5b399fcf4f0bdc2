"""Translating database errors into what the application understands."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ports.unit_of_work import ConcurrencyConflict, DatabaseUnavailable

#: serialization_failure, deadlock_detected, unique_violation (a racing insert of the same key)
_RETRYABLE_SQLSTATES = {"40001", "40P01", "23505"}
#: connection exceptions, operator intervention (admin shutdown, cannot connect now)
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "57")


def translate(error: BaseException) -> BaseException | None:
    """The application-level error for a database error, or None when it is not one we know."""
    if isinstance(error, PoolTimeout | OSError | ConnectionError | TimeoutError):
        return DatabaseUnavailable(str(error))
    if isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError):
        return _translate_asyncpg(error)
    if not isinstance(error, DBAPIError):
        return None
    sqlstate = _sqlstate(error)
    if sqlstate in _RETRYABLE_SQLSTATES or _sqlite_busy_or_unique(error):
        return ConcurrencyConflict(str(error.orig))
    unavailable = (
        error.connection_invalidated
        or isinstance(error, InterfaceError)
        or (sqlstate is not None and sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES))
        or (isinstance(error, OperationalError) and sqlstate is None)
    )
    return DatabaseUnavailable(str(error.orig)) if unavailable else None


def _translate_asyncpg(error: Exception) -> BaseException | None:
    """asyncpg's own errors, from the command transaction's direct path (statements.py)."""
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return ConcurrencyConflict(str(error))
    closed = isinstance(error, asyncpg.InterfaceError) and not isinstance(
        error,
        asyncpg.DataError,  # a bad parameter is our bug, not the database's absence
    )
    if closed or (sqlstate is not None and sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)):
        return DatabaseUnavailable(str(error))
    return None


def _sqlstate(error: DBAPIError) -> str | None:
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(code) if code else None


def _sqlite_busy_or_unique(error: DBAPIError) -> bool:
    text = str(error.orig)
    return "database is locked" in text or "UNIQUE constraint failed" in text
