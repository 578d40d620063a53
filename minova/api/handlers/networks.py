"""/os-networks: Nova's deprecated network proxy (2.1-2.35).

Nova lists the networks of its networking service (Neutron). Without one
there is no network to list: the index is empty and a network is not found.
The nova-network calls Nova removed (create, add, delete, associate) are
410 Gone at every version, as in Nova; from 2.36 the rest is 404.
"""
from __future__ import annotations

import falcon

from minova.api import errors, policy, util, versioned
from minova.api.schemas import proxies as schema
from minova.policies import legacy as pol

GONE = 'This resource is no longer available.  No forwarding address is given.'


def _gone() -> errors.HTTPFault:
    return errors.HTTPFault(410, GONE)


class Networks:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        util.validated_query(req, versioned.require(req, schema.NETWORKS))
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.NETWORKS % 'list', {'project_id': ctx.project_id})
        resp.media = {'networks': []}

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
        raise errors.not_found('Network not found')

    def on_delete(self, req: falcon.Request, resp: falcon.Response, network_id: str) -> None:
        raise _gone()


class NetworkAction:
    def on_post(self, req: falcon.Request, resp: falcon.Response, network_id: str) -> None:
        raise _gone()
