"""Server group bodies per microversion: one table of (version, field, getter) rows.

Before 2.64 a group has a one-item `policies` list (and an empty `metadata`);
from 2.64 one `policy` and its `rules`.
"""
from __future__ import annotations

from typing import Any

import falcon

from minova.api.views.fields import Field, Fields

Row = dict[str, Any]


def _rules(group: Row) -> dict[str, Any]:
    rules = dict(group['rules'] or {})
    if 'max_server_per_host' in rules:
        rules['max_server_per_host'] = int(rules['max_server_per_host'])
    return rules


FIELDS: Fields[Row] = Fields(
    Field('2.1', 'id', lambda g: g['uuid']),
    Field('2.1', 'name', lambda g: g['name']),
    Field('2.1', 'members', lambda g: list(g['members'])),
    Field('2.1', 'policies', lambda g: [g['policy']], until='2.64'),
    Field('2.1', 'metadata', lambda g: {}, until='2.64'),
    Field('2.64', 'policy', lambda g: g['policy']),
    Field('2.64', 'rules', _rules),
    Field('2.13', 'project_id', lambda g: g['project_id']),
    Field('2.13', 'user_id', lambda g: g['user_id']),
)


def show(req: falcon.Request, group: Row) -> dict[str, Any]:
    return FIELDS.render(req, group)
