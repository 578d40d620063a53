"""GET /os-aggregates: mini-Nova has no host aggregates yet, so the list is empty.

It exists because clients ask for it on their way to other things
(`openstack hypervisor show` lists the host's aggregates).
"""
from __future__ import annotations

import falcon

from minova.api import policy, util
from minova.policies import admin as pol


class Aggregates:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        policy.authorize(util.ctx(req), pol.AGGREGATES % 'index', {})
        resp.media = {'aggregates': []}
