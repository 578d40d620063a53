"""/os-server-groups: groups of servers placed together or apart.

Before 2.64 a group has a one-item `policies` list; from 2.64 it has one
`policy` and `rules` (max_server_per_host, for anti-affinity). Members are
added when a server is created with the scheduler hint {"group": <uuid>} and
leave when it is deleted.
"""
from __future__ import annotations

from typing import Any

import falcon

from minova import quota
from minova.api import errors, policy, util
from minova.api.schemas import server_groups as schema
from minova.api.versioned import schema_for
from minova.api.views import server_groups as view
from minova.conf import CONF
from minova.db import paging
from minova.db import server_groups as groups_db
from minova.policies.server_groups import SERVER_GROUPS


def _get_visible(req: falcon.Request, group_id: str, action: str) -> dict[str, Any]:
    ctx = util.ctx(req)
    try:
        group = groups_db.get(group_id)
    except groups_db.InstanceGroupNotFound:
        group = None
    # As Nova's query: a non-admin sees only the groups of its own project, so
    # another project's group is as missing as one that does not exist.
    if group is None or (not ctx.is_admin and group['project_id'] != ctx.project_id):
        raise errors.not_found(f'Instance group {group_id} could not be found.')
    policy.authorize(ctx, SERVER_GROUPS % action, {'project_id': group['project_id']})
    return group


class ServerGroups:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = util.ctx(req)
        policy.authorize(ctx, SERVER_GROUPS % 'index', {'project_id': ctx.project_id})
        params = util.validated_query(req, schema_for(req, schema.TABLE).index_query)
        project: str | None = ctx.project_id
        if util.to_bool(util.last(params, 'all_projects', False), 'all_projects'):
            if policy.can(ctx, SERVER_GROUPS % 'index:all_projects',
                            {'project_id': ctx.project_id}):
                project = None
        # Nova's common.limited(): [api] max_limit caps the page, 0 means all of it.
        limit = min(int(util.last(params, 'limit') or 0) or CONF.api.max_limit,
                    CONF.api.max_limit)
        offset = paging.db_int(int(util.last(params, 'offset') or 0))
        groups = groups_db.get_all(project, limit=limit, offset=offset)
        resp.media = {'server_groups': [view.show(req, g) for g in groups]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = util.ctx(req)
        policy.authorize(ctx, SERVER_GROUPS % 'create', {'project_id': ctx.project_id,
                                                          'user_id': ctx.user_id})
        body = util.validated_body(req, schema_for(req, schema.TABLE).create)['server_group']
        if 'policy' in body:
            group_policy, rules = body['policy'], dict(body.get('rules') or {})
            if rules and group_policy != 'anti-affinity':
                raise errors.bad_request('Only anti-affinity policy supports rules.')
            if 'max_server_per_host' in rules:
                rules['max_server_per_host'] = int(rules['max_server_per_host'])
        else:
            group_policy, rules = body['policies'][0], {}
        project = util.project_id(req)
        limit = quota.get_limits(project)['server_groups']
        if limit >= 0 and groups_db.count_by_project(project) + 1 > limit:
            raise errors.HTTPFault(403, 'Quota exceeded, too many server groups.')
        group = groups_db.create(body['name'], project, util.user_id(req), group_policy,
                                 rules)
        resp.media = {'server_group': view.show(req, group)}


class ServerGroup:
    def on_get(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        resp.media = {'server_group': view.show(req, _get_visible(req, group_id, 'show'))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        group = _get_visible(req, group_id, 'delete')
        groups_db.delete(group['uuid'])
        resp.status = falcon.HTTP_204
