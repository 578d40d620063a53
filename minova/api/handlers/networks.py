"""/os-networks: Nova's deprecated network proxy (2.1-2.35).

Nova lists the networks of its networking service (Neutron): with [neutron]
the project's own and the shared ones, in nova-network's shape with only `id`
and `label` filled (the other fields null, the admin ones only for admins).
Without it there is no network to list: the index is empty and a network is
not found.
The nova-network calls Nova removed (create, add, delete, associate) are
410 Gone at every version, as in Nova; from 2.36 the rest is 404.
"""
from __future__ import annotations

from typing import Any

import falcon

from minova.api import errors, policy, util, versioned
from minova.api.schemas import proxies as schema
from minova.context import RequestContext
from minova.network import is_neutron
from minova.policies import legacy as pol

_FIELDS = ('id', 'cidr', 'netmask', 'gateway', 'broadcast', 'dns1', 'dns2', 'cidr_v6',
           'gateway_v6', 'label', 'netmask_v6')
_ADMIN_FIELDS = ('created_at', 'updated_at', 'deleted_at', 'deleted', 'injected', 'bridge',
                 'vlan', 'vpn_public_address', 'vpn_public_port', 'vpn_private_address',
                 'dhcp_start', 'project_id', 'host', 'bridge_interface', 'multi_host',
                 'priority', 'rxtx_base', 'mtu', 'dhcp_server', 'enable_dhcp',
                 'share_address')


def _view(ctx: RequestContext, network: dict[str, Any]) -> dict[str, Any]:
    fields = _FIELDS + (_ADMIN_FIELDS if ctx.is_admin else ())
    values = {'id': network['id'], 'label': network.get('name')}
    return {f: values.get(f) for f in fields}

GONE = 'This resource is no longer available.  No forwarding address is given.'


def _gone() -> errors.HTTPFault:
    return errors.HTTPFault(410, GONE)


class Networks:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        util.validated_query(req, versioned.require(req, schema.NETWORKS))
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.NETWORKS % 'list', {'project_id': ctx.project_id})
        if not is_neutron():
            resp.media = {'networks': []}
            return
        from minova.network import api as network_api
        nets = network_api.available_networks(ctx, ctx.project_id or '')
        resp.media = {'networks': [_view(ctx, n) for n in nets]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise _gone()


class NetworksAdd:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise _gone()


class Network:
    def on_get(self, req: falcon.Request, resp: falcon.Response, network_id: str) -> None:
        util.validated_query(req, versioned.require(req, schema.NETWORKS))
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.NETWORKS % 'show', {'project_id': ctx.project_id})
        if not is_neutron():
            raise errors.not_found('Network not found')
        from minova.network import api as network_api
        found = network_api.available_networks(ctx, ctx.project_id or '', [network_id])
        if not found:
            raise errors.not_found('Network not found')
        resp.media = {'network': _view(ctx, found[0])}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, network_id: str) -> None:
        raise _gone()


class NetworkAction:
    def on_post(self, req: falcon.Request, resp: falcon.Response, network_id: str) -> None:
        raise _gone()
