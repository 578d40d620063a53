"""/servers/{id}/os-interface: a server's Neutron ports (Nova's os-attach-interfaces).

The list and show read Neutron's ports of the server (device_id); attach makes a
port on net_id (with fixed_ips' address) or takes port_id, binds it to the
server's host and plugs it (200 with the attachment once the host has done it);
detach is accepted (202) and done by the host. Without [neutron]: 501, as
Nova's for a networking that cannot.
"""
from __future__ import annotations

import copy
from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util, versioned
from minova.api.handlers import servers
from minova.api.schemas import types
from minova.api.versioned import schema_for
from minova.db.instances import Instance
from minova.network import is_neutron
from minova.policies import network as pol

CREATE: dict[str, Any] = {
    'type': 'object',
    'properties': {'interfaceAttachment': {
        'type': 'object',
        'properties': {
            'net_id': types.uuid,
            'port_id': types.uuid,
            'fixed_ips': {'type': 'array', 'minItems': 1, 'maxItems': 1, 'items': {
                'type': 'object', 'properties': {'ip_address': types.ip_address},
                'required': ['ip_address'], 'additionalProperties': False}},
        },
        'additionalProperties': False}},
    'additionalProperties': False,
}
CREATE_V249 = copy.deepcopy(CREATE)
CREATE_V249['properties']['interfaceAttachment']['properties']['tag'] = types.tag
CREATE_TABLE = [('2.1', CREATE), ('2.49', CREATE_V249)]
TAG_SINCE = versioned.parse('2.70')

# What a failed attach answers (Nova's attach_interfaces.create).
_ATTACH_CODES: list[tuple[tuple[type[Exception], ...], int]] = [
    ((exception.InterfaceAttachFailedNoNetwork, exception.NetworkAmbiguous,
      exception.NoMoreFixedIps, exception.PortNotUsable,
      exception.SecurityGroupCannotBeApplied, exception.FixedIpInvalidOnHost,
      exception.PortBindingFailed), 400),
    ((exception.FixedIpAlreadyInUse, exception.PortInUse), 409),
    ((exception.PortNotFound, exception.NetworkNotFound), 404),
    ((exception.PortLimitExceeded,), 403),
    ((exception.InterfaceAttachFailed,), 500),
]


def _server(req: falcon.Request, server_id: str, rule: str) -> Instance:
    instance = servers.get_server(req, server_id, action='')
    policy.authorize(util.ctx(req), pol.INTERFACES % rule,
                     {'project_id': instance['project_id']})
    if not is_neutron():
        raise exception.NotSupported()
    return instance


def _view(req: falcon.Request, port: dict[str, Any], instance: Instance) -> dict[str, Any]:
    info = {'net_id': port['network_id'], 'port_id': port['id'],
            'mac_addr': port.get('mac_address'), 'port_state': port.get('status'),
            'fixed_ips': port.get('fixed_ips')}
    if versioned.version(req) >= TAG_SINCE:
        info['tag'] = next((v.get('tag') for v in instance.get('network_info') or []
                            if v.get('id') == port['id']), None)
    return info


def _show(req: falcon.Request, instance: Instance, port_id: str) -> dict[str, Any]:
    from minova.network import api as network_api
    port = network_api.client().show_port(port_id)
    if port.get('device_id') != instance['uuid']:
        raise errors.not_found(f"Instance {instance['uuid']} does not have a port with id "
                               f"{port_id}")
    return {'interfaceAttachment': _view(req, port, instance)}


class Interfaces:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        from minova.network import api as network_api
        util.validated_query(req, schema_for(req, types.NO_QUERY))
        instance = _server(req, server_id, 'list')
        ports = network_api.client().list_ports(device_id=instance['uuid'])
        resp.media = {'interfaceAttachments': [_view(req, p, instance) for p in ports]}

    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        body = util.validated_body(req, schema_for(req, CREATE_TABLE))   # may be empty
        instance = _server(req, server_id, 'create')
        attachment = body.get('interfaceAttachment') or {}
        network_id, port_id = attachment.get('net_id'), attachment.get('port_id')
        fixed = attachment.get('fixed_ips') or [{}]
        requested_ip = fixed[0].get('ip_address')
        if network_id and port_id:
            raise errors.bad_request('Must not input both network_id and port_id')
        if requested_ip and not network_id:
            raise errors.bad_request('Must input network_id when request IP address')
        try:
            vif = util.compute_api().attach_interface(
                util.ctx(req), instance, network_id, port_id, requested_ip,
                attachment.get('tag'))
        except exception.MinovaException as e:
            for classes, code in _ATTACH_CODES:
                if isinstance(e, classes):
                    raise errors.HTTPFault(code, e.message) from None
            raise
        instance = servers.get_server(req, server_id, action='')
        resp.media = _show(req, instance, vif['id'])


class Interface:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               port_id: str) -> None:
        util.validated_query(req, schema_for(req, types.NO_QUERY))
        instance = _server(req, server_id, 'show')
        resp.media = _show(req, instance, port_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str,
                  port_id: str) -> None:
        instance = _server(req, server_id, 'delete')
        util.compute_api().detach_interface(util.ctx(req), instance, port_id)
        resp.status = 202
