"""Resource providers, their traits and aggregates, and generation bumps."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import TextClause

from minova import utils
from minova.db import engines
from minova.placement import errors
from minova.placement import tables as t
from minova.placement.db import names

rp = t.resource_providers
_parent = rp.alias('parent')
_root = rp.alias('root')


def _select() -> sa.Select:
    return sa.select(
        rp.c.id, rp.c.uuid, rp.c.name, rp.c.generation, rp.c.root_provider_id,
        rp.c.parent_provider_id, rp.c.created_at, rp.c.updated_at,
        _parent.c.uuid.label('parent_provider_uuid'),
        _root.c.uuid.label('root_provider_uuid'),
    ).select_from(
        rp.outerjoin(_parent, rp.c.parent_provider_id == _parent.c.id)
          .outerjoin(_root, rp.c.root_provider_id == _root.c.id))


# Statements a claim runs, built once: building one (and its cache key)
# cost SQLAlchemy about three times what running it on SQLite does.
_BY_UUID = _select().where(rp.c.uuid == sa.bindparam('uuid'))
_BUMP = (rp.update().where(rp.c.id == sa.bindparam('rp_id'),
                           rp.c.generation == sa.bindparam('read_generation'))
         .values(generation=sa.bindparam('new_generation'),
                 updated_at=sa.bindparam('now')))


def get(conn: Connection, uuid: str) -> dict[str, Any] | None:
    row = conn.execute(_BY_UUID, {'uuid': uuid}).first()
    return dict(row._mapping) if row else None


def require(conn: Connection, uuid: str) -> dict[str, Any]:
    provider = get(conn, uuid)
    if provider is None:
        raise errors.not_found(f'No resource provider with uuid {uuid} found',
                               errors.RESOURCE_PROVIDER_NOT_FOUND)
    return provider


def get_many(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for chunk in chunks(ids):
        result = conn.execute(_select().where(in_ids(rp.c.id, chunk)))
        keys = list(result.keys())
        for row in result.all():   # zip over the keys: cheaper than row._mapping
            out[row[0]] = dict(zip(keys, row, strict=True))
    return out


def chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


class _IdList(TextClause):
    inherit_cache = False   # each list is new: statements with one are not cached


# Up to this many ids are bound as parameters: the statement is then cached
# (compiling one cost more than binding a few ids); more are written out.
BOUND_IDS = 16


def in_ids(column: sa.Column, ids: Iterable[int]) -> sa.ColumnElement[bool] | TextClause:
    """`column IN (1, 2, ...)`, the ids bound when few, else written into the SQL.

    Allocation candidates read the inventories, usages, traits and rows of
    every provider in every candidate's tree: at 1,000 providers, binding
    each id as a parameter cost SQLAlchemy more than the queries themselves.
    The ids are integers (int() makes sure), so writing them is safe. A
    statement with written ids is compiled each time, which for the one or
    two providers a claim or a changed provider reads cost more than binding.
    """
    values = [int(i) for i in ids]
    if 0 < len(values) <= BOUND_IDS:
        return column.in_(values)
    listed = ','.join(map(str, values)) or 'NULL'
    return _IdList(f'{column.table.name}.{column.name} IN ({listed})')


_by_ids: dict[str, sa.Select] = {}


def by_ids(key: str, build: Callable[[Any], sa.Select], column: sa.Column,
           ids: Iterable[int]) -> tuple[sa.Select, dict[str, Any]]:
    """(statement, parameters): build(`column IN ids`), as in_ids() writes
    it, but for a few ids one statement built once under `key` (a module's
    constant: one statement is kept per key) with the ids as a parameter."""
    values = [int(i) for i in ids]
    if 0 < len(values) <= BOUND_IDS:
        stmt = _by_ids.get(key)
        if stmt is None:
            stmt = _by_ids[key] = build(column.in_(sa.bindparam('ids', expanding=True)))
        return stmt, {'ids': values}
    return build(in_ids(column, values)), {}


def _duplicates(conn: Connection, uuid: str | None, name: str | None,
                exclude_id: int | None = None) -> list[str]:
    dups = []
    if uuid is not None:
        q = sa.select(rp.c.id).where(rp.c.uuid == uuid)
        if conn.execute(q).first():
            dups.append(f'uuid: {uuid}')
    if name is not None:
        q = sa.select(rp.c.id).where(rp.c.name == name)
        if exclude_id is not None:
            q = q.where(rp.c.id != exclude_id)
        if conn.execute(q).first():
            dups.append(f'name: {name}')
    return dups


def create(conn: Connection, uuid: str, name: str,
           parent_uuid: str | None = None) -> dict[str, Any]:
    dups = _duplicates(conn, uuid, name)
    if dups:
        raise errors.conflict(
            f'Conflicting resource provider {", ".join(dups)} already exists.',
            errors.DUPLICATE_NAME)
    parent = None
    if parent_uuid is not None:
        parent = get(conn, parent_uuid)
        if parent is None:
            raise errors.bad_request(
                f'Unable to create resource provider "{name}", {uuid}: '
                f'No such resource provider {parent_uuid}.')
    now = utils.utcnow()
    try:
        new_id = engines.inserted_id(conn.execute(rp.insert().values(
            uuid=uuid, name=name, generation=0, created_at=now, updated_at=now,
            parent_provider_id=parent['id'] if parent else None,
            root_provider_id=parent['root_provider_id'] if parent else None,
        )))
    except sa.exc.IntegrityError:
        raise errors.conflict(
            f'Conflicting resource provider name: {name} already exists.',
            errors.DUPLICATE_NAME) from None
    if parent is None:
        conn.execute(rp.update().where(rp.c.id == new_id).values(root_provider_id=new_id))
    return require(conn, uuid)


def subtree(conn: Connection, provider: dict[str, Any]) -> set[int]:
    """Ids of the provider and of all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, parent in conn.execute(sa.select(rp.c.id, rp.c.parent_provider_id).where(
            rp.c.root_provider_id == provider['root_provider_id'])):
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [provider['id']]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


