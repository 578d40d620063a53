"""Block device mappings in a cell database (Nova's BlockDeviceMapping).

A mapping is a dict with the table's columns; connection_info is stored as
JSON text and read back as a dict (None when the volume is not connected).
Rows are soft-deleted (deleted = id) with their server or on detach.
"""
from __future__ import annotations

import json
from typing import Any, cast

import sqlalchemy as sa

from minova import exception, utils
from minova.db import engines
from minova.db.main_tables import block_device_mapping as bdm_t

BDM = dict[str, Any]

FIELDS = ('uuid', 'instance_uuid', 'source_type', 'destination_type', 'guest_format',
          'device_type', 'disk_bus', 'boot_index', 'device_name', 'delete_on_termination',
          'snapshot_id', 'volume_id', 'volume_size', 'image_id', 'no_device',
          'connection_info', 'tag', 'attachment_id', 'volume_type')


def _row(row: Any) -> BDM:
    out = dict(row)
    info = out.get('connection_info')
    out['connection_info'] = json.loads(info) if info else None
    out['delete_on_termination'] = bool(out.get('delete_on_termination'))
    for key in ('created_at', 'updated_at', 'deleted_at'):
        if out.get(key) is not None:
            out[key] = utils.isotime(out[key])
    return out


def _values(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k in FIELDS}
    if 'connection_info' in out and out['connection_info'] is not None \
            and not isinstance(out['connection_info'], str):
        out['connection_info'] = json.dumps(out['connection_info'])
    return out


def create(url: str, values: dict[str, Any]) -> BDM:
    """A new mapping (uuid generated unless given)."""
    now = utils.utcnow()
    vals = _values(values)
    vals.setdefault('uuid', utils.generate_uuid())
    vals.setdefault('delete_on_termination', False)
    with engines.writer(url) as conn:
        conn.execute(bdm_t.insert().values(created_at=now, updated_at=now, deleted=0,
                                           **vals))
        row = conn.execute(sa.select(bdm_t).where(bdm_t.c.uuid == vals['uuid'])
                           ).mappings().one()
    return _row(row)


def create_many(conn: sa.Connection, instance_uuid: str,
                mappings: list[dict[str, Any]]) -> None:
    """The boot request's mappings of a new server, in the caller's transaction."""
    now = utils.utcnow()
    for m in mappings:
        vals = _values(dict(m, instance_uuid=instance_uuid))
        vals.setdefault('uuid', utils.generate_uuid())
        conn.execute(bdm_t.insert().values(created_at=now, updated_at=now, deleted=0,
                                           **vals))


def get_by_instance(url: str, instance_uuid: str) -> list[BDM]:
    """A server's live mappings, by boot index (the root first), then id."""
    return get_by_instances(url, [instance_uuid]).get(instance_uuid, [])


# Built once (every detailed view of a server reads it; see instances._GET_LIVE).
_BY_INSTANCES = (sa.select(bdm_t)
                 .where(bdm_t.c.instance_uuid.in_(sa.bindparam('uuids', expanding=True)),
                        bdm_t.c.deleted == 0)
                 .order_by(bdm_t.c.id))


def get_by_instances(url: str, instance_uuids: list[str]) -> dict[str, list[BDM]]:
    """The live mappings of many servers (the server list's volumes_attached)."""
    if not instance_uuids:
        return {}
    with engines.reader(url) as conn:
        rows = conn.execute(_BY_INSTANCES, {'uuids': list(instance_uuids)}).mappings().all()
    out: dict[str, list[BDM]] = {}
    for r in rows:
        out.setdefault(r['instance_uuid'], []).append(_row(r))
    return out


def get_by_volume(url: str, instance_uuid: str, volume_id: str) -> BDM:
    """The server's live mapping of a volume; VolumeBDMNotFound if it has none."""
    with engines.reader(url) as conn:
        row = conn.execute(
            sa.select(bdm_t).where(bdm_t.c.instance_uuid == instance_uuid,
                                   bdm_t.c.volume_id == volume_id, bdm_t.c.deleted == 0)
            .order_by(bdm_t.c.id.desc())).mappings().first()
    if row is None:
        raise exception.VolumeBDMNotFound(volume_id=volume_id)
    return _row(row)


def volume_in_use(url: str, volume_id: str) -> bool:
    """Whether any live server of this cell maps the volume."""
    with engines.reader(url) as conn:
        return conn.execute(
            sa.select(bdm_t.c.id).where(bdm_t.c.volume_id == volume_id,
                                        bdm_t.c.deleted == 0).limit(1)).first() is not None


def update(url: str, bdm_uuid: str, values: dict[str, Any]) -> BDM:
    with engines.writer(url) as conn:
        conn.execute(bdm_t.update().where(bdm_t.c.uuid == bdm_uuid, bdm_t.c.deleted == 0)
                     .values(updated_at=utils.utcnow(), **_values(values)))
        row = conn.execute(sa.select(bdm_t).where(bdm_t.c.uuid == bdm_uuid)
                           ).mappings().first()
    if row is None:
        raise exception.VolumeBDMNotFound(volume_id=bdm_uuid)
    return _row(row)


def destroy(url: str, bdm_uuid: str) -> None:
    now = utils.utcnow()
    with engines.writer(url) as conn:
        conn.execute(bdm_t.update().where(bdm_t.c.uuid == bdm_uuid, bdm_t.c.deleted == 0)
                     .values(deleted=bdm_t.c.id, deleted_at=now, updated_at=now))


def destroy_for_instance(conn: sa.Connection, instance_uuid: str) -> None:
    """A deleted server's mappings go with it (in its delete's transaction)."""
    now = utils.utcnow()
    conn.execute(bdm_t.update().where(bdm_t.c.instance_uuid == instance_uuid,
                                      bdm_t.c.deleted == 0)
                 .values(deleted=bdm_t.c.id, deleted_at=now, updated_at=now))


def volumes_attached(mappings: list[BDM]) -> list[BDM]:
    """The mappings that are volumes (what volumes_attached lists)."""
    return cast(list[BDM], [m for m in mappings if m.get('volume_id')
                            and m.get('destination_type') == 'volume'])
