"""Statements on PostgreSQL's asyncpg connection itself, below SQLAlchemy's execution layer.

The hot paths (the command's unit of work, the idempotency gate, the relay, the delivery
bookkeeping, the projection) build SQLAlchemy Core statements once and execute them with
parameters. Through SQLAlchemy's async engine every execution crosses into a greenlet, builds an
execution context, processes its parameters and adapts asyncpg's cursor: about 40 % of the API's
CPU per placed order in the profiles (bench/README.md). Here SQLAlchemy compiles a statement once
for the engine's dialect (its SQL, the order of its parameters, their types' bind and result
processing) and asyncpg runs it directly, on the connection that SQLAlchemy's pool lent us.

`DirectStatements.execute` answers like `AsyncConnection.execute` as far as our code uses it
(`Statements`: `first`, `one`, `scalar`, `scalars`, `all`, iteration, `rowcount`), so the same code
runs on SQLite through SQLAlchemy. `transaction` and `one_statement` pick the path by database;
like SQLAlchemy, they take a connection that failed out of the pool and have the others pinged.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Dialect
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from adapters.sql.engine import suspect_pooled_connections
from adapters.sql.errors import translate
from ports.unit_of_work import DatabaseUnavailable

Processor = Callable[[Any], Any] | None
Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class Result(Protocol):
    """What the repositories read from an execution (a subset of SQLAlchemy's result)."""

    @property
    def rowcount(self) -> int: ...
    def __iter__(self) -> Iterator[Any]: ...
    def first(self) -> Any: ...
    def one(self) -> Any: ...
    def scalar(self) -> Any: ...
    def scalars(self) -> Any: ...
    def all(self) -> Any: ...


class Statements(Protocol):
    """Where a repository executes its statements: `AsyncConnection` or `DirectStatements`."""

    @property
    def dialect(self) -> Dialect: ...
    async def execute(self, statement: Any, parameters: Any = None, /) -> Result: ...


class Rows:
    """The rows (or the row count) of one direct execution."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("no row was found when one was required")
        if len(self._rows) > 1:
            raise MultipleResultsFound("more than one row was found when one was required")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]

    def all(self) -> list[Any]:
        return list(self._rows)


#: A parameter that has no value of its own in the statement: the caller must give it.
_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class _Compiled:
    compiled: SQLCompiler
    #: per positional parameter: its name, the key it is given by, the statement's own value
    plan: tuple[tuple[str, str, Any], ...]
    binds: tuple[Processor, ...]
    #: for statements that return rows: the row type and each column's result processing
    row: Callable[..., tuple[Any, ...]] | None
    results: tuple[Processor, ...]

    @property
    def sql(self) -> str:
        return self.compiled.string

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        """The positional values, as SQLAlchemy's `construct_params` finds them (a literal in
        the statement, such as a LIMIT or a CASE's 0, has its own value)."""
        values = []
        for (name, key, own), process in zip(self.plan, self.binds, strict=True):
            if key in parameters:
                value = parameters[key]
            elif name in parameters:
                value = parameters[name]
            elif own is _REQUIRED:
                raise KeyError(f"no value for the parameter {name!r}")
            else:
                value = own
            values.append(value if process is None else process(value))
        return values

    def make_row(self, record: Sequence[Any]) -> tuple[Any, ...]:
        assert self.row is not None
        return self.row(
            *(
                v if p is None or v is None else p(v)
                for v, p in zip(record, self.results, strict=True)
            )
        )


@lru_cache(maxsize=512)
def _compile(
    statement: Executable, dialect: Dialect, keys: tuple[str, ...], many: bool = False
) -> _Compiled:
    """Like SQLAlchemy's own compiled cache: per statement and set of parameter names (an INSERT
    or UPDATE sets the columns it is given); `many` for an executemany, which, as through
    SQLAlchemy, returns no generated keys."""
    compiled = statement.compile(  # type: ignore[attr-defined]
        dialect=dialect, column_keys=list(keys), for_executemany=many
    )
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    if any(compiled.binds[n].expanding or compiled.binds[n].callable for n in names):
        raise ValueError("an expanding IN or a callable parameter; on PostgreSQL use = ANY(array)")
    plan = tuple(
        (n, b.key, _REQUIRED if b.required else b.value)
        for n, b in ((n, compiled.binds[n]) for n in names)
    )
    binds = tuple(
        compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
    )
    columns = list(
        statement.selected_columns  # type: ignore[attr-defined]
        if getattr(statement, "is_select", False)
        else compiled.effective_returning or ()
    )
    if not columns:
        return _Compiled(compiled, plan, binds, None, ())
    row = namedtuple("Row", [str(c.key) for c in columns], rename=True)  # type: ignore[misc]
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _Compiled(compiled, plan, binds, row, results)


def _rowcount(status: str) -> int:
    """asyncpg's command status: "UPDATE 3", "INSERT 0 1", "DELETE 0"."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else -1


class DirectStatements:
    """Statements on the asyncpg connection under a pooled SQLAlchemy connection: in one
    transaction (`begin`), or each committed on its own (`autocommit`)."""

    def __init__(self, connection: AsyncConnection, driver: Any, transaction: Any) -> None:
        self._connection = connection
        self._driver = driver
        self._transaction = transaction
        self._open = transaction is not None

    @staticmethod
    async def _driver_of(connection: AsyncConnection) -> Any:
        pooled = await connection.get_raw_connection()
        driver = pooled.driver_connection
        assert driver is not None, "a pooled connection that is checked out has its driver's"
        return driver

    @classmethod
    async def begin(cls, connection: AsyncConnection) -> DirectStatements:
        driver = await cls._driver_of(connection)
        transaction = driver.transaction()
        await transaction.start()
        return cls(connection, driver, transaction)

    @classmethod
    async def autocommit(cls, connection: AsyncConnection) -> DirectStatements:
        return cls(connection, await cls._driver_of(connection), None)

    @property
    def dialect(self) -> Dialect:
        return self._connection.dialect

    def in_transaction(self) -> bool:
        return self._open

    async def commit(self) -> None:
        self._open = False
        await self._transaction.commit()

    async def rollback(self) -> None:
        self._open = False
        await self._transaction.rollback()

    async def execute(self, statement: Executable, parameters: Parameters = None) -> Rows:
        if isinstance(parameters, Sequence):  # executemany
            if not parameters:
                return Rows([], 0)
            compiled = _compile(statement, self.dialect, tuple(sorted(parameters[0])), many=True)
            await self._driver.executemany(
                compiled.sql, [compiled.arguments(p) for p in parameters]
            )
            return Rows([], -1)
        given = parameters or {}
        compiled = _compile(statement, self.dialect, tuple(sorted(given)))
        arguments = compiled.arguments(given)
        if compiled.row is not None:
            records = await self._driver.fetch(compiled.sql, *arguments)
            return Rows([compiled.make_row(r) for r in records], len(records))
        return Rows([], _rowcount(await self._driver.execute(compiled.sql, *arguments)))


async def release(engine: AsyncEngine, connection: AsyncConnection, *, broken: bool) -> None:
    """Back to the pool, or out of it: a connection that failed is not lent again, and the
    others are pinged before they are (the direct path runs below SQLAlchemy's own handling of
    connection errors)."""
    try:
        if broken:
            suspect_pooled_connections(engine)
            await connection.invalidate()
    finally:
        await connection.close()


def unusable_after(error: BaseException) -> bool:
    """The connection is lost. (A statement cut short by a cancellation is not a reason:
    asyncpg cancels it on the server and the connection stays usable.)"""
    return isinstance(translate(error), DatabaseUnavailable)


@asynccontextmanager
async def autocommit_statements(engine: AsyncEngine) -> AsyncIterator[DirectStatements]:
    """Statements that each commit on their own, on one pooled connection (PostgreSQL)."""
    connection = await engine.connect()
    broken = False
    try:
        yield await DirectStatements.autocommit(connection)
    except BaseException as e:
        broken = unusable_after(e)
        raise
    finally:
        await release(engine, connection, broken=broken)


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[Statements]:
    """One transaction, committed if the block ends normally: on PostgreSQL on the asyncpg
    connection, on SQLite through SQLAlchemy."""
    if engine.dialect.name != "postgresql":
        async with engine.begin() as conn:
            yield conn
        return
    connection = await engine.connect()
    broken = False
    try:
        statements = await DirectStatements.begin(connection)
        try:
            yield statements
        except BaseException:
            try:
                await statements.rollback()
            except Exception:  # noqa: BLE001 - the connection is gone: out of the pool below
                broken = True
            raise
        await statements.commit()
    except BaseException as e:
        broken = broken or unusable_after(e)
        raise
    finally:
        await release(engine, connection, broken=broken)


def one_statement(engine: AsyncEngine) -> AbstractAsyncContextManager[Statements]:
    """Where to run work that is one statement per transaction (a claim, a delivery's
    bookkeeping): on PostgreSQL each statement commits on its own on the asyncpg connection, no
    BEGIN and COMMIT round trips; SQLite keeps its explicit BEGIN (adapters/sql/engine.py), so
    it keeps the transaction."""
    if engine.dialect.name == "postgresql":
        return autocommit_statements(engine)
    return engine.begin()