def update(conn: Connection, provider: dict[str, Any], name: str,
           parent_uuid: str | None, allow_reparent: bool) -> dict[str, Any]:
    """Rename, and give a root a parent; with `allow_reparent` (1.37) also
    move a provider (with its subtree) under another parent or make it a
    root. Its descendants follow it into the new tree."""
    if _duplicates(conn, None, name, exclude_id=provider['id']):
        raise errors.conflict(f'Conflicting resource provider {name} already exists.',
                              errors.DUPLICATE_NAME)
    values: dict[str, Any] = {'name': name, 'updated_at': utils.utcnow()}
    if parent_uuid != provider['parent_provider_uuid']:
        failed = f'Unable to save resource provider {provider["uuid"]}: Object action ' \
                 'update failed because: '
        moved = subtree(conn, provider)
        if parent_uuid is None:
            if not allow_reparent:
                raise errors.bad_request(
                    failed + 'un-parenting a provider is not currently allowed.')
            values['parent_provider_id'] = None
            values['root_provider_id'] = provider['id']
        else:
            if provider['parent_provider_uuid'] is not None and not allow_reparent:
                raise errors.bad_request(
                    failed + 're-parenting a provider is not currently allowed.')
            parent = get(conn, parent_uuid)
            if parent is None:
                raise errors.bad_request(
                    failed + 'parent provider UUID does not exist.')
            if parent['id'] in moved:
                raise errors.bad_request(
                    failed + 'creating loop in the provider tree is not allowed.')
            values['parent_provider_id'] = parent['id']
            values['root_provider_id'] = parent['root_provider_id']
        for chunk in chunks(sorted(moved)):
            conn.execute(rp.update().where(rp.c.id.in_(chunk))
                         .values(root_provider_id=values['root_provider_id']))
    # Renaming or parenting does not change the generation (as upstream).
    try:
        conn.execute(rp.update().where(rp.c.id == provider['id']).values(**values))
    except sa.exc.IntegrityError:  # a concurrent rename took the name first
        raise errors.conflict(f'Conflicting resource provider {name} already exists.',
                              errors.DUPLICATE_NAME) from None
    return require(conn, provider['uuid'])


