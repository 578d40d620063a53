"""/servers/{id}/os-instance-actions[/{request_id}]."""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception, utils
from minova.api import errors, policy, util, validation
from minova.api.handlers import servers
from minova.api.schemas import types
from minova.api.views import servers as server_view
from minova.policies import servers as pol

_query_props = {'limit': types.multi(types.non_negative_integer),
                'marker': types.multi({'type': 'string'}),
                'changes-since': types.multi({'type': 'string', 'format': 'date-time'})}
list_query_v258 = types.query(_query_props, strict=False)
list_query_v266 = types.query(dict(_query_props, **{
    'changes-before': types.multi({'type': 'string', 'format': 'date-time'})}), strict=False)
list_query_v2102 = dict(list_query_v266, additionalProperties=False)


def _time(value: Any) -> str | None:
    if value is None:
        return None
    return utils.parse_time(value).isoformat() if isinstance(value, str) else value.isoformat()


def _action(action: dict[str, Any], with_updated: bool) -> dict[str, Any]:
    out = {'action': action.get('action'), 'instance_uuid': action.get('instance_uuid'),
           'message': action.get('message'), 'project_id': action.get('project_id'),
           'request_id': action.get('request_id'),
           'start_time': _time(action.get('start_time')), 'user_id': action.get('user_id')}
    if with_updated:
        out['updated_at'] = _time(action.get('updated_at') or action.get('start_time'))
    return out


def _server(req: falcon.Request, server_id: str, rule: str) -> dict[str, Any]:
    # From 2.21 the actions of a deleted server can still be read, as in Nova.
    instance = servers.get_server(req, server_id, action='',
                                  read_deleted=util.at_least(req, '2.21'))
    policy.authorize(util.ctx(req), pol.ACTIONS % rule,
                     {'project_id': instance['project_id']})
    return instance


class Actions:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        instance = _server(req, server_id, 'list')
        paging = util.at_least(req, '2.58')
        kwargs: dict[str, Any] = {}
        limit = None
        if paging:
            schema = (list_query_v2102 if util.at_least(req, '2.102') else
                      list_query_v266 if util.at_least(req, '2.66') else list_query_v258)
            params = util.validated_query(req, schema)
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
        body: dict[str, Any] = {'instanceActions': [_action(a, paging) for a in actions]}
        if paging:
            links = util.page_links(req, f'servers/{server_id}/os-instance-actions',
                                    actions, limit or 0, key='request_id')
            if links:
                body['links'] = links
        resp.media = body


class Action:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               request_id: str) -> None:
        if util.at_least(req, '2.102'):
            validation.validate_query(types.query({}, strict=True), util.query(req))
        ctx = util.ctx(req)
        instance = _server(req, server_id, 'show')
        try:
            action = util.compute_api().get_action(ctx, instance, request_id)
        except exception.NotFound:
            raise errors.not_found(f'Action {request_id} not found') from None
        out = _action(action, util.at_least(req, '2.58'))
        target = {'project_id': instance['project_id']}
        show_traceback = policy.can(ctx, pol.ACTIONS % 'events', target)
        show_details = policy.can(ctx, pol.ACTIONS % 'events:details', target)
        if show_traceback or util.at_least(req, '2.51'):
            out['events'] = [self._event(req, e, instance, show_traceback, show_details)
                             for e in action.get('events') or []]
        resp.media = {'instanceAction': out}

    @staticmethod
    def _event(req: falcon.Request, event: dict[str, Any], instance: dict[str, Any],
               show_traceback: bool, show_details: bool) -> dict[str, Any]:
        out = {'event': event.get('event'), 'start_time': _time(event.get('start_time')),
               'finish_time': _time(event.get('finish_time')), 'result': event.get('result')}
        if show_traceback:
            out['traceback'] = event.get('traceback')
        if util.at_least(req, '2.62'):
            host = event.get('host') or ''
            if show_traceback:
                out['host'] = host
            out['hostId'] = server_view.host_id({'host': host,
                                                 'project_id': instance['project_id']})
        if util.at_least(req, '2.84') and show_details:
            out['details'] = event.get('details')
        return out
