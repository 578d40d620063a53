"""POST /servers/{id}/action: reboot, os-stop, os-start, pause, unpause, suspend,
resume, lock, unlock, rescue, unrescue, changePassword, os-resetState,
trigger_crash_dump, rebuild, os-getConsoleOutput, createImage, createBackup,
restore, forceDelete, resize, confirmResize, revertResize, migrate, the legacy
console actions (minova/api/handlers/remote_consoles.py) and shelve,
shelveOffload, unshelve (minova/api/handlers/shelve.py).
restore, forceDelete, resize, confirmResize, revertResize, migrate, evacuate
(minova/api/handlers/evacuate.py), and the legacy console actions
(minova/api/handlers/remote_consoles.py).

The body names one action; each action has its JSON schema per microversion
(a None row: the action does not exist yet at that version, 404 as in Nova),
its policy and a function here. Other server actions join by adding an entry
to ACTIONS (register()). Power actions answer 202 and finish on the compute
host, through the task states Nova uses (rebooting, powering-off, pausing,
suspending...) and an instance action ('reboot', 'stop', 'pause'...). The
states each action accepts are in minova/compute/api.py and docs/api.md.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon

from minova import exception, states
from minova.api import errors, policy, server_boot, util, validation, versioned
from minova.api.handlers import evacuate, remote_consoles, security_groups, shelve
from minova.api.handlers import floating_ips as floating_ips_handler
from minova.api.handlers import servers as servers_handler
from minova.api.schemas import servers as servers_schema
from minova.api.schemas import types
from minova.api.views import servers as servers_view
from minova.conf import CONF
from minova.db import keypairs as keypairs_db
from minova.db.instances import Instance
from minova.policies import server_actions as pol
from minova.policies import servers as servers_pol
from minova.policies import shelve as shelve_pol

ActionFn = Callable[[falcon.Request, falcon.Response, Instance, Any], None]
SchemaTable = versioned.Table[dict[str, Any] | None]

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


LOCK_V273_SCHEMA = {
    'type': 'object',
    'properties': {'lock': {
        'type': ['object', 'null'],
        'properties': {'locked_reason': {'type': 'string', 'minLength': 1,
                                         'maxLength': 255}},
        'additionalProperties': False}},
    'required': ['lock'], 'additionalProperties': False,
}
RESET_STATE_SCHEMA = {
    'type': 'object',
    'properties': {'os-resetState': {
        'type': 'object',
        'properties': {'state': {'type': 'string', 'enum': ['active', 'error']}},
        'required': ['state'], 'additionalProperties': False}},
    'required': ['os-resetState'], 'additionalProperties': False,
}
CRASH_DUMP_SCHEMA = {
    'type': 'object', 'properties': {'trigger_crash_dump': {'type': 'null'}},
    'required': ['trigger_crash_dump'], 'additionalProperties': False,
}


def _target(instance: Instance) -> dict[str, Any]:
    return {'project_id': instance['project_id'], 'user_id': instance.get('user_id')}


def _reboot(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.REBOOT, _target(instance))
    util.compute_api().reboot(ctx, instance, body['type'].upper())
    resp.status = 202


def _project(instance: Instance) -> dict[str, Any]:
    return {'project_id': instance['project_id']}


def _state_action(rule: str, method: str,
                  target: Callable[[Instance], dict[str, Any]] = _target,
                  status: int = 202) -> ActionFn:
    """os-stop, os-start, pause, unpause, suspend, resume, trigger_crash_dump,
    restore, forceDelete, confirmResize, revertResize: policy (with Nova's
    target for that rule), then the compute API method; no body."""
    def act(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
        ctx = util.ctx(req)
        policy.authorize(ctx, rule, target(instance))
        getattr(util.compute_api(), method)(ctx, instance)
        resp.status = status
    return act


def _lock(req: falcon.Request, resp: falcon.Response, instance: Instance,
          body: Any) -> None:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.LOCK, _target(instance))
    reason = None
    if versioned.version(req) >= versioned.parse('2.73') and body is not None:
        reason = body.get('locked_reason')
    util.compute_api().lock(ctx, instance, reason=reason)
    resp.status = 202


def _unlock(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
    ctx = util.ctx(req)
    api = util.compute_api()
    policy.authorize(ctx, pol.UNLOCK, _project(instance))
    if not api.is_expected_locked_by(ctx, instance):
        # The owner unlocking an admin's lock (or the reverse) needs the override.
        policy.authorize(ctx, pol.UNLOCK_OVERRIDE, _project(instance))
    api.unlock(ctx, instance)
    resp.status = 202


def _reset_state(req: falcon.Request, resp: falcon.Response, instance: Instance,
                 body: Any) -> None:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.RESET_STATE, _project(instance))
    state = {'active': states.ACTIVE, 'error': states.ERROR}[body['state']]
    util.compute_api().reset_state(ctx, instance, state)
    resp.status = 202


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


# rebuild: request field -> instance column (the rest are handled below)
_REBUILD_COLUMNS = {'name': 'display_name', 'description': 'display_description',
                    'metadata': 'metadata', 'accessIPv4': 'access_ip_v4',
                    'accessIPv6': 'access_ip_v6', 'hostname': 'hostname'}


def _rebuild(req: falcon.Request, resp: falcon.Response, instance: Instance,
             body: Any) -> None:
    """Nova's rebuild: policy, the new image and attributes recorded, the
    root disk replaced on the host; 202 with the server (REBUILD_SHAPE) and
    adminPass when [api] enable_instance_password."""
    ctx = util.ctx(req)
    target = _target(instance)
    policy.authorize(ctx, servers_pol.SERVERS % 'rebuild', target)
    version = versioned.version(req)
    password = server_boot.admin_password(body)
    changes: dict[str, Any] = {column: body[field]
                               for field, column in _REBUILD_COLUMNS.items() if field in body}
    if 'display_name' in changes:
        changes['display_name'] = changes['display_name'].strip()
    for column in ('access_ip_v4', 'access_ip_v6'):
        if column in changes:
            changes[column] = server_boot.canonical_ip(changes[column])
    if 'OS-DCF:diskConfig' in body:
        sysmeta = dict(instance.get('system_metadata') or {})
        sysmeta['auto_disk_config'] = str(body['OS-DCF:diskConfig'] == 'AUTO')
        changes['system_metadata'] = sysmeta
    if version >= versioned.parse('2.54') and 'key_name' in body:
        name = body['key_name']
        key_pair = None
        if name is not None:
            try:
                key_pair = keypairs_db.get(util.user_id(req), name)
            except exception.NotFound:
                raise errors.bad_request('Invalid key_name provided.') from None
        changes['key_name'] = key_pair['name'] if key_pair else None
        changes['key_data'] = key_pair['public_key'] if key_pair else None
    if version >= versioned.parse('2.57') and 'user_data' in body:
        changes['user_data'] = body['user_data']
    if version >= versioned.parse('2.63') and 'trusted_image_certificates' in body:
        policy.authorize(ctx, servers_pol.SERVERS % 'rebuild:trusted_certs', target)
    api = util.compute_api()
    api.rebuild(ctx, instance, body['imageRef'], changes,
                preserve_ephemeral=util.to_bool(body.get('preserve_ephemeral', False)),
                reimage_boot_volume=version >= versioned.parse('2.93'))
    instance = api.get(ctx, instance['uuid'])
    server = servers_handler.render(
        req, instance, versioned.schema_for(req, servers_view.REBUILD_SHAPE))
    if CONF.api.enable_instance_password:
        server['server']['adminPass'] = password
    resp.status = 202
    resp.media = server


CREATE_IMAGE_SCHEMA = {
    'type': 'object',
    'properties': {'createImage': {
        'type': 'object',
        'properties': {'name': types.name, 'metadata': types.metadata},
        'required': ['name'], 'additionalProperties': False}},
    'required': ['createImage'], 'additionalProperties': False,
}
CREATE_BACKUP_SCHEMA = {
    'type': 'object',
    'properties': {'createBackup': {
        'type': 'object',
        'properties': {'name': types.name, 'backup_type': {'type': 'string'},
                       'rotation': types.non_negative_integer,
                       'metadata': types.metadata},
        'required': ['name', 'backup_type', 'rotation'], 'additionalProperties': False}},
    'required': ['createBackup'], 'additionalProperties': False,
}


def _image_metadata_quota(req: falcon.Request, metadata: dict[str, str]) -> None:
    """Below 2.39 the image's metadata counts against metadata_items (Nova's 403)."""
    from minova import context, quota
    if not metadata or versioned.version(req) >= versioned.parse('2.39'):
        return
    limit = quota.get_limits(context.project_id(util.ctx(req)))['metadata_items']
    if 0 <= limit < len(metadata):
        raise errors.HTTPFault(403, 'Image metadata limit exceeded')


def _create_image(req: falcon.Request, resp: falcon.Response, instance: Instance,
                  body: Any) -> None:
    """createImage: 202, the image's Location (its URL in the image service)
    before 2.45, `{"image_id": ...}` from 2.45."""
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.CREATE_IMAGE, _project(instance))
    metadata = body.get('metadata') or {}
    _image_metadata_quota(req, metadata)
    image = util.compute_api().snapshot(ctx, instance, body['name'].strip(), metadata)
    resp.status = 202
    if versioned.version(req) >= versioned.parse('2.45'):
        resp.media = {'image_id': image['id']}
        return
    from minova.clients import image as image_client
    resp.set_header('Location',
                    f"{image_client.shared_client().endpoint()}/images/{image['id']}")


def _create_backup(req: falcon.Request, resp: falcon.Response, instance: Instance,
                   body: Any) -> None:
    """createBackup: 202; before 2.45 the image's Location here (/images/{id})
    when rotation is not 0, `{"image_id": ...}` from 2.45."""
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.CREATE_BACKUP, _project(instance))
    metadata = body.get('metadata') or {}
    _image_metadata_quota(req, metadata)
    rotation = int(body['rotation'])
    image = util.compute_api().backup(ctx, instance, body['name'].strip(),
                                      body['backup_type'], rotation, metadata)
    resp.status = 202
    if versioned.version(req) >= versioned.parse('2.45'):
        resp.media = {'image_id': image['id']}
    elif rotation > 0:
        resp.set_header('Location', util.self_url(req, 'images', image['id']))


CHANGE_PASSWORD_SCHEMA = {
    'type': 'object',
    'properties': {'changePassword': {
        'type': 'object', 'properties': {'adminPass': {'type': 'string'}},
        'required': ['adminPass'], 'additionalProperties': False}},
    'required': ['changePassword'], 'additionalProperties': False,
}


def _change_password(req: falcon.Request, resp: falcon.Response, instance: Instance,
                     body: Any) -> None:
    """changePassword: 202 once the host has set it (409 when the guest cannot
    take it or is not running, 501 when the driver cannot set passwords)."""
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.CHANGE_PASSWORD, _target(instance))
    util.compute_api().set_admin_password(ctx, instance, body['adminPass'])
    resp.status = 202


RESCUE_SCHEMA = {
    'type': 'object',
    'properties': {'rescue': {
        'type': ['object', 'null'],
        'properties': {'adminPass': {'type': 'string'},
                       'rescue_image_ref': types.uuid},
        'additionalProperties': False}},
    'required': ['rescue'], 'additionalProperties': False,
}


def _rescue(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
    """Nova's rescue: 200 with `{"adminPass": ...}` (the one asked for, or a
    generated one) when [api] enable_instance_password, else `{}`. The 2.87
    stable device rescue (hw_rescue_device/bus) is not implemented."""
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.RESCUE, _target(instance))
    body = body or {}
    password = server_boot.admin_password(body)
    util.compute_api().rescue(ctx, instance, password,
                              rescue_image_ref=body.get('rescue_image_ref'))
    resp.status = 200
    resp.media = {'adminPass': password} if CONF.api.enable_instance_password else {}


RESIZE_SCHEMA = {
    'type': 'object',
    'properties': {'resize': {
        'type': 'object',
        'properties': {'flavorRef': {'type': ['string', 'integer'], 'minLength': 1},
                       'OS-DCF:diskConfig': {'type': 'string',
                                             'enum': ['AUTO', 'MANUAL']}},
        'required': ['flavorRef'], 'additionalProperties': False}},
    'required': ['resize'], 'additionalProperties': False,
}


def _resize(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
    """Nova's resize: 202; the server goes RESIZE, then VERIFY_RESIZE."""
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.RESIZE, _target(instance))
    flavor_id = str(body['flavorRef']).rstrip('/').rsplit('/', 1)[-1]
    disk = body.get('OS-DCF:diskConfig')
    util.compute_api().resize(ctx, instance, flavor_id,
                              auto_disk_config=None if disk is None else disk == 'AUTO')
    resp.status = 202


