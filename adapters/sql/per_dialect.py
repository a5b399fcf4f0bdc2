"""Statements that are written differently on PostgreSQL and SQLite, keyed by dialect name."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Insert, Table, any_, bindparam, collate, func
from sqlalchemy.dialects import postgresql, sqlite


def one_of(column: ColumnElement[Any], name: str) -> dict[str, ColumnElement[bool]]:
    """`column IN (:name)` for a list parameter: one array parameter on PostgreSQL (the direct
    path, adapters/sql/statements.py, compiles no expanding IN), an expanding IN on SQLite."""
    return {
        "postgresql": column == any_(bindparam(name, type_=ARRAY(column.type))),
        "sqlite": column.in_(bindparam(name, expanding=True)),
    }


def insert_or_skip(table: Table) -> dict[str, Insert]:
    """`INSERT … ON CONFLICT DO NOTHING` into `table`."""
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing(),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing(),
    }


def insert_or_update(
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Callable[[Any], Mapping[str, Any]],
    where: Callable[[Any], ColumnElement[bool]],
) -> dict[str, Insert]:
    """`INSERT … ON CONFLICT (key) DO UPDATE SET … WHERE …` into `table`: `update` and `where`
    are given the row that was not inserted (`excluded`) and answer the new values and the
    condition under which the held row takes them."""
    built: dict[str, Insert] = {}
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert)):
        statement = dialect_insert(table).values(**values)
        excluded = statement.excluded
        built[name] = statement.on_conflict_do_update(
            index_elements=list(key), set_=dict(update(excluded)), where=where(excluded)
        )
    return built


def lowered_ascii(column: ColumnElement[str]) -> dict[str, ColumnElement[str]]:
    """`column` with only A-Z lowered (`ports.delivery_log.ascii_lower`): SQLite's `lower` folds
    ASCII only; PostgreSQL's folds every letter, except under the "C" collation."""
    return {
        "postgresql": func.lower(collate(column, "C")),
        "sqlite": func.lower(column),
    }