def delete(conn: Connection, provider: dict[str, Any]) -> None:
    pid = provider['id']
    if conn.execute(sa.select(t.allocations.c.id).where(
            t.allocations.c.resource_provider_id == pid).limit(1)).first():
        raise errors.conflict(
            f'Unable to delete resource provider {provider["uuid"]}: Resource provider '
            'has allocations.', errors.PROVIDER_IN_USE)
    if conn.execute(sa.select(rp.c.id).where(rp.c.parent_provider_id == pid)).first():
        raise errors.conflict(
            f'Unable to delete parent resource provider {provider["uuid"]}: It has child '
            'resource providers.', errors.PROVIDER_CANNOT_DELETE_PARENT)
    for table in (t.inventories, t.resource_provider_traits, t.resource_provider_aggregates):
        conn.execute(table.delete().where(table.c.resource_provider_id == pid))
    conn.execute(rp.delete().where(rp.c.id == pid))


def bump(conn: Connection, provider: dict[str, Any], **values: Any) -> int:
    """Increment the generation iff nobody else did since `provider` was read."""
    old = provider['generation']
    if not values:
        result = conn.execute(_BUMP, {'rp_id': provider['id'], 'read_generation': old,
                                      'new_generation': old + 1, 'now': utils.utcnow()})
    else:
        values.setdefault('updated_at', utils.utcnow())
        result = conn.execute(rp.update().where(rp.c.id == provider['id'],
                                                rp.c.generation == old)
                              .values(generation=old + 1, **values))
    if result.rowcount != 1:
        raise errors.ProviderGenerationConflict(provider['uuid'])
    provider['generation'] = old + 1
    return old + 1


def check_generation(provider: dict[str, Any], generation: int) -> None:
    if provider['generation'] != generation:
        raise errors.conflict(
            'resource provider generation conflict', errors.CONCURRENT_UPDATE)


# -- filters shared by GET /resource_providers and allocation candidates ------

def capacity_filter(conn: Connection, resources: dict[int, Any]) -> list[Any]:
    """WHERE clauses: rp.id has room for each {rc_id: amount}; an amount may
    be a bind parameter, for a statement built once and run many times."""
    inv = t.inventories
    alloc = t.allocations
    clauses = []
    for rc, amount in resources.items():
        used = (sa.select(alloc.c.resource_provider_id,
                          sa.func.sum(alloc.c.used).label('used'))
                .where(alloc.c.resource_class_id == rc)
                .group_by(alloc.c.resource_provider_id).subquery())
        q = (sa.select(inv.c.resource_provider_id)
             .select_from(inv.outerjoin(used, used.c.resource_provider_id
                                        == inv.c.resource_provider_id))
             .where(inv.c.resource_class_id == rc,
                    (inv.c.total - inv.c.reserved) * inv.c.allocation_ratio
                    >= sa.func.coalesce(used.c.used, 0) + amount,
                    inv.c.min_unit <= amount, inv.c.max_unit >= amount,
                    (amount if isinstance(amount, sa.BindParameter)
                     else sa.literal(amount)) % inv.c.step_size == 0))
        clauses.append(rp.c.id.in_(q))
    return clauses


def trait_filter(required: Iterable[Iterable[int]], forbidden: Iterable[int],
                 column: Any = None) -> list[Any]:
    """WHERE clauses: `column` (rp.id) has a trait of each any-of set in
    `required` and none of `forbidden`."""
    col = rp.c.id if column is None else column
    rpt = t.resource_provider_traits
    clauses = []
    for any_of in required:
        ids = sorted(any_of)
        cond = rpt.c.trait_id == ids[0] if len(ids) == 1 else rpt.c.trait_id.in_(ids)
        clauses.append(col.in_(sa.select(rpt.c.resource_provider_id).where(cond)))
    forbidden = sorted(forbidden)
    if forbidden:
        clauses.append(col.not_in(sa.select(rpt.c.resource_provider_id)
                                  .where(rpt.c.trait_id.in_(forbidden))))
    return clauses


