"""GET /limits: the project's absolute limits and usage (no rate limits)."""
from __future__ import annotations

from typing import Any

import falcon

from minova import quota
from minova.api import policy, util
from minova.api.schemas import types
from minova.policies import quotas as pol

query = types.query({'tenant_id': types.multi({'type': 'string'})}, strict=False)
query_v275 = types.query({'tenant_id': types.multi({'type': 'string'})}, strict=True)


def absolute(req: falcon.Request, project_id: str, user_id: str | None) -> dict[str, Any]:
    limits = quota.get_limits(project_id)
    usage = quota.get_usage(project_id, user_id)
    out: dict[str, Any] = {
        'maxServerMeta': limits['metadata_items'],
        'maxTotalCores': limits['cores'],
        'maxTotalInstances': limits['instances'],
        'maxTotalKeypairs': limits['key_pairs'],
        'maxTotalRAMSize': limits['ram'],
        'maxServerGroups': limits['server_groups'],
        'maxServerGroupMembers': limits['server_group_members'],
        'totalCoresUsed': usage['cores'],
        'totalInstancesUsed': usage['instances'],
        'totalRAMUsed': usage['ram'],
        'totalServerGroupsUsed': usage['server_groups'],
    }
    if not util.at_least(req, '2.57'):
        out.update(maxPersonality=5, maxPersonalitySize=10240)
    if not util.at_least(req, '2.39'):
        out['maxImageMeta'] = limits['metadata_items']
    if not util.at_least(req, '2.36'):
        out.update(maxSecurityGroupRules=-1, maxSecurityGroups=-1, maxTotalFloatingIps=-1,
                   totalFloatingIpsUsed=0, totalSecurityGroupsUsed=0)
    return out


class Limits:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = util.ctx(req)
        params = util.validated_query(req, query_v275 if util.at_least(req, '2.75') else query)
        policy.authorize(ctx, pol.LIMITS, {'project_id': ctx.project_id})
        project_id = ctx.project_id
        tenant = util.last(params, 'tenant_id')
        if tenant and tenant != ctx.project_id:
            policy.authorize(ctx, pol.LIMITS_OTHER_PROJECT, {'project_id': tenant})
            project_id = tenant
        user_id = ctx.user_id if project_id == ctx.project_id else None
        resp.media = {'limits': {'absolute': absolute(req, project_id, user_id), 'rate': []}}
