"""POST /servers/{id}/action: shelve, shelveOffload, unshelve (Nova's os-shelve).

All three answer 202 with no body and finish on the compute host (unshelve of
a SHELVED_OFFLOADED server through conductor and the scheduler). unshelve
takes `availability_zone` from 2.77 and `host` (admin) and a null zone (the
server unpinned) from 2.91. States: minova/compute/shelve_api.py, docs/api.md.
"""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util, versioned
from minova.api.schemas import types
from minova.db.instances import Instance
from minova.policies import shelve as pol

SchemaTable = versioned.Table[dict[str, Any] | None]


def _unshelve_schema(body: dict[str, Any]) -> dict[str, Any]:
    return {'type': 'object', 'properties': {'unshelve': body}, 'required': ['unshelve'],
            'additionalProperties': False}


# 2.77: null, or an object that names a zone (not {}).
UNSHELVE_V277 = _unshelve_schema({
    'type': ['object', 'null'], 'properties': {'availability_zone': types.name},
    'required': ['availability_zone'], 'additionalProperties': False})
# 2.91: a zone (null: unpinned), a host, both, or null.
UNSHELVE_V291 = _unshelve_schema({
    'type': ['object', 'null'],
    'properties': {'availability_zone': {'type': ['string', 'null']},
                   'host': {'type': 'string'}},
    'additionalProperties': False})
UNSHELVE_TABLE: SchemaTable = [('2.1', _unshelve_schema({})), ('2.77', UNSHELVE_V277),
                               ('2.91', UNSHELVE_V291)]

# What the unshelve body says from each microversion: (since, field, argument
# of the compute API's unshelve).
UNSHELVE_FIELDS = [('2.77', 'availability_zone', 'new_az'), ('2.91', 'host', 'host')]


def _target(instance: Instance) -> dict[str, Any]:
    return {'project_id': instance['project_id'], 'user_id': instance.get('user_id')}


def _unshelve(req: falcon.Request, resp: falcon.Response, instance: Instance,
              body: Any) -> None:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.UNSHELVE, {'project_id': instance['project_id']})
    version = versioned.version(req)
    kwargs: dict[str, Any] = {}
    if isinstance(body, dict):
        for since, field, argument in UNSHELVE_FIELDS:
            if version >= versioned.parse(since) and field in body:
                kwargs[argument] = body[field]
    try:
        util.compute_api().unshelve(
            ctx, instance, authorize_host=lambda: policy.authorize(
                ctx, pol.UNSHELVE_TO_HOST, _target(instance)), **kwargs)
    except exception.ComputeHostNotFound as e:
        raise errors.bad_request(e.message) from None
    resp.status = 202


# shelve and shelveOffload take no body: they are server_actions' plain
# state actions (policy, then the compute API method).
ACTIONS: dict[str, tuple[SchemaTable, Any]] = {
    'unshelve': (UNSHELVE_TABLE, _unshelve),
}
