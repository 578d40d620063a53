"""/servers/{id}/os-instance-actions[/{request_id}]."""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util
from minova.api.handlers import servers
from minova.api.schemas import instance_actions as schema
from minova.api.versioned import schema_for
from minova.api.views import instance_actions as view
from minova.db.instances import Instance
from minova.policies import servers as pol


def _server(req: falcon.Request, server_id: str, rule: str) -> Instance:
    # From 2.21 the actions of a deleted server can still be read, as in Nova.
    instance = servers.get_server(req, server_id, action='',
                                  read_deleted=schema_for(req, schema.TABLE).deleted_servers)
    policy.authorize(util.ctx(req), pol.ACTIONS % rule,
                     {'project_id': instance['project_id']})
    return instance


class Actions:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        instance = _server(req, server_id, 'list')
        row = schema_for(req, schema.TABLE)
        paging = row.paging
        kwargs: dict[str, Any] = {}
        limit = None
        if row.list_query is not None:
            params = util.validated_query(req, row.list_query)
            limit, marker = util.limit_marker(params)
            kwargs = {'limit': limit, 'marker': marker}
            for name, key in (('changes-since', 'changes_since'),
                              ('changes-before', 'changes_before')):
                value = util.last(params, name)
                if value is not None:
                    kwargs[key] = util.parse_time_param(value, name)
        try:
            actions = util.compute_api().get_actions(util.ctx(req), instance, **kwargs)
        except exception.NotFound as e:
            if paging and kwargs.get('marker'):
                raise errors.bad_request(e.message) from None
            raise
        body: dict[str, Any] = {'instanceActions': [view.action(req, a) for a in actions]}
        if paging:
            links = util.page_links(req, f'servers/{server_id}/os-instance-actions',
                                    actions, limit or 0, key='request_id')
            if links:
                body['links'] = links
        resp.media = body


class Action:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               request_id: str) -> None:
        row = schema_for(req, schema.TABLE)
        if row.show_query is not None:
            util.validated_query(req, row.show_query)
        ctx = util.ctx(req)
        instance = _server(req, server_id, 'show')
        try:
            action = util.compute_api().get_action(ctx, instance, request_id)
        except exception.NotFound:
            raise errors.not_found(f'Action {request_id} not found') from None
        out = view.action(req, action)
        target = {'project_id': instance['project_id']}
        show_traceback = policy.can(ctx, pol.ACTIONS % 'events', target)
        show_details = policy.can(ctx, pol.ACTIONS % 'events:details', target)
        if show_traceback or row.events_for_all:
            out['events'] = [view.event(req, view.Event(e, instance['project_id'],
                                                        show_traceback, show_details))
                             for e in action.get('events') or []]
        resp.media = {'instanceAction': out}
