"""POST /servers/{id}/action: reboot, os-stop, os-start, os-getConsoleOutput, and the
legacy console actions (minova/api/handlers/remote_consoles.py).

The body names one action; each action has its JSON schema, its policy and a
function here. Other server actions join by adding an entry to ACTIONS
(register()). Power actions answer 202 and finish on the compute host,
through the task states Nova uses (rebooting, rebooting_hard, powering-off,
powering-on) and an instance action ('reboot', 'stop', 'start').
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util, validation
from minova.api.handlers import remote_consoles
from minova.api.handlers import servers as servers_handler
from minova.db.instances import Instance
from minova.policies import server_actions as pol

ActionFn = Callable[[falcon.Request, falcon.Response, Instance, Any], None]

REBOOT_SCHEMA = {
    'type': 'object',
    'properties': {'reboot': {
        'type': 'object',
        'properties': {'type': {'type': 'string',
                                'enum': ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']}},
        'required': ['type'], 'additionalProperties': False}},
    'required': ['reboot'], 'additionalProperties': False,
}
CONSOLE_SCHEMA = {
    'type': 'object',
    'properties': {'os-getConsoleOutput': {
        'type': 'object',
        'properties': {'length': {'type': ['integer', 'string', 'null'],
                                  'pattern': '^-?[0-9]+$', 'minimum': -1}},
        'additionalProperties': False}},
    'required': ['os-getConsoleOutput'], 'additionalProperties': False,
}


def _any_value_schema(name: str) -> dict[str, Any]:
    """An action whose value Nova ignores: `{"os-stop": null}`, `{"os-stop": {}}`..."""
    return {'type': 'object', 'properties': {name: {}}, 'required': [name],
            'additionalProperties': False}


def _target(instance: Instance) -> dict[str, Any]:
    return {'project_id': instance['project_id'], 'user_id': instance.get('user_id')}


def _reboot(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.REBOOT, _target(instance))
    util.compute_api().reboot(ctx, instance, body['type'].upper())
    resp.status = 202


def _power(rule: str, method: str) -> ActionFn:
    """os-stop / os-start: policy, then the compute API method; 202, no body."""
    def act(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
        ctx = util.ctx(req)
        policy.authorize(ctx, rule, _target(instance))
        getattr(util.compute_api(), method)(ctx, instance)
        resp.status = 202
    return act


def _console_output(req: falcon.Request, resp: falcon.Response, instance: Instance,
                    body: Any) -> None:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.CONSOLE_OUTPUT, _target(instance))
    length = body.get('length')
    if length is not None:
        length = int(length)
        if length < -1:
            raise errors.bad_request(f'Invalid input for field/attribute length. Value: '
                                     f'{length}. {length} is less than the minimum of -1')
        if length == -1:
            length = None   # -1: the whole log, as in Nova
    unavailable = 'Guest does not have a console available.'
    try:
        output = util.compute_api().get_console_output(ctx, instance, length)
    except exception.Conflict:
        raise errors.conflict(unavailable) from None
    if output is None:
        raise errors.conflict(unavailable)
    # Control characters other than tab and newline would break JSON clients.
    output = ''.join(c for c in output if c in '\n\t' or c >= ' ')
    resp.status = 200
    resp.media = {'output': output}


# action name -> (schema of the whole body, function)
ACTIONS: dict[str, tuple[dict[str, Any], ActionFn]] = {
    'reboot': (REBOOT_SCHEMA, _reboot),
    'os-stop': (_any_value_schema('os-stop'), _power(pol.STOP, 'stop')),
    'os-start': (_any_value_schema('os-start'), _power(pol.START, 'start')),
    'os-getConsoleOutput': (CONSOLE_SCHEMA, _console_output),
    **remote_consoles.LEGACY_ACTIONS,
}


def register(name: str, schema: dict[str, Any], fn: ActionFn) -> None:
    ACTIONS[name] = (schema, fn)


class ServerAction:
    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        body = util.read_body(req)
        name = util.action_name(body)
        if name not in ACTIONS:
            raise errors.bad_request(f'There is no such action: {name}')
        schema, fn = ACTIONS[name]
        validation.validate_body(schema, body)
        instance = servers_handler.get_server(req, server_id, action='')
        fn(req, resp, instance, body[name])
