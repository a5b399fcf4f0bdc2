"""EXPLAIN (ANALYZE, BUFFERS) of the read-side queries at several sizes, on throwaway databases.

For each size: a new migrated database, `bench.bulk_load` fills it, then every case below calls the
real `ReadModels.orders` / `ReadModels.timeline` / `ReadModels.order` (read_models/queries.py).
A `before_cursor_execute` hook catches the statement and the parameters exactly as SQLAlchemy hands
them to asyncpg and stops the call there; the same text and parameters are then run as
`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) <statement>` (one warm-up, then `--runs` measured runs,
medians reported). Besides the plan:

- `e2e`: the real method called `--calls` times on one pooled connection (so asyncpg's prepared
  statement is reused and PostgreSQL may switch to a generic plan after five executions):
  p50 / p99 wall time in Python, decoding included;
- `generic`: the same statement `PREPARE`d and run with `plan_cache_mode = force_generic_plan`,
  the plan a long-lived connection can end up with.

The row-value cursor and the reshaped email, status and reference indexes that docs/query-plans.md
proposed are now in read_models/queries.py and migration 0003, so the default run measures them.
`--proposals` still measures the one left open: a (channel, created_at, order_id) index for the
channel keys' list (the other index statements it runs rebuild what the migration already made).

    .venv/bin/python -m bench.query_plans --sizes 10000,100000 --proposals --out /tmp/plans.md
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Select

from adapters.clock import SystemClock
from adapters.sql.engine import create_engine
from adapters.sql.schema import order_view_cases, order_views
from adapters.sql.view_reader import SqlViewReader, search_query
from adapters.sql.view_store import SqlViewStore
from bench.bulk_load import HEAVY_CUSTOMER, create_database, drop_database, load, pg_url
from ports.views import OrderFilter
from read_models.projector import OrderProjection
from read_models.queries import ReadModels, decode_cursor, encode_cursor

# -- catching the statement the read models issue ------------------------------------------------


class _Caught(Exception):
    """Raised by the hook to stop a read-model call once its statement is known."""


@dataclass
class Statement:
    sql: str
    params: tuple[Any, ...]


class Catcher:
    """Arm it, call a read-model method, and it holds the SQL and parameters sent to asyncpg."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.armed = False
        self.caught: Statement | None = None
        event.listen(engine.sync_engine, "before_cursor_execute", self._hook)

    def _hook(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if self.armed and statement.lstrip().upper().startswith("SELECT"):
            self.armed = False
            self.caught = Statement(statement, tuple(parameters or ()))
            raise _Caught

    async def catch(self, call: Callable[[], Awaitable[Any]]) -> Statement:
        self.armed, self.caught = True, None
        try:
            await call()
        except _Caught:
            pass
        finally:
            self.armed = False
        if self.caught is None:
            raise RuntimeError("the call issued no SELECT")
        return self.caught


# -- the cases --------------------------------------------------------------------------------

Call = Callable[[ReadModels], Awaitable[Any]]


@dataclass
class Case:
    key: str
    title: str
    call: Call
    #: the same filter for the proposed statement (None: the case is not an order list)
    where: OrderFilter | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass
class Samples:
    order_id: UUID
    channel: str
    channel_order_ref: str
    erp_order_ref: str
    customer_email: str
    case_id: str
    heavy_page2: str
    all_page2: str
    all_middle: str
    delivered_page2: str
    delivered_middle: str


async def samples(engine: AsyncEngine, read_models: ReadModels) -> Samples:
    """Realistic parameters, picked the same way at every size: an ordinary delivered order in the
    middle of the 90 days (8 timeline entries), its customer (~3 orders), a case, and cursors."""
    v = order_views.c
    async with engine.connect() as conn:
        candidates = (
            select(v.order_id, v.channel, v.channel_order_ref, v.erp_order_ref, v.customer_email)
            .where(v.status == "delivered", v.version == 8, v.customer_email != HEAVY_CUSTOMER)
            .order_by(v.created_at, v.order_id)
        )
        total = (
            await conn.execute(candidates.with_only_columns(func.count()).order_by(None))
        ).scalar_one()
        order = (await conn.execute(candidates.offset(total // 2).limit(1))).one()
        cases = (await conn.execute(select(order_view_cases.c.case_id))).scalars().all()
        case_id = sorted(cases)[len(cases) // 2]

        async def middle(*where: Any) -> str:
            count = (
                await conn.execute(select(func.count()).select_from(order_views).where(*where))
            ).scalar_one()
            row = (
                await conn.execute(
                    select(v.created_at, v.order_id)
                    .where(*where)
                    .order_by(v.created_at.desc(), v.order_id.desc())
                    .offset(count // 2)
                    .limit(1)
                )
            ).one()
            return encode_cursor(row.created_at, row.order_id)

        all_middle = await middle()
        delivered_middle = await middle(v.status == "delivered")

    async def page2(where: OrderFilter) -> str:
        first = await read_models.orders(where, 50, None)
        assert first.next_cursor is not None, where
        return first.next_cursor

    return Samples(
        order_id=order.order_id,
        channel=order.channel,
        channel_order_ref=order.channel_order_ref,
        erp_order_ref=order.erp_order_ref,
        customer_email=order.customer_email,
        case_id=case_id,
        heavy_page2=await page2(OrderFilter(customer_email=HEAVY_CUSTOMER)),
        all_page2=await page2(OrderFilter()),
        all_middle=all_middle,
        delivered_page2=await page2(OrderFilter(status="delivered")),
        delivered_middle=delivered_middle,
    )


def cases(s: Samples) -> list[Case]:
    def orders(key: str, title: str, where: OrderFilter, cursor: str | None = None) -> Case:
        return Case(key, title, lambda rm: rm.orders(where, 50, cursor), where=where, cursor=cursor)

    return [
        Case("timeline", "timeline of one order, first page of 100",
             lambda rm: rm.timeline(s.order_id, 100, None)),
        Case("order", "order view by id (single-order reads and the timeline's visibility check)",
             lambda rm: rm.order(s.order_id)),
        orders("email", "customer_email, ~3 orders, first page", OrderFilter(customer_email=s.customer_email)),
        orders("email_heavy", "customer_email, 1 % of all orders, first page",
               OrderFilter(customer_email=HEAVY_CUSTOMER)),
        orders("email_heavy_p2", "customer_email, 1 % of all orders, page 2 (cursor)",
               OrderFilter(customer_email=HEAVY_CUSTOMER), s.heavy_page2),
        orders("channel_ref", "channel + channel_order_ref",
               OrderFilter(channel=s.channel, channel_order_ref=s.channel_order_ref)),
        orders("ref_only", "channel_order_ref alone (agent, no channel)",
               OrderFilter(channel_order_ref=s.channel_order_ref)),
        orders("erp_ref", "erp_order_ref", OrderFilter(erp_order_ref=s.erp_order_ref)),
        orders("case", "case_id", OrderFilter(case_id=s.case_id)),
        orders("status", "status=delivered (~88 %), first page", OrderFilter(status="delivered")),
        orders("status_p2", "status=delivered, page 2 (cursor)", OrderFilter(status="delivered"),
               s.delivered_page2),
        orders("status_deep", "status=delivered, cursor half-way down", OrderFilter(status="delivered"),
               s.delivered_middle),
        orders("status_rare", "status=on_hold (~1.5 %), first page", OrderFilter(status="on_hold")),
        orders("channel", "channel=pos (a channel key's list), first page", OrderFilter(channel="pos")),
        orders("all", "unfiltered, first page", OrderFilter()),
        orders("all_p2", "unfiltered, page 2 (cursor)", OrderFilter(), s.all_page2),
        orders("all_deep", "unfiltered, cursor half-way down", OrderFilter(), s.all_middle),
    ]  # fmt: skip


#: What `--proposals` changes on the throwaway database, in this order.
INDEX_CHANGES = (
    "DROP INDEX ix_order_views_email",
    "CREATE INDEX ix_order_views_email ON order_views (customer_email, created_at, order_id)",
    "DROP INDEX ix_order_views_status",
    "CREATE INDEX ix_order_views_status ON order_views (status, created_at, order_id)",
    "CREATE INDEX ix_order_views_channel_created ON order_views (channel, created_at, order_id)",
)
#: Then: the (channel, channel_order_ref) index with its columns swapped, so that it also serves an
#: agent's search by channel_order_ref alone.
REF_INDEX = (
    "DROP INDEX ix_order_views_channel_ref",
    "CREATE INDEX ix_order_views_channel_ref ON order_views (channel_order_ref, channel)",
)

_INDEX_SIZES = """
SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes
WHERE relname = 'order_views' ORDER BY indexrelname
"""


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class Measured:
    key: str
    title: str
    planning_ms: float
    execution_ms: float
    shape: str
    seq_scans: list[str]
    rows_removed: int
    buffers_hit: int
    buffers_read: int
    rows: int
    text_plan: str
    e2e_p50_ms: float | None = None
    e2e_p99_ms: float | None = None
    generic_ms: float | None = None
    generic_shape: str | None = None
    runs: list[float] = field(default_factory=list)


def _walk(node: dict[str, Any], depth: int = 0) -> list[tuple[int, dict[str, Any]]]:
    out = [(depth, node)]
    for child in node.get("Plans", []):
        out.extend(_walk(child, depth + 1))
    return out


def _label(node: dict[str, Any]) -> str:
    label = str(node["Node Type"])
    if node.get("Scan Direction") == "Backward":
        label += " Backward"
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    if "Relation Name" in node:
        label += f" on {node['Relation Name']}"
    return label


def shape_of(plan: dict[str, Any]) -> str:
    return " → ".join(
        _label(node)
        for _, node in _walk(plan)
        if node["Node Type"] not in ("Result",) and node.get("Parent Relationship") != "InitPlan"
    )


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    return "'" + str(value).replace("'", "''") + "'"


async def _explain(conn: AsyncConnection, st: Statement, fmt: str = "JSON") -> Any:
    result = await conn.exec_driver_sql(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT {fmt}) {st.sql}", st.params
    )
    rows = result.all()
    if fmt == "JSON":
        doc = rows[0][0]
        return (json.loads(doc) if isinstance(doc, str) else doc)[0]
    return "\n".join(r[0] for r in rows)


async def _generic(conn: AsyncConnection, st: Statement, runs: int) -> tuple[float, str]:
    """The generic plan of the statement, as a connection that reuses it may end up with."""
    await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    await conn.exec_driver_sql(f"PREPARE bench_generic AS {st.sql}")
    try:
        args = ", ".join(_literal(p) for p in st.params)
        execute = "EXECUTE bench_generic" + (f"({args})" if args else "")
        times, plan = [], None
        for _ in range(runs + 1):
            result = await conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {execute}"
            )
            doc = result.scalar_one()
            plan = (json.loads(doc) if isinstance(doc, str) else doc)[0]
            times.append(plan["Execution Time"])
        assert plan is not None
        return statistics.median(times[1:]), shape_of(plan["Plan"])
    finally:
        await conn.exec_driver_sql("DEALLOCATE bench_generic")
        await conn.exec_driver_sql("RESET plan_cache_mode")


async def measure(engine: AsyncEngine, key: str, title: str, st: Statement, runs: int) -> Measured:
    async with engine.connect() as conn:
        await _explain(conn, st)  # warm-up: caches, hint bits
        plans = [await _explain(conn, st) for _ in range(runs)]
        text_plan = await _explain(conn, st, "TEXT")
        generic_ms, generic_shape = await _generic(conn, st, runs)
    execution = [p["Execution Time"] for p in plans]
    median_plan = sorted(plans, key=lambda p: p["Execution Time"])[len(plans) // 2]
    nodes = [n for _, n in _walk(median_plan["Plan"])]
    return Measured(
        key=key,
        title=title,
        planning_ms=statistics.median(p["Planning Time"] for p in plans),
        execution_ms=statistics.median(execution),
        shape=shape_of(median_plan["Plan"]),
        seq_scans=[n.get("Relation Name", "?") for n in nodes if n["Node Type"] == "Seq Scan"],
        rows_removed=sum(
            int(n.get("Rows Removed by Filter", 0)) + int(n.get("Rows Removed by Join Filter", 0))
            for n in nodes
        ),
        buffers_hit=median_plan["Plan"].get("Shared Hit Blocks", 0),
        buffers_read=median_plan["Plan"].get("Shared Read Blocks", 0),
        rows=median_plan["Plan"].get("Actual Rows", 0),
        text_plan=text_plan,
        generic_ms=generic_ms,
        generic_shape=generic_shape,
        runs=execution,
    )


async def end_to_end(call: Callable[[], Awaitable[Any]], calls: int) -> tuple[float, float]:
    """p50 and p99 wall time of `call` in ms, after three warm-up calls."""
    times = []
    for _ in range(calls + 3):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    times = sorted(times[3:])
    return statistics.median(times), times[min(len(times) - 1, round(0.99 * len(times)) - 1)]


def orders_query(where: OrderFilter, limit: int, cursor: str | None) -> Select[Any]:
    """The statement `ReadModels.orders` sends: one row more than `limit`, after the cursor."""
    return search_query(where, limit + 1, None if cursor is None else decode_cursor(cursor))


async def _run_query(engine: AsyncEngine, query: Select[Any]) -> list[Any]:
    """What ReadModels.orders does around its statement: a pooled connection, all rows."""
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


async def _self_check(catcher: Catcher, engine: AsyncEngine, case: Case, caught: Statement) -> None:
    """The hook must see what ReadModels sends: rebuild the list query here and compare."""
    assert case.where is not None
    async with engine.connect() as conn:
        mine = await catcher.catch(
            lambda: conn.execute(orders_query(case.where, case.limit, case.cursor))  # type: ignore[arg-type]
        )
    if (mine.sql, mine.params) != (caught.sql, caught.params):
        raise AssertionError(f"{case.key}: the hook saw\n{caught}\nnot\n{mine}")


@dataclass
class SizeResult:
    orders: int
    load: list[str]
    load_seconds: float
    vacuum_seconds: float
    baseline: dict[str, Measured]
    statements: dict[str, Statement]
    proposals: dict[str, dict[str, Measured]] = field(default_factory=dict)
    index_sizes: dict[str, dict[str, str]] = field(default_factory=dict)


async def run_size(orders: int, args: argparse.Namespace) -> SizeResult:
    name = await create_database()
    print(f"\n== {orders:,} orders: database {name}", flush=True)
    engine = create_engine(pg_url(name), pool_size=1)
    try:
        report = await load(name, orders, seed=args.seed)
        for line in report.lines():
            print("  " + line, flush=True)
        projection = OrderProjection(SqlViewStore(engine), SystemClock())
        read_models = ReadModels(SqlViewReader(engine), projection)
        catcher = Catcher(engine)
        s = await samples(engine, read_models)
        result = SizeResult(
            orders, report.lines(), report.load_seconds, report.steps["vacuum analyze"], {}, {}
        )
        the_cases = [c for c in cases(s) if not args.only or c.key in args.only]
        for case in the_cases:
            st = await catcher.catch(functools.partial(case.call, read_models))
            if case.where is not None:
                await _self_check(catcher, engine, case, st)
            m = await measure(engine, case.key, case.title, st, args.runs)
            m.e2e_p50_ms, m.e2e_p99_ms = await end_to_end(
                functools.partial(case.call, read_models), args.calls
            )
            result.baseline[case.key] = m
            result.statements[case.key] = st
            print(f"  {_row(m)}", flush=True)
        if args.proposals:
            await _proposals(engine, catcher, the_cases, result, args)
        return result
    finally:
        await engine.dispose()
        if args.keep:
            print(f"kept: {pg_url(name)}")
        else:
            await drop_database(name)
            print(f"  database {name} dropped", flush=True)


async def _index_sizes(conn: AsyncConnection) -> dict[str, str]:
    rows: list[Any] = list((await conn.exec_driver_sql(_INDEX_SIZES)).all())
    return {str(name): str(size) for name, size in rows}


async def _proposals(
    engine: AsyncEngine,
    catcher: Catcher,
    the_cases: list[Case],
    result: SizeResult,
    args: argparse.Namespace,
) -> None:
    lists = [c for c in the_cases if c.where is not None]

    async def measure_all(phase: str) -> None:
        print(f"  -- {phase}", flush=True)
        out = result.proposals.setdefault(phase, {})
        for case in lists:
            assert case.where is not None
            query = orders_query(case.where, case.limit, case.cursor)
            async with engine.connect() as conn:
                st = await catcher.catch(functools.partial(conn.execute, query))
            m = await measure(engine, case.key, case.title, st, args.runs)
            m.e2e_p50_ms, m.e2e_p99_ms = await end_to_end(
                functools.partial(_run_query, engine, query), args.calls
            )
            out[case.key] = m
            print(f"  {_row(m)}", flush=True)

    async def change(phase: str, ddls: tuple[str, ...]) -> None:
        async with engine.begin() as conn:
            started = time.perf_counter()
            for ddl in ddls:
                await conn.exec_driver_sql(ddl)
            await conn.exec_driver_sql("ANALYZE order_views")
            sizes = await _index_sizes(conn)
        result.index_sizes[phase] = sizes
        print(f"  {phase}: {time.perf_counter() - started:.2f} s; index sizes {sizes}", flush=True)
        await measure_all(phase)

    async with engine.connect() as conn:
        result.index_sizes["before"] = await _index_sizes(conn)
    await measure_all("row-value cursor")
    await change("row-value cursor + (…, created_at, order_id) indexes", INDEX_CHANGES)
    await change(
        "+ (channel_order_ref, channel) instead of (channel, channel_order_ref)", REF_INDEX
    )


# -- reporting --------------------------------------------------------------------------------


def _row(m: Measured) -> str:
    e2e = f"e2e p50 {m.e2e_p50_ms:.2f} p99 {m.e2e_p99_ms:.2f} ms" if m.e2e_p50_ms else ""
    return (
        f"{m.key:15} plan {m.planning_ms:6.3f} exec {m.execution_ms:8.3f} ms "
        f"(generic {m.generic_ms:8.3f}) rows {m.rows:3} removed {m.rows_removed:7} "
        f"buf {m.buffers_hit}+{m.buffers_read} {e2e} | {m.shape}"
    )


def markdown(results: list[SizeResult]) -> str:
    out = ["# query plans (generated by bench/query_plans.py)", ""]
    for r in results:
        out += [f"## {r.orders:,} orders", "", *[f"- {line}" for line in r.load], ""]
    sizes = [r.orders for r in results]
    head = " | ".join(f"{n:,}: plan / exec / generic / e2e p50 / p99 ms" for n in sizes)
    out += [f"| case | {head} | growth (exec) | shape at {sizes[-1]:,} |"]
    out += ["|---|" + "---|" * len(sizes) + "---|---|"]
    for key, base in results[0].baseline.items():
        cells = []
        for r in results:
            m = r.baseline[key]
            cells.append(
                f"{m.planning_ms:.3f} / {m.execution_ms:.3f} / {m.generic_ms:.3f} / "
                f"{m.e2e_p50_ms:.2f} / {m.e2e_p99_ms:.2f}"
            )
        last = results[-1].baseline[key]
        growth = last.execution_ms / max(base.execution_ms, 1e-3)
        out.append(f"| {key}: {base.title} | {' | '.join(cells)} | ×{growth:.1f} | {last.shape} |")
    out.append("")
    for r in results:
        for key, m in r.baseline.items():
            if m.generic_shape != m.shape:
                out.append(
                    f"- {r.orders:,} {key}: generic plan {m.generic_shape} "
                    f"({m.generic_ms:.3f} ms against {m.execution_ms:.3f} ms)"
                )
    out.append("")
    for r in results:
        for phase, index_sizes in r.index_sizes.items():
            out.append(f"- {r.orders:,}, index sizes {phase}: {index_sizes}")
        out.append("")
        for phase, measured in r.proposals.items():
            out += [f"### {r.orders:,}: {phase}", ""]
            out += [
                "| case | exec ms | generic ms | e2e p50 ms | shape after |",
                "|---|---|---|---|---|",
            ]
            for key, m in measured.items():
                b = r.baseline[key]
                out.append(
                    f"| {key} | {b.execution_ms:.3f} → {m.execution_ms:.3f} "
                    f"| {b.generic_ms:.3f} → {m.generic_ms:.3f} "
                    f"| {b.e2e_p50_ms:.2f} → {m.e2e_p50_ms:.2f} | {m.shape} |"
                )
            out.append("")
    for r in results:
        out += [f"## plans at {r.orders:,}", ""]
        for key, m in r.baseline.items():
            out += [f"### {key}: {m.title}", "", "```", r.statements[key].sql.strip(),
                    f"-- params {r.statements[key].params}", "", m.text_plan, "```", ""]  # fmt: skip
            for phase, measured in r.proposals.items():
                if key in measured:
                    out += [f"{phase}:", "", "```", measured[key].text_plan, "```", ""]
    return "\n".join(out)


async def _main(args: argparse.Namespace) -> None:
    results = []
    for size in args.sizes:
        results.append(await run_size(size, args))
    text = markdown(results)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print(f"\nreport written to {args.out}")
    else:
        print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=lambda s: [int(n) for n in s.split(",")], default=[10_000, 100_000]
    )
    parser.add_argument("--runs", type=int, default=5, help="measured EXPLAIN runs per query")
    parser.add_argument("--calls", type=int, default=100, help="end-to-end calls per query")
    parser.add_argument("--seed", type=float, default=0.42)
    parser.add_argument("--proposals", action="store_true", help="measure the proposed changes")
    parser.add_argument("--only", type=lambda s: s.split(","), default=None, help="case keys")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--out", help="write the markdown report here")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
