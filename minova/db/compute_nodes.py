"""Compute nodes (one per hypervisor node) in a cell DB."""
from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import TextClause

from minova import exception, utils
from minova.db import engines
from minova.db.main_tables import compute_nodes, services


@engines.retry_on_disconnect
def create_or_update(url: str, host: str, hypervisor_hostname: str,
                     values: dict[str, Any]) -> dict[str, Any]:
    """Upsert the node of (host, hypervisor_hostname); its uuid never changes."""
    q = sa.select(compute_nodes).where(
        compute_nodes.c.host == host,
        compute_nodes.c.hypervisor_hostname == hypervisor_hostname,
        compute_nodes.c.deleted == 0)
    now = utils.utcnow()
    values = {k: v for k, v in values.items() if k in compute_nodes.c and k != 'id'}
    with engines.writer(url) as conn:
        row = conn.execute(q).mappings().first()
        if row is None:
            values.setdefault('uuid', utils.generate_uuid())
            conn.execute(compute_nodes.insert().values(
                host=host, hypervisor_hostname=hypervisor_hostname, mapped=0, deleted=0,
                created_at=now, updated_at=now, **values))
        else:
            values.pop('uuid', None)
            values.pop('mapped', None)
            conn.execute(compute_nodes.update().where(compute_nodes.c.id == row['id'])
                         .values(updated_at=now, **values))
        return dict(conn.execute(q).mappings().one())


@engines.retry_on_disconnect
def get_all(url: str, host: str | None = None, uuids: list[str] | None = None,
            unmapped_only: bool = False) -> list[dict[str, Any]]:
    q = sa.select(compute_nodes).where(compute_nodes.c.deleted == 0).order_by(
        compute_nodes.c.id)
    if host is not None:
        q = q.where(compute_nodes.c.host == host)
    if uuids is not None:
        q = q.where(compute_nodes.c.uuid.in_(uuids))
    if unmapped_only:
        q = q.where(compute_nodes.c.mapped == 0)
    with engines.reader(url) as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


_UUID = re.compile(r'^[0-9a-fA-F-]{32,36}$')

# What the scheduler's host states read of a node and of its service.
_SCHED_NODE = ('uuid', 'host', 'hypervisor_hostname', 'running_vms', 'hypervisor_type',
               'cpu_info')
_SCHED_SERVICE = ('id', 'host', 'disabled', 'forced_down', 'last_seen_up', 'updated_at',
                  'created_at')
_SVC_UPDATED = _SCHED_SERVICE.index('updated_at')


@engines.retry_on_disconnect
def get_for_scheduling(url: str, uuids: list[str]) -> list[dict[str, Any]]:
    """The nodes of these uuids, with only what the scheduler reads of each
    and of its compute service (key 'service', None without one).

    Asked for every candidate of every boot: at 1,000 hosts, the whole rows
    and one bound parameter per uuid cost more than the query itself, so the
    uuids (checked to be uuids) are written into the SQL.
    """
    if not uuids:
        return []
    cols = [compute_nodes.c[n] for n in _SCHED_NODE] + \
        [services.c[n].label('svc__' + n) for n in _SCHED_SERVICE]
    q = (sa.select(*cols)
         .select_from(compute_nodes.outerjoin(
             services, sa.and_(services.c.host == compute_nodes.c.host,
                               services.c.binary == 'minova-compute',
                               services.c.deleted == 0)))
         .where(compute_nodes.c.deleted == 0).order_by(compute_nodes.c.id))
    if all(_UUID.match(u) for u in uuids):
        listed = ','.join(f"'{u}'" for u in uuids)
        q = q.where(_Listed(f'compute_nodes.uuid IN ({listed})'))
    else:   # not what placement answers; bound as usual
        q = q.where(compute_nodes.c.uuid.in_(uuids))
    n = len(_SCHED_NODE)
    out = []
    with engines.reader(url) as conn:
        for row in conn.execute(q).all():
            node = dict(zip(_SCHED_NODE, row[:n], strict=True))
            svc = row[n:]
            node['service'] = dict(zip(_SCHED_SERVICE, svc, strict=True)) \
                if svc[0] is not None else None
            out.append(node)
    return out


