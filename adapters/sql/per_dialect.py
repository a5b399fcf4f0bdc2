"""Statements that are written differently on PostgreSQL and SQLite, keyed by dialect name."""

from __future__ import annotations

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


def lowered_ascii(column: ColumnElement[str]) -> dict[str, ColumnElement[str]]:
    """`column` with only A-Z lowered (`ports.delivery_log.ascii_lower`): SQLite's `lower` folds
    ASCII only; PostgreSQL's folds every letter, except under the "C" collation."""
    return {
        "postgresql": func.lower(collate(column, "C")),
        "sqlite": func.lower(column),
    }
