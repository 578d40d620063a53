"""/os-quota-sets/{project_id}[/defaults|/detail]."""
from __future__ import annotations

from typing import Any

import falcon

from minova import quota
from minova.api import errors, policy, util
from minova.api.schemas import quota_sets as schema
from minova.api.versioned import schema_for
from minova.db import quotas as quotas_db
from minova.policies import quotas as pol

PROJECT_ID_MAX = 255


def _quota_set(req: falcon.Request, limits: dict[str, int], project_id: str | None
               ) -> dict[str, Any]:
    out: dict[str, Any] = dict(limits)
    out.update(schema_for(req, schema.TABLE).legacy)
    if project_id is not None:
        out['id'] = project_id
    return out


def _query(req: falcon.Request) -> None:
    util.validated_query(req, schema_for(req, schema.TABLE).query)


class QuotaSet:
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        policy.authorize(util.ctx(req), pol.QUOTA_SETS % 'show', {'project_id': project_id})
        _query(req)
        resp.media = {'quota_set': _quota_set(req, quota.get_limits(project_id), project_id)}

    def on_put(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        policy.authorize(util.ctx(req), pol.QUOTA_SETS % 'update', {'project_id': project_id})
        _query(req)
        if len(project_id) > PROJECT_ID_MAX:  # the column's size; no project has such an id
            raise errors.bad_request(f'Invalid project id {project_id[:64]}...: longer than '
                                     f'{PROJECT_ID_MAX} characters')
        body = util.validated_body(req, schema_for(req, schema.TABLE).update)['quota_set']
        force = util.to_bool(body.pop('force', False))
        wanted = {k: int(v) for k, v in body.items() if k in quota.RESOURCES}
        if not force:
            usage = quota.get_usage(project_id)
            for resource, limit in wanted.items():
                used = usage.get(resource, 0)
                if limit != -1 and limit < used:
                    raise errors.bad_request(
                        f'Quota limit {limit} for {resource} must be greater than or equal '
                        f'to already used and reserved {used}.')
        quotas_db.set_limits(project_id, wanted)
        resp.media = {'quota_set': _quota_set(req, quota.get_limits(project_id), None)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        policy.authorize(util.ctx(req), pol.QUOTA_SETS % 'delete', {'project_id': project_id})
        quotas_db.destroy_all_by_project(project_id)
        resp.status = 202


class Defaults:
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        policy.authorize(util.ctx(req), pol.QUOTA_SETS % 'defaults', {'project_id': project_id})
        resp.media = {'quota_set': _quota_set(req, quota.get_defaults(), project_id)}


class Detail:
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.QUOTA_SETS % 'detail', {'project_id': project_id})
        _query(req)
        limits = quota.get_limits(project_id)
        usage = quota.get_usage(project_id, ctx.user_id if project_id == ctx.project_id
                                else None)
        out: dict[str, Any] = {
            r: {'in_use': usage.get(r, 0), 'limit': limits[r], 'reserved': 0}
            for r in quota.RESOURCES}
        for r, v in schema_for(req, schema.TABLE).legacy.items():
            out[r] = {'in_use': 0, 'limit': v, 'reserved': 0}
        out['id'] = project_id
        resp.media = {'quota_set': out}
