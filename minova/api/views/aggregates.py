"""Aggregate bodies per microversion: one table of (version, field, getter) rows."""
from __future__ import annotations

from typing import Any

import falcon

from minova.api.views.fields import Field, Fields

FULL = 'full'
BRIEF = 'brief'   # create answers without hosts and metadata, as Nova does
_FULL = frozenset({FULL})

Row = dict[str, Any]


def _time(value: Any) -> str | None:
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f') if value else None


FIELDS: Fields[Row] = Fields(
    Field('2.1', 'id', lambda a: a['id']),
    Field('2.1', 'name', lambda a: a['name']),
    Field('2.1', 'availability_zone', lambda a: a['availability_zone']),
    Field('2.1', 'created_at', lambda a: _time(a['created_at'])),
    Field('2.1', 'updated_at', lambda a: _time(a['updated_at'])),
    Field('2.1', 'deleted_at', lambda a: None),
    Field('2.1', 'deleted', lambda a: False),
    Field('2.1', 'hosts', lambda a: list(a['hosts']), _FULL),
    Field('2.1', 'metadata', lambda a: dict(a['metadata']), _FULL),
    Field('2.41', 'uuid', lambda a: a['uuid']),
)


def show(req: falcon.Request, agg: Row, shape: str = FULL) -> dict[str, Any]:
    return FIELDS.render(req, agg, shape)
