"""Stock levels in SQL: changes are saved as deltas by conditional updates, in key order.

A reservation is `reserved = reserved + q WHERE on_hand - reserved >= q` in one statement: the
row lock it takes serializes contenders, and a contender whose read went stale matches no row and
reruns its whole command. Levels are updated in sorted key order, so two commands never wait for
each other's rows in opposite orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Update,
    and_,
    bindparam,
    case,
    or_,
    select,
    text,
    update,
)

from adapters.sql.per_dialect import insert_or_skip, one_of
from adapters.sql.schema import stock_levels
from adapters.sql.statements import Statements
from domain.inventory import StockKey, StockLevel
from ports.unit_of_work import ConcurrencyConflict

t = stock_levels.c

# Statements are built once and executed with parameters: building them per call was the largest
# CPU cost of placing an order.
_BY_SKUS = {d: select(stock_levels).where(skus) for d, skus in one_of(t.sku, "skus").items()}
_INSERT_EMPTY = insert_or_skip(stock_levels)


@cache
def _update_stmt(snapshot: bool, reserving: bool, versioned: bool) -> Update:
    """The conditional UPDATE of one level; parameters `b_sku`, `b_location`, `p_reserved` (a
    delta), `p_on_hand` (absolute for a counted snapshot, else a delta), `p_last_sequence` (with a
    snapshot) and `b_version`, `p_version` (the loaded version and its delta, when versioned)."""
    reserved = t.reserved + bindparam("p_reserved")
    conditions = [t.sku == bindparam("b_sku"), t.location == bindparam("b_location")]
    values: dict[str, object] = {"reserved": reserved}
    new_on_hand: ColumnElement[int]
    if snapshot:  # a counted snapshot: absolute on_hand
        new_on_hand = bindparam("p_on_hand", type_=Integer)
        last_sequence = bindparam("p_last_sequence", type_=BigInteger)
        values["on_hand"] = new_on_hand
        values["last_sequence"] = last_sequence
        conditions.append(or_(t.last_sequence.is_(None), t.last_sequence < last_sequence))
    else:
        shifted = t.on_hand + bindparam("p_on_hand")
        new_on_hand = case((shifted < 0, 0), else_=shifted)
        values["on_hand"] = new_on_hand
    if reserving:
        conditions.append(new_on_hand - reserved >= 0)
    if versioned:
        conditions.append(t.version == bindparam("b_version"))  # keeps the event stream gap-free
        values["version"] = t.version + bindparam("p_version")
    return update(stock_levels).where(and_(*conditions)).values(values)


#: Several levels' `reserved` moved by deltas (`skus`, `locations`, `deltas`, in key order) in one
#: statement, on PostgreSQL. The rows are locked first, in key order, as the per-level UPDATEs
#: lock them (so two orders never wait for each other's rows in opposite orders); the UPDATE then
#: re-reads each locked row and takes a reservation only from what is available. Fewer rows
#: updated than asked: a level's read went stale, and the command reruns.
_RESERVE_TOGETHER = text(
    """
    WITH wanted AS (
        SELECT w.sku, w.location, w.delta
        FROM unnest(CAST(:skus AS varchar[]), CAST(:locations AS varchar[]),
                    CAST(:deltas AS integer[])) AS w(sku, location, delta)
    ), locked AS MATERIALIZED (
        SELECT s.sku, s.location
        FROM stock_levels AS s JOIN wanted AS w ON s.sku = w.sku AND s.location = w.location
        ORDER BY s.sku, s.location
        FOR UPDATE OF s
    )
    UPDATE stock_levels AS s SET reserved = s.reserved + w.delta
    FROM wanted AS w, locked AS l
    WHERE s.sku = w.sku AND s.location = w.location
      AND l.sku = s.sku AND l.location = s.location
      AND (w.delta <= 0 OR s.on_hand - s.reserved - w.delta >= 0)
    """
)


def _changed(level: StockLevel, loaded: _Loaded) -> bool:
    return (level.on_hand, level.reserved, level.last_sequence, level.version) != (
        loaded.on_hand,
        loaded.reserved,
        loaded.last_sequence,
        loaded.version,
    )


def _reservation_only(level: StockLevel, loaded: _Loaded) -> bool:
    """Only `reserved` moved, on a level that exists: what placing or cancelling an order does."""
    return loaded.exists and (level.on_hand, level.last_sequence, level.version) == (
        loaded.on_hand,
        loaded.last_sequence,
        loaded.version,
    )


@dataclass(frozen=True, slots=True)
class _Loaded:
    on_hand: int
    reserved: int
    last_sequence: int | None
    version: int
    exists: bool


_NEW = _Loaded(0, 0, None, 0, exists=False)


class SqlStockRepository:
    def __init__(self, connection: Statements) -> None:
        self._conn = connection
        self._by_skus = _BY_SKUS[connection.dialect.name]
        self._seen: dict[StockKey, StockLevel] = {}
        self._loaded: dict[StockKey, _Loaded] = {}

    @property
    def seen(self) -> list[StockLevel]:
        return list(self._seen.values())

    async def get_many(self, keys: Iterable[StockKey]) -> dict[StockKey, StockLevel]:
        wanted = set(keys)
        await self._load(wanted - self._seen.keys())
        for key in wanted - self._seen.keys():
            self._seen[key] = StockLevel(key.sku, key.location)
            self._loaded[key] = _NEW
        return {key: self._seen[key] for key in sorted(wanted)}

    async def for_skus(self, skus: Iterable[str]) -> dict[StockKey, StockLevel]:
        wanted = set(skus)
        rows = await self._conn.execute(self._by_skus, {"skus": list(wanted)})
        self._track(rows)
        return {key: level for key, level in sorted(self._seen.items()) if key.sku in wanted}

    async def _load(self, keys: set[StockKey]) -> None:
        if not keys:
            return
        rows = await self._conn.execute(self._by_skus, {"skus": list({k.sku for k in keys})})
        self._track(rows, only=keys)

    def _track(self, rows: Iterable[object], only: set[StockKey] | None = None) -> None:
        for row in rows:
            key = StockKey(row.sku, row.location)  # type: ignore[attr-defined]
            if key in self._seen or (only is not None and key not in only):
                continue
            level = StockLevel(
                key.sku,
                key.location,
                on_hand=row.on_hand,  # type: ignore[attr-defined]
                reserved=row.reserved,  # type: ignore[attr-defined]
                last_sequence=row.last_sequence,  # type: ignore[attr-defined]
                version=row.version,  # type: ignore[attr-defined]
            )
            self._seen[key] = level
            self._loaded[key] = _Loaded(
                level.on_hand, level.reserved, level.last_sequence, level.version, exists=True
            )

    async def save_all(self) -> None:
        changed = [
            (self._seen[key], self._loaded[key])
            for key in sorted(self._seen)
            if _changed(self._seen[key], self._loaded[key])
        ]
        if (
            len(changed) > 1
            and self._conn.dialect.name == "postgresql"
            and all(_reservation_only(level, loaded) for level, loaded in changed)
        ):
            await self._reserve_together(changed)
            return
        for level, loaded in changed:
            if not loaded.exists:
                await self._insert_empty(level.key)
            await self._update(level, loaded)

    async def _reserve_together(self, changed: list[tuple[StockLevel, _Loaded]]) -> None:
        """An order's reservations (or releases) of several levels in one statement: on a hot
        SKU every other order waits for these rows' locks until the commit, and one round trip
        under the lock instead of one per level lets the queue move that much faster."""
        deltas = [level.reserved - loaded.reserved for level, loaded in changed]
        result = await self._conn.execute(
            _RESERVE_TOGETHER,
            {
                "skus": [level.sku for level, _ in changed],
                "locations": [level.location for level, _ in changed],
                "deltas": deltas,
            },
        )
        if result.rowcount != len(changed):
            raise ConcurrencyConflict(
                "stock "
                + ", ".join(level.stream_id for level, _ in changed)
                + " changed underneath"
            )

    async def _insert_empty(self, key: StockKey) -> None:
        await self._conn.execute(
            _INSERT_EMPTY[self._conn.dialect.name],
            {"sku": key.sku, "location": key.location, "on_hand": 0, "reserved": 0, "version": 0},
        )

    async def _update(self, level: StockLevel, loaded: _Loaded) -> None:
        snapshot = level.last_sequence != loaded.last_sequence
        d_reserved = level.reserved - loaded.reserved
        d_version = level.version - loaded.version
        params: dict[str, object] = {
            "b_sku": level.sku,
            "b_location": level.location,
            "p_reserved": d_reserved,
        }
        if snapshot:
            params["p_on_hand"] = level.on_hand
            params["p_last_sequence"] = level.last_sequence
        else:
            params["p_on_hand"] = level.on_hand - loaded.on_hand
        if d_version:
            params["b_version"] = loaded.version
            params["p_version"] = d_version
        statement = _update_stmt(snapshot, d_reserved > 0, bool(d_version))
        result = await self._conn.execute(statement, params)
        if result.rowcount != 1:
            raise ConcurrencyConflict(f"stock {level.stream_id} changed underneath")
