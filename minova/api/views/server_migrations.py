"""A server's in-progress live migration (GET /servers/{id}/migrations[/{id}]):
one table of (version, field, getter) rows. Host fields are null for a caller
without the index:host policy (the list; show is admin only)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon

from minova.api.views.fields import Field, Fields
from minova.api.views.migrations import _time

_HOSTS = ('source_compute', 'source_node', 'dest_compute', 'dest_node', 'dest_host')


@dataclass
class Render:
    migration: dict[str, Any]
    show_host: bool


def _plain(name: str, column: str | None = None, since: str = '2.23') -> Field[Render]:
    key = column or name
    if name in _HOSTS:
        return Field(since, name, lambda r: r.migration.get(key) if r.show_host else None)
    return Field(since, name, lambda r: r.migration.get(key))


FIELDS: Fields[Render] = Fields(
    Field('2.23', 'created_at', lambda r: _time(r.migration.get('created_at'))),
    *(_plain(name) for name in ('dest_compute', 'dest_host', 'dest_node')),
    *(_plain(f'{kind}_{what}_bytes', f'{kind}_{what}')
      for kind in ('disk', 'memory') for what in ('processed', 'remaining', 'total')),
    _plain('id'),
    _plain('server_uuid', 'instance_uuid'),
    *(_plain(name) for name in ('source_compute', 'source_node', 'status')),
    Field('2.23', 'updated_at', lambda r: _time(r.migration.get('updated_at'))),
    _plain('uuid', since='2.59'),
    _plain('user_id', since='2.80'),
    _plain('project_id', since='2.80'),
)


def show(req: falcon.Request, migration: dict[str, Any], show_host: bool = True
         ) -> dict[str, Any]:
    return FIELDS.render(req, Render(migration, show_host))
