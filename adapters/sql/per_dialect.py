"""Statements that are written differently on PostgreSQL and SQLite, keyed by dialect name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Insert, Table, any_, bindparam
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
