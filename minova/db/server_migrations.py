"""Migration records (server moves) in a cell DB: the rows behind
GET /os-migrations. Every function takes the cell's DB URL first.

Records are plain dicts of the `migrations` columns. Moves (resize, cold and
live migration, evacuation) write them; listing filters as Nova's
migration_get_all_by_filters does.
"""
from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from oslo_utils import strutils

from minova import utils
from minova.db import engines, paging
from minova.db.main_tables import migrations

SORT_KEYS = ['created_at', 'id']
SORT_DIRS = ['desc', 'desc']


def _filtered(q: sa.Select, filters: dict[str, Any]) -> sa.Select:
    c = migrations.c
    q = q.where(c.deleted == 0)
    for key, column in (('uuid', c.uuid), ('status', c.status)):
        if key in filters:
            value = filters[key]
            q = q.where(column.in_([value] if isinstance(value, str) else list(value)))
    if 'changes-since' in filters:
        q = q.where(c.updated_at >= utils.parse_time(filters['changes-since']))
    if 'changes-before' in filters:
        q = q.where(c.updated_at <= utils.parse_time(filters['changes-before']))
    if 'host' in filters:
        q = q.where(sa.or_(c.source_compute == filters['host'],
                           c.dest_compute == filters['host']))
    elif 'source_compute' in filters:
        q = q.where(c.source_compute == filters['source_compute'])
    if 'node' in filters:
        q = q.where(sa.or_(c.source_node == filters['node'], c.dest_node == filters['node']))
    if 'hidden' in filters:
        q = q.where(c.hidden == strutils.bool_from_string(filters['hidden']))
    for key in ('migration_type', 'instance_uuid', 'user_id', 'project_id'):
        if key in filters:
            q = q.where(c[key] == filters[key])
    return q


@engines.retry_on_disconnect
def get_all(url: str, filters: dict[str, Any], limit: int | None = None,
            marker: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Records matching the filters, newest first (created_at, id), after `marker`."""
    q = paging.paginate(_filtered(sa.select(migrations), filters), migrations, limit,
                        SORT_KEYS, SORT_DIRS, marker)
    with engines.reader(url) as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


@engines.retry_on_disconnect
def get_by_uuid(url: str, uuid: str) -> dict[str, Any] | None:
    with engines.reader(url) as conn:
        row = conn.execute(sa.select(migrations).where(
            migrations.c.uuid == uuid, migrations.c.deleted == 0)).mappings().first()
    return dict(row) if row else None


@engines.retry_on_disconnect
def create(url: str, values: dict[str, Any]) -> dict[str, Any]:
    """Record a migration (moves, and tests); uuid and created_at default."""
    now = utils.utcnow()
    values = dict({'uuid': utils.generate_uuid(), 'created_at': now, 'deleted': 0,
                   'hidden': False, 'cross_cell_move': False}, **values)
    with engines.writer(url) as conn:
        conn.execute(migrations.insert().values(**values))
        row = conn.execute(sa.select(migrations).where(
            migrations.c.uuid == values['uuid'])).mappings().one()
    return dict(row)


@engines.retry_on_disconnect
def update(url: str, uuid: str, values: dict[str, Any]) -> dict[str, Any]:
    """Change a migration record (its status as a move goes on); updated_at is now."""
    values = dict(values, updated_at=utils.utcnow())
    with engines.writer(url) as conn:
        conn.execute(migrations.update().where(migrations.c.uuid == uuid).values(**values))
        row = conn.execute(sa.select(migrations).where(
            migrations.c.uuid == uuid)).mappings().one()
    return dict(row)


@engines.retry_on_disconnect
def get_by_instance_and_status(url: str, instance_uuid: str, status: str
                               ) -> dict[str, Any] | None:
    """The newest migration of a server in status (e.g. 'finished': a resize
    awaiting confirmation), or None."""
    c = migrations.c
    with engines.reader(url) as conn:
        row = conn.execute(sa.select(migrations).where(
            c.instance_uuid == instance_uuid, c.status == status, c.deleted == 0)
            .order_by(c.created_at.desc(), c.id.desc())).mappings().first()
    return dict(row) if row else None


@engines.retry_on_disconnect
def get_unconfirmed_by_dest_compute(url: str, window: int, dest_compute: str
                                    ) -> list[dict[str, Any]]:
    """Finished resizes to dest_compute not confirmed for `window` seconds."""
    c = migrations.c
    limit = utils.utcnow() - datetime.timedelta(seconds=window)
    with engines.reader(url) as conn:
        rows = conn.execute(sa.select(migrations).where(
            c.status == 'finished', c.dest_compute == dest_compute, c.deleted == 0,
            sa.func.coalesce(c.updated_at, c.created_at) <= limit)).mappings()
        return [dict(r) for r in rows]


# A live migration still under way (Nova's in-progress statuses).
LIVE_IN_PROGRESS = ('queued', 'preparing', 'running', 'post-migrating')


@engines.retry_on_disconnect
def get_by_id_and_instance(url: str, migration_id: int, instance_uuid: str
                           ) -> dict[str, Any] | None:
    c = migrations.c
    with engines.reader(url) as conn:
        row = conn.execute(sa.select(migrations).where(
            c.id == migration_id, c.instance_uuid == instance_uuid,
            c.deleted == 0)).mappings().first()
    return dict(row) if row else None