def _changed_statements() -> tuple[sa.Select, sa.Select]:
    """(every live node, the nodes written after :since), each with what the
    scheduler reads of it and of its compute service."""
    with_service = compute_nodes.outerjoin(
        services, sa.and_(services.c.host == compute_nodes.c.host,
                          services.c.binary == 'minova-compute',
                          services.c.deleted == 0))
    cols = [compute_nodes.c[n] for n in _SCHED_NODE] + \
        [compute_nodes.c.deleted, compute_nodes.c.updated_at, compute_nodes.c.deleted_at] + \
        [services.c[n].label('svc__' + n) for n in _SCHED_SERVICE]
    base = sa.select(*cols).select_from(with_service).order_by(compute_nodes.c.id)
    since = sa.bindparam('since', type_=compute_nodes.c.updated_at.type)
    # Each part walks an updated_at index (migration 010): an OR over both
    # tables of the join would read every node of the cell per request.
    # Every writer stamps updated_at, a soft delete included.
    written = sa.union(
        sa.select(compute_nodes.c.id).where(compute_nodes.c.updated_at > since),
        sa.select(compute_nodes.c.id).select_from(compute_nodes.join(
            services, sa.and_(services.c.host == compute_nodes.c.host,
                              services.c.binary == 'minova-compute',
                              services.c.deleted == 0)))
        .where(services.c.updated_at > since))
    return (base.where(compute_nodes.c.deleted == 0),
            base.where(compute_nodes.c.id.in_(written)))


_CHANGED = _changed_statements()


@engines.retry_on_disconnect
def changed_for_scheduling(url: str, since: datetime.datetime | None,
                           known: Callable[[str, tuple[Any, ...]], bool] | None = None
                           ) -> list[dict[str, Any]]:
    """The nodes (deleted ones too, key 'deleted') whose row or whose compute
    service's row was written after `since` (every live node when None), with
    what get_for_scheduling reads and key 'stamp': the latest of the node's
    and its service's updated_at/deleted_at.

    The scheduler's host cache (host_cache.py) asks it on every request: at
    1,000 hosts it returns the few rows that heartbeats and usage flushes
    touched since the previous request, found through the updated_at indexes.
    Key 'version': (the node's updated_at, its deleted_at, its service's
    updated_at), which every write of either row changes; known(uuid,
    version) true: the caller has that node as of that version already
    (read again within its overlap), and the row is left out.
    """
    every, written = _CHANGED
    n = len(_SCHED_NODE)
    out = []
    with engines.reader(url) as conn:
        rows = conn.execute(every).all() if since is None else \
            conn.execute(written, {'since': since}).all()
    for row in rows:
        deleted, updated, deleted_at = row[n:n + 3]
        svc = row[n + 3:]
        version = (updated, deleted_at, svc[_SVC_UPDATED])
        if known is not None and not deleted and known(row[0], version):
            continue
        stamps = [t for t in version if isinstance(t, datetime.datetime)]
        stamp = max(stamps) if stamps else None
        node = dict(zip(_SCHED_NODE, row[:n], strict=True))
        node['deleted'] = bool(deleted)
        node['service'] = dict(zip(_SCHED_SERVICE, svc, strict=True)) \
            if svc[0] is not None else None
        node['stamp'] = stamp
        node['version'] = version
        out.append(node)
    return out


class _Listed(TextClause):
    inherit_cache = False   # each list is new: statements with one are not cached


@engines.retry_on_disconnect
def get_by_id(url: str, node_id: int | str) -> dict[str, Any]:
    col = compute_nodes.c.uuid if isinstance(node_id, str) else compute_nodes.c.id
    with engines.reader(url) as conn:
        row = conn.execute(sa.select(compute_nodes).where(
            col == node_id, compute_nodes.c.deleted == 0)).mappings().first()
    if row is None:
        raise exception.ComputeHostNotFound(host=node_id)
    return dict(row)


@engines.retry_on_disconnect
def mark_mapped(url: str, node_ids: list[int]) -> None:
    with engines.writer(url) as conn:
        conn.execute(compute_nodes.update().where(compute_nodes.c.id.in_(node_ids))
                     .values(mapped=1))


@engines.retry_on_disconnect
def destroy_by_host(url: str, host: str) -> None:
    now = utils.utcnow()
    with engines.writer(url) as conn:
        conn.execute(compute_nodes.update().where(compute_nodes.c.host == host,
                                                  compute_nodes.c.deleted == 0)
                     .values(deleted=compute_nodes.c.id, deleted_at=now, updated_at=now))