def aggregate_filter(member_of: list[set[str]], forbidden: set[str] | None = None,
                     column: Any = None) -> list[Any]:
    """WHERE clauses: `column` (rp.id) is in an aggregate of each set of
    `member_of` and in none of `forbidden`."""
    col = rp.c.id if column is None else column
    rpa = t.resource_provider_aggregates
    clauses = [col.in_(sa.select(rpa.c.resource_provider_id)
                       .where(rpa.c.aggregate_uuid.in_(sorted(aggs))))
               for aggs in member_of]
    if forbidden:
        clauses.append(col.not_in(sa.select(rpa.c.resource_provider_id)
                                  .where(rpa.c.aggregate_uuid.in_(sorted(forbidden)))))
    return clauses


def list_providers(conn: Connection, *, name: str | None = None, uuid: str | None = None,
                   in_tree: str | None = None, resources: dict[int, int] | None = None,
                   required: list[set[int]] | None = None, forbidden: set[int] | None = None,
                   member_of: list[set[str]] | None = None,
                   forbidden_aggs: set[str] | None = None) -> list[dict[str, Any]]:
    q = _select()
    if name is not None:
        q = q.where(rp.c.name == name)
    if uuid is not None:
        q = q.where(rp.c.uuid == uuid)
    if in_tree is not None:
        tree = get(conn, in_tree)
        if tree is None:
            return []
        q = q.where(rp.c.root_provider_id == tree['root_provider_id'])
    q = q.where(*capacity_filter(conn, resources or {}),
                *trait_filter(required or [], forbidden or set()),
                *aggregate_filter(member_of or [], forbidden_aggs))
    return [dict(r._mapping) for r in conn.execute(q.order_by(rp.c.id))]


# -- traits and aggregates of one provider ------------------------------------

def get_traits(conn: Connection, provider_ids: list[int]) -> dict[int, list[str]]:
    rpt = t.resource_provider_traits
    out: dict[int, list[str]] = {pid: [] for pid in provider_ids}
    rows: list[tuple[int, int]] = []
    for chunk in chunks(provider_ids):
        rows.extend(conn.execute(*by_ids(
            'providers.traits',
            lambda w: sa.select(rpt.c.resource_provider_id, rpt.c.trait_id).where(w),
            rpt.c.resource_provider_id, chunk)).all())
    tnames = names.trait_names(conn, {trait for _, trait in rows})
    for pid, trait in rows:
        out[pid].append(tnames[trait])
    for traits in out.values():
        traits.sort()
    return out


def set_traits(conn: Connection, provider: dict[str, Any], trait_ids: list[int]) -> None:
    rpt = t.resource_provider_traits
    conn.execute(rpt.delete().where(rpt.c.resource_provider_id == provider['id']))
    now = utils.utcnow()
    if trait_ids:
        conn.execute(rpt.insert(), [{'resource_provider_id': provider['id'],
                                     'trait_id': tid, 'created_at': now}
                                    for tid in sorted(set(trait_ids))])
    bump(conn, provider)


def get_aggregates(conn: Connection, provider_id: int) -> list[str]:
    rpa = t.resource_provider_aggregates
    return sorted(r.aggregate_uuid for r in conn.execute(
        sa.select(rpa.c.aggregate_uuid).where(rpa.c.resource_provider_id == provider_id)))


def set_aggregates(conn: Connection, provider: dict[str, Any], aggregates: list[str],
                   increment_generation: bool) -> None:
    rpa = t.resource_provider_aggregates
    conn.execute(rpa.delete().where(rpa.c.resource_provider_id == provider['id']))
    now = utils.utcnow()
    if aggregates:
        conn.execute(rpa.insert(), [{'resource_provider_id': provider['id'],
                                     'aggregate_uuid': agg, 'created_at': now}
                                    for agg in sorted(set(aggregates))])
    if increment_generation:
        bump(conn, provider)
