"""GET /servers/{id}/ips and /servers/{id}/ips/{network_label}: a server's
addresses by network, from its network info cache (Nova's ips API)."""
from __future__ import annotations

import falcon

from minova.api import errors, policy, util
from minova.api.handlers import servers
from minova.api.schemas import types
from minova.api.versioned import schema_for
from minova.api.views import addresses as view
from minova.policies import servers as pol


def _networks(req: falcon.Request, server_id: str, rule: str) -> dict[str, list]:
    util.validated_query(req, schema_for(req, types.NO_QUERY))
    instance = servers.get_server(req, server_id, action='')
    policy.authorize(util.ctx(req), pol.IPS % rule, {'project_id': instance['project_id']})
    return view.addresses(instance, extended=False)


class Ips:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        resp.media = {'addresses': _networks(req, server_id, 'index')}


class Ip:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               network_label: str) -> None:
        networks = _networks(req, server_id, 'show')
        if network_label not in networks:
            raise errors.not_found('Instance is not a member of specified network')
        resp.media = {network_label: networks[network_label]}