MIGRATE_V256_SCHEMA = {
    'type': 'object',
    'properties': {'migrate': {
        'type': ['object', 'null'],
        'properties': {'host': {'type': ['string', 'null'], 'minLength': 1,
                               'maxLength': 255}},
        'additionalProperties': False}},
    'required': ['migrate'], 'additionalProperties': False,
}


def _migrate(req: falcon.Request, resp: falcon.Response, instance: Instance,
             body: Any) -> None:
    """Cold migrate (admin): 202; 2.56 names a host (its own policy)."""
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.MIGRATE, _project(instance))
    host = None
    if versioned.version(req) >= versioned.parse('2.56') and body:
        host = body.get('host')
        if host is not None:
            policy.authorize(ctx, pol.MIGRATE_HOST, _project(instance))
    try:
        util.compute_api().migrate(ctx, instance, host=host)
    except exception.ComputeHostNotFound as e:
        raise errors.bad_request(e.message) from None
    resp.status = 202


def _always(schema: dict[str, Any]) -> SchemaTable:
    return [('2.1', schema)]


# action name -> (schema of the whole body per microversion, function)
ACTIONS: dict[str, tuple[SchemaTable, ActionFn]] = {
    'reboot': (_always(REBOOT_SCHEMA), _reboot),
    'os-stop': (_always(_any_value_schema('os-stop')), _state_action(pol.STOP, 'stop')),
    'os-start': (_always(_any_value_schema('os-start')), _state_action(pol.START, 'start')),
    'pause': (_always(_any_value_schema('pause')), _state_action(pol.PAUSE, 'pause')),
    'unpause': (_always(_any_value_schema('unpause')),
                _state_action(pol.UNPAUSE, 'unpause', _project)),
    'suspend': (_always(_any_value_schema('suspend')),
                _state_action(pol.SUSPEND, 'suspend')),
    'resume': (_always(_any_value_schema('resume')),
               _state_action(pol.RESUME, 'resume', _project)),
    'lock': ([('2.1', _any_value_schema('lock')), ('2.73', LOCK_V273_SCHEMA)], _lock),
    'unlock': (_always(_any_value_schema('unlock')), _unlock),
    'rescue': (_always(RESCUE_SCHEMA), _rescue),
    'changePassword': (_always(CHANGE_PASSWORD_SCHEMA), _change_password),
    'unrescue': (_always(_any_value_schema('unrescue')),
                 _state_action(pol.UNRESCUE, 'unrescue', _project)),
    'os-resetState': (_always(RESET_STATE_SCHEMA), _reset_state),
    'trigger_crash_dump': ([('2.1', None), ('2.17', CRASH_DUMP_SCHEMA)],
                           _state_action(pol.TRIGGER_CRASH_DUMP, 'trigger_crash_dump')),
    'rebuild': (servers_schema.REBUILD_TABLE, _rebuild),
    'os-getConsoleOutput': (_always(CONSOLE_SCHEMA), _console_output),
    'createImage': (_always(CREATE_IMAGE_SCHEMA), _create_image),
    'createBackup': (_always(CREATE_BACKUP_SCHEMA), _create_backup),
    'restore': (_always(_any_value_schema('restore')),
                _state_action(pol.RESTORE, 'restore', _project)),
    'forceDelete': (_always(_any_value_schema('forceDelete')),
                    _state_action(pol.FORCE_DELETE, 'force_delete')),
    'resize': (_always(RESIZE_SCHEMA), _resize),
    'confirmResize': (_always(_any_value_schema('confirmResize')),
                      _state_action(pol.CONFIRM_RESIZE, 'confirm_resize', status=204)),
    'revertResize': (_always(_any_value_schema('revertResize')),
                     _state_action(pol.REVERT_RESIZE, 'revert_resize')),
    'migrate': ([('2.1', _any_value_schema('migrate')), ('2.56', MIGRATE_V256_SCHEMA)],
                _migrate),
    **remote_consoles.LEGACY_ACTIONS,
    'shelve': (_always(_any_value_schema('shelve')),
               _state_action(shelve_pol.SHELVE, 'shelve')),
    'shelveOffload': (_always(_any_value_schema('shelveOffload')),
                      _state_action(shelve_pol.SHELVE_OFFLOAD, 'shelve_offload')),
    **shelve.ACTIONS,
    **evacuate.ACTIONS,
    **security_groups.ACTIONS,
    **floating_ips_handler.ACTIONS,
}


def register(name: str, schema: dict[str, Any] | SchemaTable, fn: ActionFn) -> None:
    """Add an action: one schema for every version, or a table of them."""
    ACTIONS[name] = (_always(schema) if isinstance(schema, dict) else schema, fn)


class ServerAction:
    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        body = util.read_body(req)
        name = util.action_name(body)
        if name not in ACTIONS:
            raise errors.bad_request(f'There is no such action: {name}')
        table, fn = ACTIONS[name]
        schema = versioned.require(req, table)   # 404 below the action's microversion
        validation.validate_body(schema, body)
        instance = servers_handler.get_server(req, server_id, action='')
        fn(req, resp, instance, body[name])
