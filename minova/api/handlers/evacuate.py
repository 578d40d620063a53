"""The `evacuate` server action (admin): rebuild a server of a dead host on
another one, as Nova's os-evacuate.

Per microversion: `onSharedStorage` is required until 2.14 (and with it true
no adminPass may be given); the answer carries `adminPass` until 2.14 when
[api] enable_instance_password, nothing from 2.14; 2.29 adds `force` (a
named host without the scheduler's checks; before 2.29 a named host is
always forced), 2.68 takes it away again; from 2.95 the evacuated server
ends stopped (one in ERROR ends ACTIVE), before it keeps ACTIVE or STOPPED.
"""
from __future__ import annotations

import copy
from typing import Any

import falcon

from minova import states
from minova.api import errors, policy, server_boot, util, versioned
from minova.api.schemas import types
from minova.conf import CONF
from minova.db.instances import Instance
from minova.policies import server_actions as pol

EVACUATE_SCHEMA: dict[str, Any] = {
    'type': 'object',
    'properties': {'evacuate': {
        'type': 'object',
        'properties': {'host': types.fqdn, 'onSharedStorage': types.boolean,
                       'adminPass': {'type': 'string'}},
        'required': ['onSharedStorage'], 'additionalProperties': False}},
    'required': ['evacuate'], 'additionalProperties': False,
}
EVACUATE_V214_SCHEMA = copy.deepcopy(EVACUATE_SCHEMA)
del EVACUATE_V214_SCHEMA['properties']['evacuate']['properties']['onSharedStorage']
del EVACUATE_V214_SCHEMA['properties']['evacuate']['required']
EVACUATE_V229_SCHEMA = copy.deepcopy(EVACUATE_V214_SCHEMA)
EVACUATE_V229_SCHEMA['properties']['evacuate']['properties']['force'] = types.boolean

# 2.68 drops `force` again (the 2.14 body); 2.95 keeps that body.
TABLE: versioned.Table[dict[str, Any] | None] = [
    ('2.1', EVACUATE_SCHEMA), ('2.14', EVACUATE_V214_SCHEMA),
    ('2.29', EVACUATE_V229_SCHEMA), ('2.68', EVACUATE_V214_SCHEMA)]

# From this microversion an evacuated server ends stopped.
STOPPED_FROM = '2.95'


def _password(req: falcon.Request, body: dict[str, Any], on_shared_storage: bool | None
              ) -> str | None:
    """The new adminPass: the one asked for, else a generated one; none
    before 2.14 for a server on shared storage (its disk is kept)."""
    if 'adminPass' in body:
        if on_shared_storage:
            raise errors.bad_request("admin password can't be changed on existing disk")
        return str(body['adminPass'])
    if on_shared_storage:
        return None
    return server_boot.admin_password({})


def evacuate(req: falcon.Request, resp: falcon.Response, instance: Instance,
             body: Any) -> None:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.EVACUATE, {'user_id': instance.get('user_id'),
                                         'project_id': instance['project_id']})
    version = versioned.version(req)
    host = body.get('host')
    target_state = states.STOPPED if version >= versioned.parse(STOPPED_FROM) else None
    on_shared_storage = None
    if version < versioned.parse('2.14'):
        on_shared_storage = util.to_bool(body['onSharedStorage'])
    # Before 2.29 a named host is taken as it is; from 2.29 only with force.
    force = True
    if version >= versioned.parse('2.29'):
        force = util.to_bool(body.get('force', False))
        if force and not host:
            raise errors.bad_request("Can't force to a non-provided destination")
    password = _password(req, body, on_shared_storage)
    api = util.compute_api()
    if host is not None and not api.compute_host_exists(host):
        raise errors.not_found(f'Compute host {host} not found.')
    if instance.get('host') == host:
        raise errors.bad_request("The target host can't be the same one.")
    api.evacuate(ctx, instance, host, force=bool(host) and force, target_state=target_state)
    resp.status = 200
    if version < versioned.parse('2.14') and CONF.api.enable_instance_password:
        resp.media = {'adminPass': password}


ACTIONS = {'evacuate': (TABLE, evacuate)}
