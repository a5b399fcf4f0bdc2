"""The circuit board in SQL: one `remote_circuits` row per remote, replaced by each later report
in one conditional upsert (so two processes reporting at once need no lock and no read first)."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.per_dialect import insert_or_update
from adapters.sql.schema import remote_circuits
from ports.circuits import Circuit, CircuitReport, CircuitState

r = remote_circuits.c
#: The states on each side of "is the remote up": `since` moves only when a report crosses over.
_UP = (CircuitState.CLOSED.value,)
_DOWN = (CircuitState.OPEN.value, CircuitState.HALF_OPEN.value)


class SqlCircuitBoard:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    async def report(self, report: CircuitReport) -> None:
        """Rare (a breaker's change, not a call), so the statement is built per report."""
        closed = report.state is CircuitState.CLOSED
        same_side = _UP if closed else _DOWN
        statement = insert_or_update(
            remote_circuits,
            {
                "remote": report.remote,
                "state": report.state.value,
                "since": None if closed else report.at,
                "consecutive_failures": report.consecutive_failures,
                "reported_at": report.at,
            },
            key=["remote"],
            update=lambda new: {
                "state": new.state,
                "consecutive_failures": new.consecutive_failures,
                "reported_at": new.reported_at,
                "since": case((r.state.in_(same_side), r.since), else_=new.reported_at),
            },
            where=lambda new: r.reported_at <= new.reported_at,
        )[self._dialect]
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def circuits(self) -> list[Circuit]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(remote_circuits).order_by(r.remote))
            return [
                Circuit(
                    remote=row.remote,
                    state=CircuitState(row.state),
                    since=row.since,
                    consecutive_failures=row.consecutive_failures,
                    reported_at=row.reported_at,
                )
                for row in rows
            ]
