"""One request group's allocation candidates, read as a few long strings.

At thousands of providers, GET /allocation_candidates spent most of its
time in the database driver decoding rows one at a time (PyMySQL is pure
Python: about 10 µs a row, and the old reads took seven rows per provider).
Here each of three reads (the candidates, the providers of their trees, the
usages of those) answers a single row on MySQL/MariaDB, GROUP_CONCAT joining
one short line per provider; other engines, whose drivers are C, return the
same lines as rows.

The lines hold everything of a provider summary that can change without the
provider's generation changing (its usages, its place in a tree) plus the
generation itself: inventories and traits are only written in a transaction
that bumps the generation (inventories.replace/delete_one,
providers.set_traits), so the renderer (handlers/candidate_render.py) may
keep what it built from them keyed by (id, uuid, generation), while usages
are read afresh on every request: capacity is never served stale, whichever
worker process or writer changed it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from minova.placement import tables as t
from minova.placement.db import candidates, providers

rp = t.resource_providers
alloc = t.allocations

# MariaDB's GROUP_CONCAT stops at group_concat_max_len (1 MiB by default:
# about 10,000 lines); the session limit is raised before the reads, and a
# result still cut short (max_allowed_packet) is noticed by its line count
# and read again as rows.
_GROUP_CONCAT_MAX = 1 << 31
_CHUNK = 5000


@dataclass
class Lines:
    candidates: list[int]                              # provider ids, answer order
    providers: list[tuple[int, str, int, int, int | None]]
    # ^ (id, uuid, generation, root id, parent id) of every provider in the
    #   candidates' trees, by id
    usages: dict[int, tuple[tuple[int, int], ...]]     # id -> ((rc id, used), ...)


def _text(col: Any) -> Any:
    return sa.cast(col, sa.String)


def _joined(conn: Connection, inner: sa.Select) -> sa.Select | None:
    """A statement answering `inner`'s `line` column as one row (count, text),
    lines in the order of `inner`'s `k*` columns; None: not on this engine."""
    if conn.dialect.name != 'mysql':
        return None
    keys = [c.name for c in inner.selected_columns if c.name.startswith('k')]
    x = inner.subquery('x')
    order = ', '.join(f'x.{k}' for k in keys)
    return sa.select(sa.func.count(), sa.literal_column(
        f"GROUP_CONCAT(x.line ORDER BY {order} SEPARATOR ' ')")).select_from(x)


def _ordered(inner: sa.Select) -> sa.Select:
    keys = [c.name for c in inner.selected_columns if c.name.startswith('k')]
    return inner.order_by(*(sa.literal_column(k) for k in keys))


def _lines(conn: Connection, stmts: tuple[sa.Select | None, sa.Select],
           params: dict[str, Any]) -> list[str]:
    joined, rows = stmts
    if joined is not None:
        count, text = conn.execute(joined, params).one()
        lines = text.split(' ') if text else []
        if len(lines) == count:
            return lines
    return [row[-1] for row in conn.execute(rows, params)]   # line is last


# Statements built once per shape, like candidates.group_statement's (the
# building and the compiling were most of this module's CPU time).
_built: dict[Any, Any] = {}


def _candidates_statements(conn: Connection, stmt: sa.Select, limited: bool
                           ) -> tuple[sa.Select | None, sa.Select]:
    key = ('candidates', conn.dialect.name, id(stmt), limited)
    found = _built.get(key)
    if found is None or found[0] is not stmt:
        g = stmt.order_by(None).subquery('g')
        inner = sa.select(g.c.root_provider_id.label('k0'), g.c.id.label('k1'),
                          (_text(g.c.id) + ':' + _text(g.c.root_provider_id)).label('line'))
        if limited:
            # As the general path: trees in root order, providers by id, then cut.
            inner = sa.select(*inner.order_by('k0', 'k1').limit(
                sa.bindparam('limit', type_=sa.Integer)).subquery('l').c)
        found = (stmt, (_joined(conn, inner), _ordered(inner)))
        if len(_built) >= 256:
            _built.clear()
        _built[key] = found
    return found[1]


