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
        from minova.api.schemas import types
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
