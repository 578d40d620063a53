"""Remote consoles: POST /servers/{id}/remote-consoles (2.6+), the legacy
actions os-getVNCConsole / os-getSerialConsole / os-getSPICEConsole /
os-getRDPConsole (2.1-2.5), and GET /os-console-auth-tokens/{token} (admin).

A console URL carries a new token (minova/db/console_auth_tokens.py) that
minova-novncproxy or minova-serialproxy admits until `[consoleauth]
token_ttl` runs out or the server is deleted. VNC and serial consoles are
served; SPICE, RDP and MKS are Nova's "Unavailable console type" (400), as a
Nova whose [spice]/[mks] are disabled answers.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util, validation, versioned
from minova.api.handlers import servers as servers_handler
from minova.api.schemas import remote_consoles as schema
from minova.db.instances import Instance
from minova.policies import remote_consoles as pol

# protocol -> the compute API method that answers it (None: never available here)
_METHODS: dict[str, str | None] = {
    'vnc': 'get_vnc_console', 'serial': 'get_serial_console',
    'spice': None, 'rdp': None, 'mks': None,
}


def console_url(req: falcon.Request, instance: Instance, protocol: str,
                console_type: str) -> str:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.REMOTE_CONSOLES, {'project_id': instance['project_id'],
                                                 'user_id': instance.get('user_id')})
    method = _METHODS[protocol]
    if method is None:
        raise exception.ConsoleTypeUnavailable(console_type=console_type)
    url: str = getattr(util.compute_api(), method)(ctx, instance, console_type)
    return url


class RemoteConsoles:
    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        create = versioned.require(req, schema.CREATE)
        body = util.read_body(req)
        validation.validate_body(create, body)
        instance = servers_handler.get_server(req, server_id, action='')
        protocol = body['remote_console']['protocol']
        console_type = body['remote_console']['type']
        url = console_url(req, instance, protocol, console_type)
        resp.media = {'remote_console': {'protocol': protocol, 'type': console_type,
                                         'url': url}}


def _legacy(protocol: str) -> Callable[[falcon.Request, falcon.Response, Instance, Any],
                                       None]:
    """A 2.1-2.5 action: {"console": {"type": ..., "url": ...}}."""
    def act(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
        url = console_url(req, instance, protocol, body['type'])
        resp.media = {'console': {'type': body['type'], 'url': url}}
    return act


def _legacy_action(name: str, types: list[str]) -> versioned.Table[dict[str, Any] | None]:
    """The action's body schema up to 2.5; from 2.6 Nova answers 404."""
    return [('2.1', schema.legacy_action(name, types)), ('2.6', None)]


# action name -> (body schema per microversion, function), joined into
# server_actions.ACTIONS
LEGACY_ACTIONS: dict[str, tuple[versioned.Table[dict[str, Any] | None], Any]] = {
    'os-getVNCConsole': (_legacy_action('os-getVNCConsole', ['novnc', 'xvpvnc']),
                         _legacy('vnc')),
    'os-getSerialConsole': (_legacy_action('os-getSerialConsole', ['serial']),
                            _legacy('serial')),
    'os-getSPICEConsole': (_legacy_action('os-getSPICEConsole', ['spice-html5']),
                           _legacy('spice')),
    'os-getRDPConsole': (_legacy_action('os-getRDPConsole', ['rdp-html5']),
                         _legacy('rdp')),
}


class ConsoleAuthToken:
    """GET /os-console-auth-tokens/{token}: where the token's console is."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        row = versioned.schema_for(req, schema.AUTH_TOKENS)
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.CONSOLE_AUTH_TOKENS, {'project_id': ctx.project_id})
        if not token.strip():
            raise errors.bad_request('token not provided')
        found = util.compute_api().validate_console_token(ctx, token)
        if found is None:
            raise errors.not_found('Token not found')
        if row.rdp_only and found['console_type'] != 'rdp-html5':
            raise errors.HTTPFault(401, 'The requested console type details are not '
                                        'accessible')
        console = {'instance_uuid': found['instance_uuid'], 'host': found['host'],
                   'port': found['port'],
                   'internal_access_path': found['internal_access_path']}
        if row.tls_port:
            console['tls_port'] = None
        resp.media = {'console': console}
