"""Service bodies per microversion: one table of (version, field, getter) rows."""
from __future__ import annotations

from typing import Any

import falcon

from minova import utils
from minova.api import host_status
from minova.api.views.fields import Field, Fields
from minova.db import services as services_db

Row = dict[str, Any]


def timestamp(value: Any) -> str | None:
    """A service time as Nova shows it (microseconds, no zone)."""
    value = utils.parse_time(value) if isinstance(value, str) else value
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f') if value else None


FIELDS: Fields[Row] = Fields(
    Field('2.1', 'id', lambda svc: svc['id'], until='2.53'),
    Field('2.53', 'id', lambda svc: svc['uuid']),
    Field('2.1', 'binary', lambda svc: host_status.api_binary(svc['binary'])),
    Field('2.1', 'host', lambda svc: svc['host']),
    Field('2.1', 'zone', lambda svc: host_status.zone(svc['binary'], svc['host'])),
    Field('2.1', 'status', lambda svc: 'disabled' if svc['disabled'] else 'enabled'),
    Field('2.1', 'state', lambda svc: 'up' if services_db.is_up(svc) else 'down'),
    Field('2.1', 'updated_at',
          lambda svc: timestamp(svc.get('last_seen_up') or svc.get('updated_at'))),
    Field('2.1', 'disabled_reason', lambda svc: svc.get('disabled_reason')),
    Field('2.11', 'forced_down', lambda svc: bool(svc.get('forced_down'))),
)


def show(req: falcon.Request, svc: Row) -> dict[str, Any]:
    return FIELDS.render(req, svc)
