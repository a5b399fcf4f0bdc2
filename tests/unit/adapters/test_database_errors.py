"""asyncpg's own errors (from the command transaction's direct path, adapters/sql/statements.py)
become what the application understands, like the same errors wrapped by SQLAlchemy."""

from __future__ import annotations

import asyncpg
import pytest

from adapters.sql.errors import translate
from ports.unit_of_work import ConcurrencyConflict, DatabaseUnavailable


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (asyncpg.UniqueViolationError("duplicate key value"), ConcurrencyConflict),
        (asyncpg.SerializationError("could not serialize access"), ConcurrencyConflict),
        (asyncpg.DeadlockDetectedError("deadlock detected"), ConcurrencyConflict),
        (asyncpg.AdminShutdownError("terminating connection"), DatabaseUnavailable),
        (asyncpg.ConnectionDoesNotExistError("connection was closed"), DatabaseUnavailable),
        (asyncpg.CannotConnectNowError("the database system is starting up"), DatabaseUnavailable),
        (asyncpg.InterfaceError("connection is closed"), DatabaseUnavailable),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else v.__name__,
)
def test_asyncpg_errors_the_application_handles(
    error: Exception, expected: type[Exception]
) -> None:
    assert isinstance(translate(error), expected)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CheckViolationError("violates check constraint"),  # our bug: a 500, not a retry
        asyncpg.DataError("invalid input for query argument $1"),  # a bad parameter, not an outage
        asyncpg.UndefinedTableError('relation "orders" does not exist'),
    ],
    ids=lambda e: type(e).__name__,
)
def test_other_asyncpg_errors_are_left_as_they_are(error: Exception) -> None:
    assert translate(error) is None
