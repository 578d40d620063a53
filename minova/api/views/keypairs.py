"""Keypair bodies per microversion: one table of (version, field, getter) rows."""
from __future__ import annotations

from typing import Any

import falcon

from minova.api.views.fields import Field, Fields

SUMMARY = 'summary'   # lists and create
FULL = 'full'         # GET /os-keypairs/{name}
_FULL = frozenset({FULL})

Row = dict[str, Any]


def _time(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if not isinstance(value, str) else value


FIELDS: Fields[Row] = Fields(
    Field('2.1', 'name', lambda kp: kp['name']),
    Field('2.1', 'public_key', lambda kp: kp['public_key']),
    Field('2.1', 'fingerprint', lambda kp: kp['fingerprint']),
    Field('2.2', 'type', lambda kp: kp.get('type') or 'ssh'),
    Field('2.1', 'user_id', lambda kp: kp['user_id'], _FULL),
    Field('2.1', 'deleted', lambda kp: False, _FULL),
    Field('2.1', 'created_at', lambda kp: _time(kp.get('created_at')), _FULL),
    Field('2.1', 'updated_at', lambda kp: _time(kp.get('updated_at')), _FULL),
    Field('2.1', 'deleted_at', lambda kp: None, _FULL),
    Field('2.1', 'id', lambda kp: kp['id'], _FULL),
)


def show(req: falcon.Request, kp: Row, shape: str = SUMMARY) -> dict[str, Any]:
    return FIELDS.render(req, kp, shape)
