"""Keyset pagination on several sort keys, as Nova's marker/limit/sort_key."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import visitors

# The widest integer a column holds (BIGINT, SQLite's INTEGER). A larger one
# matches no row on any engine, and SQLite cannot even bind it as a parameter
# (OverflowError), so query values are clamped into this range first.
MAX_DB_INT = 2 ** 63 - 1


def db_int(value: int) -> int:
    """`value` clamped to what every engine binds; comparisons with any stored
    value keep their outcome."""
    return max(-MAX_DB_INT - 1, min(MAX_DB_INT, value))


def paginate(query: sa.Select, table: sa.Table, limit: int | None, sort_keys: list[str],
             sort_dirs: list[str], marker: Mapping[str, Any] | None = None) -> sa.Select:
    """Order by the keys (plus a unique tie-break) and start after `marker`.

    `marker` is the row the client last saw; rows after it in the sort order
    are those that differ on the first key where all earlier keys are equal.
    """
    keys = list(sort_keys)
    dirs = list(sort_dirs)
    # A unique final key makes the order total; uuid (when the table has one)
    # also orders rows from different cells the same way.
    tiebreak = 'uuid' if 'uuid' in table.c else 'id'
    if tiebreak not in keys:
        keys.append(tiebreak)
        dirs.append(dirs[-1] if dirs else 'desc')
    query = query.order_by(*(NullsSmallest(table.c[key], direction == 'desc')
                             for key, direction in zip(keys, dirs, strict=True)))
    if marker is not None:
        clauses = []
        for i, (key, direction) in enumerate(zip(keys, dirs, strict=True)):
            equal = [_eq(table.c[k], marker.get(k)) for k in keys[:i]]
            clauses.append(sa.and_(*equal, _after(table.c[key], marker.get(key), direction)))
        query = query.where(sa.or_(*clauses))
    if limit is not None:
        query = query.limit(limit)
    return query


class NullsSmallest(sa.ColumnElement[Any]):
    """An ORDER BY item on which NULL sorts as the smallest value, on every
    engine. SQLite and MySQL/MariaDB order NULL so already; PostgreSQL needs
    NULLS FIRST/LAST (which MySQL does not parse). Written as the plain column,
    it lets an index on the sort keys serve `ORDER BY ... LIMIT` (a CASE on
    NULL, as before, made every listing sort all the project's rows)."""

    inherit_cache = True
    _traverse_internals = [('column', visitors.InternalTraversal.dp_clauseelement),
                           ('descending', visitors.InternalTraversal.dp_boolean)]

    def __init__(self, column: sa.ColumnElement[Any], descending: bool) -> None:
        self.column = column
        self.descending = descending


@compiles(NullsSmallest)
def _order_native(element: NullsSmallest, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column, **kw) + (' DESC' if element.descending else ' ASC')


@compiles(NullsSmallest, 'postgresql')
def _order_postgresql(element: NullsSmallest, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column, **kw) + (
        ' DESC NULLS LAST' if element.descending else ' ASC NULLS FIRST')


def _eq(col: sa.Column, value: Any) -> Any:
    return col.is_(None) if value is None else col == value


def _after(col: sa.Column, value: Any, direction: str) -> Any:
    # NULL is treated as the smallest value.
    if direction == 'desc':
        return sa.false() if value is None else sa.or_(col < value, col.is_(None))
    return col.is_not(None) if value is None else col > value
