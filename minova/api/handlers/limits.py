"""GET /limits: the project's absolute limits and usage (no rate limits)."""
from __future__ import annotations

from typing import Any

import falcon

from minova import quota
from minova.api import policy, util
from minova.api.schemas import limits as schema
from minova.api.versioned import schema_for
from minova.api.views import limits as view
from minova.policies import quotas as pol


def absolute(req: falcon.Request, project_id: str, user_id: str | None) -> dict[str, Any]:
    return view.absolute(req, quota.get_limits(project_id), quota.get_usage(project_id, user_id))


class Limits:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = util.ctx(req)
        params = util.validated_query(req, schema_for(req, schema.QUERY))
        policy.authorize(ctx, pol.LIMITS, {'project_id': ctx.project_id})
        project_id = util.project_id(req)
        tenant = util.last(params, 'tenant_id')
        if tenant and tenant != ctx.project_id:
            policy.authorize(ctx, pol.LIMITS_OTHER_PROJECT, {'project_id': tenant})
            project_id = tenant
        user_id = ctx.user_id if project_id == ctx.project_id else None
        resp.media = {'limits': {'absolute': absolute(req, project_id, user_id), 'rate': []}}
