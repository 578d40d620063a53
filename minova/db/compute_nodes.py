"""Compute nodes (one per hypervisor node) in a cell DB."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

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


@engines.retry_on_disconnect
def get_all_with_service(url: str, uuids: list[str] | None = None) -> list[dict[str, Any]]:
    """Nodes joined with their compute service row (key 'service')."""
    svc_cols = [c.label('svc__' + c.name) for c in services.c]
    q = (sa.select(compute_nodes, *svc_cols)
         .select_from(compute_nodes.outerjoin(
             services, sa.and_(services.c.host == compute_nodes.c.host,
                               services.c.binary == 'minova-compute',
                               services.c.deleted == 0)))
         .where(compute_nodes.c.deleted == 0).order_by(compute_nodes.c.id))
    if uuids is not None:
        q = q.where(compute_nodes.c.uuid.in_(uuids))
    out = []
    with engines.reader(url) as conn:
        for r in conn.execute(q).mappings():
            node = {k: v for k, v in r.items() if not k.startswith('svc__')}
            svc = {c.name: r['svc__' + c.name] for c in services.c}
            node['service'] = svc if svc['id'] is not None else None
            out.append(node)
    return out


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
                     .values(deleted=compute_nodes.c.id, deleted_at=now))
