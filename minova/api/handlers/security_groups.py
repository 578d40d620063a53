"""GET /servers/{id}/os-security-groups, and the addSecurityGroup /
removeSecurityGroup server actions (202, no body), applied to
the server's Neutron ports (minova/network/security_groups.py) in any server
state, as Nova; policies os_compute_api:os-security-groups:add|remove. Without
[neutron] there are no security groups: 501."""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util, versioned
from minova.api.schemas import types
from minova.db.instances import Instance
from minova.network import is_neutron
from minova.policies import network as pol


def _schema(action: str) -> dict[str, Any]:
    return {'type': 'object',
            'properties': {action: {
                'type': 'object',
                'properties': {'name': {'type': 'string', 'minLength': 1}},
                'required': ['name'], 'additionalProperties': False}},
            'required': [action], 'additionalProperties': True}


_CODES: list[tuple[tuple[type[Exception], ...], int]] = [
    ((exception.SecurityGroupNotFound, exception.InstanceNotFound), 404),
    ((exception.NoUniqueMatch,), 409),
    ((exception.SecurityGroupCannotBeApplied,), 400),
]


def _action(rule: str, add: bool) -> Any:
    def act(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
        from minova.network import security_groups
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.SECURITY_GROUPS % rule,
                         {'project_id': instance['project_id']})
        name = str(body['name'])
        if not name.strip():
            raise errors.bad_request('Security group name cannot be empty')
        if not is_neutron():
            raise exception.NotSupported()
        fn = security_groups.add_to_instance if add else security_groups.remove_from_instance
        try:
            fn(ctx.project_id or instance['project_id'], instance, name)
        except exception.MinovaException as e:
            for classes, code in _CODES:
                if isinstance(e, classes):
                    raise errors.HTTPFault(code, e.message) from None
            raise
        resp.status = 202
    return act


class ServerSecurityGroups:
    """GET /servers/{id}/os-security-groups: the groups on its ports, with rules."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        from minova.api.handlers import servers
        from minova.network import security_groups
        util.validated_query(req, versioned.schema_for(req, types.NO_QUERY))
        instance = servers.get_server(req, server_id, action='')
        policy.authorize(util.ctx(req), pol.SECURITY_GROUPS % 'list',
                         {'project_id': instance['project_id']})
        if not is_neutron():
            raise exception.NotSupported()
        resp.media = {'security_groups': security_groups.server_security_groups(instance)}


ACTIONS: dict[str, tuple[versioned.Table[dict[str, Any] | None], Any]] = {
    'addSecurityGroup': ([('2.1', _schema('addSecurityGroup'))], _action('add', True)),
    'removeSecurityGroup': ([('2.1', _schema('removeSecurityGroup'))],
                            _action('remove', False)),
}


# -- the deprecated proxy: /os-security-groups, /os-security-group-rules ---------
# (2.1-2.35, 404 from 2.36; minova/network/security_group_proxy.py)

_TEXT: dict[str, Any] = {'type': 'string', 'minLength': 0, 'maxLength': 255}
GROUP_SCHEMA: dict[str, Any] = {
    'type': 'object',
    'properties': {'security_group': {
        'type': 'object', 'properties': {'name': _TEXT, 'description': _TEXT},
        'required': ['name', 'description'], 'additionalProperties': True}},
    'required': ['security_group'], 'additionalProperties': True}
RULE_SCHEMA: dict[str, Any] = {
    'type': 'object',
    'properties': {'security_group_rule': {
        'type': 'object',
        'properties': {'group_id': {'type': ['string', 'null'], 'format': 'uuid'},
                       'parent_group_id': {'type': 'string', 'format': 'uuid'},
                       'to_port': {}, 'from_port': {}, 'ip_protocol': {}, 'cidr': {}},
        'required': ['parent_group_id'], 'additionalProperties': True}},
    'required': ['security_group_rule'], 'additionalProperties': True}


def _proxy(schema: dict[str, Any]) -> versioned.Table[dict[str, Any] | None]:
    return [('2.1', schema), ('2.36', None)]


INDEX_QUERY = _proxy(types.query({'limit': types.multi(types.non_negative_integer),
                                  'offset': types.multi(types.non_negative_integer),
                                  'all_tenants': types.multi({'type': 'string'})},
                                 strict=False))
SHOW_QUERY = _proxy(types.query({}, strict=False))


def _proxy_module() -> Any:
    from minova.network import security_group_proxy
    return security_group_proxy


def _authorize(req: falcon.Request, rule: str) -> Any:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.SECURITY_GROUPS % rule, {'project_id': ctx.project_id})
    return ctx


def _body(req: falcon.Request, schema: dict[str, Any]) -> dict[str, Any]:
    from minova.api import validation
    versioned.require(req, _proxy(schema))
    body = util.read_body(req)
    validation.validate_body(schema, body)
    return dict(body)


def _neutron_only() -> None:
    if not is_neutron():
        raise exception.NotSupported()


class SecurityGroupsProxy:
    """GET/POST /os-security-groups."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = util.validated_query(req, versioned.require(req, INDEX_QUERY))
        ctx = _authorize(req, 'get')
        groups = (_proxy_module().list_groups(ctx, 'all_tenants' in params)
                  if is_neutron() else [])
        # Nova's common.limited: limit 0 or over [api] max_limit is max_limit
        from minova.conf import CONF
        offset = int(util.last(params, 'offset', 0) or 0)
        limit = min(CONF.api.max_limit, int(util.last(params, 'limit', 0) or 0)
                    or CONF.api.max_limit)
        page = groups[offset:offset + limit]
        resp.media = {'security_groups': sorted(
            page, key=lambda g: (g['tenant_id'] or '', g['name']))}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _body(req, GROUP_SCHEMA)['security_group']
        ctx = _authorize(req, 'create')
        _neutron_only()
        resp.media = {'security_group': _proxy_module().create(
            ctx, body['name'], body['description'])}


class SecurityGroupProxy:
    """GET/PUT/DELETE /os-security-groups/{id}."""

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               security_group_id: str) -> None:
        util.validated_query(req, versioned.require(req, SHOW_QUERY))
        ctx = _authorize(req, 'show')
        _neutron_only()
        resp.media = {'security_group': _proxy_module().show(ctx, security_group_id)}

    def on_put(self, req: falcon.Request, resp: falcon.Response,
               security_group_id: str) -> None:
        body = _body(req, GROUP_SCHEMA)['security_group']
        ctx = _authorize(req, 'update')
        _neutron_only()
        resp.media = {'security_group': _proxy_module().update(
            ctx, security_group_id, body['name'], body['description'])}

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  security_group_id: str) -> None:
        versioned.require(req, SHOW_QUERY)
        ctx = _authorize(req, 'delete')
        _neutron_only()
        _proxy_module().delete(ctx, security_group_id)
        resp.status = 202


class SecurityGroupRulesProxy:
    """POST /os-security-group-rules."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _body(req, RULE_SCHEMA)['security_group_rule']
        ctx = _authorize(req, 'rule:create')
        _neutron_only()
        resp.media = {'security_group_rule': _proxy_module().create_rule(ctx, body)}


class SecurityGroupRuleProxy:
    """DELETE /os-security-group-rules/{id}."""

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  security_group_rule_id: str) -> None:
        versioned.require(req, SHOW_QUERY)
        ctx = _authorize(req, 'rule:delete')
        _neutron_only()
        _proxy_module().delete_rule(ctx, security_group_rule_id)
        resp.status = 202
