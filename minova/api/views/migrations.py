"""Migration bodies per microversion: one table of (version, field, getter) rows.

Host fields are null for a caller without the index:host policy; from 2.23 an
in-progress live migration links to its server's migration resource.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon

from minova.api import util
from minova.api.views.fields import OMIT, Field, Fields

_HOST_FIELDS = ('source_compute', 'source_node', 'dest_compute', 'dest_node', 'dest_host')
_LIVE_IN_PROGRESS = ('queued', 'preparing', 'running', 'post-migrating')


@dataclass
class Render:
    req: falcon.Request
    migration: dict[str, Any]
    show_host: bool


def _time(value: Any) -> str | None:
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f') if value is not None else None


def _plain(name: str, since: str = '2.1') -> Field[Render]:
    if name in _HOST_FIELDS:
        return Field(since, name, lambda r: r.migration.get(name) if r.show_host else None)
    return Field(since, name, lambda r: r.migration.get(name))


def _links(r: Render) -> Any:
    m = r.migration
    if m.get('migration_type') != 'live-migration' or m.get('status') not in _LIVE_IN_PROGRESS:
        return OMIT
    return util.links(r.req, f"servers/{m['instance_uuid']}/migrations", str(m['id']))


FIELDS: Fields[Render] = Fields(
    *(_plain(name) for name in ('id', 'instance_uuid', 'status', 'source_compute',
                                'source_node', 'dest_compute', 'dest_node', 'dest_host',
                                'old_instance_type_id', 'new_instance_type_id')),
    Field('2.1', 'created_at', lambda r: _time(r.migration.get('created_at'))),
    Field('2.1', 'updated_at', lambda r: _time(r.migration.get('updated_at'))),
    _plain('migration_type', '2.23'),
    _plain('uuid', '2.59'),
    _plain('user_id', '2.80'),
    _plain('project_id', '2.80'),
    Field('2.23', 'links', _links),
)


def show(req: falcon.Request, migration: dict[str, Any], show_host: bool) -> dict[str, Any]:
    return FIELDS.render(req, Render(req, migration, show_host))
