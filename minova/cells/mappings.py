"""Cells v2 mappings in the API DB: cells, hosts and instances (the queries).

Readers of cell mappings go through minova.cells.lookup, which caches them.
"""
from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from typing import Any, NotRequired, TypedDict, cast

import sqlalchemy as sa

from minova import exception, utils
from minova.db import engines
from minova.db.api_tables import cell_mappings, host_mappings, instance_mappings

CELL0_UUID = '00000000-0000-0000-0000-000000000000'


class CellMapping(TypedDict):
    """A cell: where its database and message bus are (cell_mappings)."""
    id: int
    uuid: str
    name: str | None
    transport_url: str
    database_connection: str
    disabled: bool
    created_at: datetime.datetime | None
    updated_at: NotRequired[datetime.datetime | None]   # not in cell_create's answer


def _url() -> str:
    return engines.api_url()


# ---- cell mappings ---------------------------------------------------------

def cell_create(name: str | None, transport_url: str, database_connection: str,
                uuid: str | None = None, disabled: bool = False) -> CellMapping:
    values: dict[str, Any] = dict(
        uuid=uuid or utils.generate_uuid(), name=name, transport_url=transport_url,
        database_connection=database_connection, disabled=disabled, created_at=utils.utcnow())
    with engines.writer(_url()) as conn:
        values['id'] = engines.inserted_id(
            conn.execute(cell_mappings.insert().values(**values)))
    return cast(CellMapping, values)


def cell_list() -> list[CellMapping]:
    with engines.reader(_url()) as conn:
        rows = conn.execute(sa.select(cell_mappings).order_by(cell_mappings.c.id)).mappings()
        return [cast(CellMapping, dict(r)) for r in rows]


def _cell_where(column: sa.Column, value: Any) -> CellMapping:
    with engines.reader(_url()) as conn:
        row = conn.execute(sa.select(cell_mappings).where(column == value)).mappings().first()
    if row is None:
        raise exception.CellMappingNotFound(uuid=value)
    return cast(CellMapping, dict(row))


def cell_get(uuid: str) -> CellMapping:
    return _cell_where(cell_mappings.c.uuid, uuid)


def cell_get_by_id(cell_id: int) -> CellMapping:
    return _cell_where(cell_mappings.c.id, cell_id)


def cell_update(uuid: str, **values: Any) -> None:
    values['updated_at'] = utils.utcnow()
    with engines.writer(_url()) as conn:
        conn.execute(cell_mappings.update().where(cell_mappings.c.uuid == uuid).values(**values))


def is_cell0(cell: CellMapping) -> bool:
    return cell['uuid'] == CELL0_UUID


# ---- host mappings ---------------------------------------------------------

def host_mapping_get_all(cell_id: int | None = None) -> list[dict[str, Any]]:
    q = sa.select(host_mappings)
    if cell_id is not None:
        q = q.where(host_mappings.c.cell_id == cell_id)
    with engines.reader(_url()) as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def host_mapping_get(host: str) -> dict[str, Any]:
    with engines.reader(_url()) as conn:
        row = conn.execute(sa.select(host_mappings).where(
            host_mappings.c.host == host)).mappings().first()
    if row is None:
        raise exception.HostMappingNotFound(name=host)
    return dict(row)


def host_mapping_create(host: str, cell_id: int) -> bool:
    """Map `host` to a cell; False when it was already mapped (harmless)."""
    try:
        with engines.writer(_url()) as conn:
            conn.execute(host_mappings.insert().values(
                host=host, cell_id=cell_id, created_at=utils.utcnow()))
        return True
    except sa.exc.IntegrityError:
        return False


def host_mapping_delete(host: str) -> None:
    with engines.writer(_url()) as conn:
        conn.execute(host_mappings.delete().where(host_mappings.c.host == host))


# ---- instance mappings -----------------------------------------------------

def instance_mapping_create(conn: sa.Connection, instance_uuid: str, project_id: str,
                            user_id: str | None, cell_id: int | None = None) -> None:
    conn.execute(instance_mappings.insert().values(
        instance_uuid=instance_uuid, project_id=project_id, user_id=user_id,
        cell_id=cell_id, queued_for_delete=False, created_at=utils.utcnow()))


# Built once: read by every GET of a server still waiting for its cell.
_MAPPING_GET = (sa.select(instance_mappings, cell_mappings.c.uuid.label('cell_uuid'))
                .select_from(instance_mappings.outerjoin(cell_mappings))
                .where(instance_mappings.c.instance_uuid == sa.bindparam('uuid')))


def instance_mapping_get(instance_uuid: str) -> dict[str, Any]:
    """The mapping with its cell (key 'cell', None until scheduled)."""
    with engines.reader(_url()) as conn:
        row = conn.execute(_MAPPING_GET, {'uuid': instance_uuid}).mappings().first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return dict(row)


class _CellIds:
    """instance uuid -> cell id, for instances already in a cell, at most
    `size` of them (least recently used out). A mapping gets its cell once
    (from none: scheduled, or buried in cell0) and keeps it, so a remembered
    cell is never stale; a server deleted since is simply not found there."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, uuid: str) -> int | None:
        with self._lock:
            cell_id = self._ids.get(uuid)
            if cell_id is not None:
                self._ids.move_to_end(uuid)
            return cell_id

    def put(self, uuid: str, cell_id: int) -> None:
        with self._lock:
            self._ids[uuid] = cell_id
            self._ids.move_to_end(uuid)
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()


# A GET /servers/{id} (polled every few ms by clients waiting for ACTIVE) then
# reads the server's cell DB only, not the API DB first. 4096 entries: < 1 MiB.
CELL_IDS = _CellIds(4096)


def instance_cell_id(instance_uuid: str) -> int | None:
    """The instance's cell id (None while it waits for one); InstanceNotFound
    without a mapping."""
    cell_id = CELL_IDS.get(instance_uuid)
    if cell_id is None:
        cell_id = instance_mapping_get(instance_uuid)['cell_id']
        if cell_id is not None:
            CELL_IDS.put(instance_uuid, cell_id)
    return cell_id


def instance_mapping_set_cell(instance_uuid: str, cell_id: int) -> None:
    with engines.writer(_url()) as conn:
        conn.execute(instance_mappings.update()
                     .where(instance_mappings.c.instance_uuid == instance_uuid)
                     .values(cell_id=cell_id, updated_at=utils.utcnow()))


def instance_mapping_delete(instance_uuid: str) -> None:
    with engines.writer(_url()) as conn:
        conn.execute(instance_mappings.delete().where(
            instance_mappings.c.instance_uuid == instance_uuid))


def instance_mapping_queue_for_delete(instance_uuid: str, queued: bool = True) -> None:
    """Mark the mapping queued for delete (False: no longer, a restored server)."""
    with engines.writer(_url()) as conn:
        conn.execute(instance_mappings.update()
                     .where(instance_mappings.c.instance_uuid == instance_uuid)
                     .values(queued_for_delete=queued, updated_at=utils.utcnow()))
