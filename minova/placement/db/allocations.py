"""Allocations and consumers.

A write replaces every allocation of the consumers it names, checks the
capacity of what it adds, then bumps the generation of every provider it
touched with `UPDATE ... WHERE generation = :read`, so two writers that both
saw room for one more instance cannot both commit.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from minova import utils
from minova.db import engines
from minova.placement import errors
from minova.placement import tables as t
from minova.placement.db import inventories, names, providers

UNSET: Any = object()

alloc = t.allocations
cons = t.consumers
rp = t.resource_providers


# Statements each claim and release runs, built once (building one and its
# cache key cost SQLAlchemy more than running it on SQLite).
_CONSUMER = sa.select(cons).where(cons.c.uuid == sa.bindparam('uuid'))
_ADD_CONSUMER = cons.insert()
_ADD_ALLOCATIONS = alloc.insert()
_DROP_ALLOCATIONS = alloc.delete().where(alloc.c.consumer_id == sa.bindparam('consumer'))
_DROP_CONSUMER = cons.delete().where(cons.c.uuid == sa.bindparam('uuid'))


def get_consumer(conn: Connection, uuid: str) -> dict[str, Any] | None:
    row = conn.execute(_CONSUMER, {'uuid': uuid}).first()
    return dict(row._mapping) if row else None


def for_consumer(conn: Connection, uuid: str) -> dict[str, dict[str, Any]]:
    """{rp uuid: {'generation': g, 'resources': {rc: used}}}."""
    rcs = names.rc_names(conn)
    out: dict[str, dict[str, Any]] = {}
    q = (sa.select(rp.c.uuid, rp.c.generation, alloc.c.resource_class_id, alloc.c.used)
         .select_from(alloc.join(rp, rp.c.id == alloc.c.resource_provider_id))
         .where(alloc.c.consumer_id == uuid))
    for row in conn.execute(q):
        entry = out.setdefault(row.uuid, {'generation': row.generation, 'resources': {}})
        entry['resources'][rcs.get(row.resource_class_id)
                           or names.rc_name(conn, row.resource_class_id)] = row.used
    return out


def for_provider(conn: Connection, provider_id: int) -> dict[str, dict[str, Any]]:
    """{consumer uuid: {'resources': {rc: used}, 'consumer_generation': g}}."""
    rcs = names.rc_names(conn)
    out: dict[str, dict[str, Any]] = {}
    q = (sa.select(alloc.c.consumer_id, alloc.c.resource_class_id, alloc.c.used,
                   cons.c.generation)
         .select_from(alloc.outerjoin(cons, cons.c.uuid == alloc.c.consumer_id))
         .where(alloc.c.resource_provider_id == provider_id))
    for row in conn.execute(q):
        entry = out.setdefault(row.consumer_id, {'resources': {},
                                                 'consumer_generation': row.generation})
        entry['resources'][rcs.get(row.resource_class_id)
                           or names.rc_name(conn, row.resource_class_id)] = row.used
    return out


# GET /usages (1.38): consumers written without a type have type `unknown`;
# `all` and `unknown` are names a request may filter on, not stored types.
UNKNOWN_TYPE = 'unknown'
ALL_TYPES = 'all'


def _project_usages(project_id: str, user_id: str | None, *columns: Any) -> sa.Select:
    q = (sa.select(*columns)
         .select_from(alloc.join(cons, cons.c.uuid == alloc.c.consumer_id))
         .where(cons.c.project_id == project_id))
    if user_id is not None:
        q = q.where(cons.c.user_id == user_id)
    return q


def usages_for_project(conn: Connection, project_id: str,
                       user_id: str | None) -> dict[str, int]:
    q = _project_usages(project_id, user_id, alloc.c.resource_class_id,
                        sa.func.sum(alloc.c.used).label('used')
                        ).group_by(alloc.c.resource_class_id)
    return {names.rc_name(conn, r.resource_class_id): int(r.used) for r in conn.execute(q)}


def usages_by_type(conn: Connection, project_id: str, user_id: str | None,
                   consumer_type: str | None) -> dict[str, dict[str, int]]:
    """{type: {rc: used, ..., 'consumer_count': consumers}} of a project.

    Without `consumer_type` every type is its own key; `all` puts
    everything under `all`, `unknown` only the consumers without a type,
    and another name only the consumers of that type.
    """
    ctype = cons.c.consumer_type
    where: list[sa.ColumnElement[bool]] = []
    if consumer_type == UNKNOWN_TYPE:
        where.append(ctype.is_(None))
    elif consumer_type not in (None, ALL_TYPES):
        where.append(ctype == consumer_type)
    used = _project_usages(project_id, user_id, ctype, alloc.c.resource_class_id,
                           sa.func.sum(alloc.c.used).label('used')
                           ).where(*where).group_by(ctype, alloc.c.resource_class_id)
    counts = _project_usages(project_id, user_id, ctype,
                             sa.func.count(sa.distinct(alloc.c.consumer_id)).label('n')
                             ).where(*where).group_by(ctype)

    def key(stored: str | None) -> str:
        if consumer_type == ALL_TYPES:
            return ALL_TYPES
        return stored or UNKNOWN_TYPE

    out: dict[str, dict[str, int]] = {}
    for row in conn.execute(used):
        entry = out.setdefault(key(row.consumer_type), {})
        rc = names.rc_name(conn, row.resource_class_id)
        entry[rc] = entry.get(rc, 0) + int(row.used)
    for row in conn.execute(counts):
        entry = out.setdefault(key(row.consumer_type), {})
        entry['consumer_count'] = entry.get('consumer_count', 0) + int(row.n)
    return out


def _generation_conflict(expected: Any, got: Any) -> errors.PlacementError:
    fmt = (lambda v: 'null' if v is None else v)  # noqa: E731
    return errors.conflict(
        f'consumer generation conflict - expected {fmt(expected)} but got {fmt(got)}',
        errors.CONCURRENT_UPDATE)


def _bump_consumer(conn: Connection, consumer: dict[str, Any], **values: Any) -> None:
    result = conn.execute(cons.update().where(cons.c.id == consumer['id'],
                                              cons.c.generation == consumer['generation'])
                          .values(generation=consumer['generation'] + 1,
                                  updated_at=utils.utcnow(), **values))
    if result.rowcount != 1:
        raise errors.conflict(
            f'consumer generation conflict - consumer {consumer["uuid"]} was updated '
            'concurrently', errors.CONCURRENT_UPDATE)


def _ensure_consumer(conn: Connection, entry: dict[str, Any]
                     ) -> tuple[dict[str, Any] | None, bool]:
    """(consumer, created now). A consumer created here already has the
    generation its first write gives it (1), as upstream's does after its
    create-then-increment."""
    consumer = get_consumer(conn, entry['consumer_uuid'])
    expected = entry.get('consumer_generation', UNSET)
    if expected is not UNSET:
        have = consumer['generation'] if consumer else None
        if have != expected:
            raise _generation_conflict(have, expected)
    if consumer is None and entry['allocations']:
        now = utils.utcnow()
        values = dict(uuid=entry['consumer_uuid'], project_id=entry['project_id'],
                      user_id=entry['user_id'], generation=1,
                      consumer_type=entry.get('consumer_type'), created_at=now,
                      updated_at=now)
        try:
            result = conn.execute(_ADD_CONSUMER, values)
        except sa.exc.IntegrityError:
            raise _generation_conflict(None, 'a concurrently created consumer') from None
        return dict(values, id=engines.inserted_id(result)), True
    return consumer, False


def replace(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """Replace the allocations of each consumer in `entries`.

    Each entry: consumer_uuid, project_id, user_id, allocations
    ({rp uuid: {rc: amount}}), optionally consumer_generation and consumer_type.
    """
    touched: dict[str, dict[str, Any]] = {}
    added: list[tuple[str, str, int]] = []
    for entry in entries:
        consumer, created = _ensure_consumer(conn, entry)
        cuuid = entry['consumer_uuid']
        if not created:  # a new consumer has nothing to replace
            old = conn.execute(sa.select(rp.c.uuid).select_from(
                alloc.join(rp, rp.c.id == alloc.c.resource_provider_id)).where(
                alloc.c.consumer_id == cuuid).distinct()).scalars().all()
            for rp_uuid in old:
                if rp_uuid not in touched:
                    touched[rp_uuid] = providers.require(conn, rp_uuid)
            conn.execute(_DROP_ALLOCATIONS, {'consumer': cuuid})
        rows = []
        for rp_uuid, resources in entry['allocations'].items():
            provider = touched.get(rp_uuid) or providers.get(conn, rp_uuid)
            if provider is None:
                raise errors.bad_request(
                    f'Unable to allocate inventory for consumer {cuuid}: '
                    f'No such resource provider {rp_uuid}.')
            touched[rp_uuid] = provider
            ids = names.ids_for(conn, 'rc', list(resources))
            for rc, amount in resources.items():
                if rc not in ids:
                    raise errors.bad_request(
                        f'Unable to allocate inventory for consumer {cuuid}: '
                        f'No such resource class {rc}.')
                rows.append({'resource_provider_id': provider['id'], 'consumer_id': cuuid,
                             'resource_class_id': ids[rc], 'used': amount,
                             'created_at': utils.utcnow()})
                added.append((rp_uuid, rc, amount))
        if rows:
            conn.execute(_ADD_ALLOCATIONS, rows)
        if consumer is not None and not created:
            if rows:
                values = {'project_id': entry['project_id'], 'user_id': entry['user_id']}
                if entry.get('consumer_type') is not None:
                    values['consumer_type'] = entry['consumer_type']
                _bump_consumer(conn, consumer, **values)
            else:
                conn.execute(cons.delete().where(cons.c.id == consumer['id']))
    _check_capacity(conn, touched, added)
    # As upstream: only providers that receive allocations are bumped (that
    # is what stops two writers both taking the last room); freeing needs
    # no guard, and bumping there made concurrent deletes conflict.
    for rp_uuid in dict.fromkeys(u for u, _, _ in added):
        providers.bump(conn, touched[rp_uuid])


def _check_capacity(conn: Connection, touched: dict[str, dict[str, Any]],
                    added: list[tuple[str, str, int]]) -> None:
    if not added:
        return
    ids = sorted({touched[u]['id'] for u, _, _ in added})
    invs, used = inventories.with_usages(conn, ids)
    for rp_uuid, rc, amount in added:
        pid = touched[rp_uuid]['id']
        record = invs[pid].get(rc)
        if record is None:
            raise errors.conflict(
                f"Unable to allocate inventory: Inventory for '{rc}' on resource provider "
                f"'{rp_uuid}' invalid.")
        if (amount < record['min_unit'] or amount > record['max_unit']
                or amount % record['step_size']):
            raise errors.conflict(
                f"Unable to allocate inventory: Unable to create allocation for '{rc}' on "
                f"resource provider '{rp_uuid}'. The requested amount would violate "
                'inventory constraints.')
        if used[pid].get(rc, 0) > inventories.capacity(record):
            raise errors.conflict(
                f"Unable to allocate inventory: Unable to create allocation for '{rc}' on "
                f"resource provider '{rp_uuid}'. The requested amount would exceed the "
                'capacity.')


def delete_consumer(conn: Connection, uuid: str) -> bool:
    """Remove all allocations of a consumer; False when it had none.

    Provider generations stay as they are, as in upstream placement: a
    delete cannot overcommit, so concurrent deletes must not conflict.
    """
    if conn.execute(_DROP_ALLOCATIONS, {'consumer': uuid}).rowcount == 0:
        return False
    conn.execute(_DROP_CONSUMER, {'uuid': uuid})
    return True