_IDS = '__minova_ids__'


def _by_ids(conn: Connection, name: str, inner: Any) -> tuple[str | None, str]:
    """SQL text of a statement over a list of ids, compiled once: the ids are
    written in where _IDS stands (integers only, see providers.in_ids)."""
    key = (name, conn.dialect.name)
    found = _built.get(key)
    if found is None:
        stmt = inner()
        joined = _joined(conn, stmt)
        found = _built[key] = tuple(
            None if s is None else str(s.compile(conn, compile_kwargs={'literal_binds': True}))
            for s in (joined, _ordered(stmt)))
    return found


def _id_lines(conn: Connection, sql: tuple[str | None, str], ids: list[int]) -> list[str]:
    listed = ','.join(str(int(i)) for i in ids) or 'NULL'
    joined, rows = sql
    if joined is not None:
        count, text = conn.exec_driver_sql(joined.replace(_IDS, listed)).one()
        lines = text.split(' ') if text else []
        if len(lines) == count:
            return lines
    return [row[-1] for row in conn.exec_driver_sql(rows.replace(_IDS, listed))]


def _members_stmt() -> sa.Select:
    return sa.select(rp.c.id.label('k0'), (
        _text(rp.c.id) + '|' + rp.c.uuid + '|' + _text(rp.c.generation) + '|'
        + _text(rp.c.root_provider_id) + '|'
        + sa.func.coalesce(_text(rp.c.parent_provider_id), '')).label('line')
    ).where(sa.text(f'resource_providers.root_provider_id IN ({_IDS})'))


def _usages_stmt() -> sa.Select:
    used = sa.func.sum(alloc.c.used)
    return (sa.select(alloc.c.resource_provider_id.label('k0'),
                      alloc.c.resource_class_id.label('k1'),
                      (_text(alloc.c.resource_provider_id) + ':'
                       + _text(alloc.c.resource_class_id) + ':' + _text(used)).label('line'))
            .where(sa.text(f'allocations.resource_provider_id IN ({_IDS})'))
            .group_by(alloc.c.resource_provider_id, alloc.c.resource_class_id))


def single_group(conn: Connection, group: candidates.RequestGroup, *,
                 root_required: set[str] | None, root_forbidden: set[str] | None,
                 limit: int | None) -> Lines | None:
    """Candidates of one request group, each one provider; None: no candidate."""
    root_traits = candidates.root_trait_ids(conn, root_required, root_forbidden)
    if root_traits is False:
        return None
    found = candidates.group_statement(conn, group, root_traits)
    if found is None:
        return None
    stmt, params = found
    if conn.dialect.name == 'mysql':
        conn.exec_driver_sql(f'SET SESSION group_concat_max_len = {_GROUP_CONCAT_MAX}')
    if limit is not None:
        params = {**params, 'limit': limit}
    chosen = [line.split(':') for line in _lines(
        conn, _candidates_statements(conn, stmt, limit is not None), params)]
    if not chosen:
        return None
    roots = sorted({int(root) for _, root in chosen})
    members: list[tuple[int, str, int, int, int | None]] = []
    sql = _by_ids(conn, 'members', _members_stmt)
    for chunk in providers.chunks(roots, _CHUNK):
        for line in _id_lines(conn, sql, chunk):
            pid, uuid, gen, root, parent = line.split('|')
            members.append((int(pid), uuid, int(gen), int(root),
                            int(parent) if parent else None))
    members.sort()
    usages: dict[int, list[tuple[int, int]]] = {}
    sql = _by_ids(conn, 'usages', _usages_stmt)
    for chunk in providers.chunks([m[0] for m in members], _CHUNK):
        for line in _id_lines(conn, sql, chunk):
            pid, rc, amount = line.split(':')
            usages.setdefault(int(pid), []).append((int(rc), int(amount)))
    return Lines(candidates=[int(pid) for pid, _ in chosen], providers=members,
                 usages={pid: tuple(u) for pid, u in usages.items()})
