"""Keyset pagination on several sort keys, as Nova's marker/limit/sort_key."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

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
    order = []
    for key, direction in zip(keys, dirs, strict=True):
        col = table.c[key]
        # NULL sorts as the smallest value on every engine (PostgreSQL alone
        # would put it last ascending); NULLS FIRST is not MySQL syntax.
        if col.nullable:
            is_set = sa.case((col.is_(None), 0), else_=1)
            order.append(is_set.desc() if direction == 'desc' else is_set.asc())
        order.append(col.desc() if direction == 'desc' else col.asc())
    query = query.order_by(*order)
    if marker is not None:
        clauses = []
        for i, (key, direction) in enumerate(zip(keys, dirs, strict=True)):
            equal = [_eq(table.c[k], marker.get(k)) for k in keys[:i]]
            clauses.append(sa.and_(*equal, _after(table.c[key], marker.get(key), direction)))
        query = query.where(sa.or_(*clauses))
    if limit is not None:
        query = query.limit(limit)
    return query


def _eq(col: sa.Column, value: Any) -> Any:
    return col.is_(None) if value is None else col == value


def _after(col: sa.Column, value: Any, direction: str) -> Any:
    # NULL is treated as the smallest value.
    if direction == 'desc':
        return sa.false() if value is None else sa.or_(col < value, col.is_(None))
    return col.is_not(None) if value is None else col > value
