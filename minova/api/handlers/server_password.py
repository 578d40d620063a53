"""GET/DELETE /servers/{id}/os-server-password: the guest's encrypted password
as the guest posted it to the metadata service (system metadata password_0..3,
255 characters each, as Nova keeps it). DELETE forgets it; the guest's own
password does not change."""
from __future__ import annotations

import falcon

from minova.api import policy, util
from minova.api.handlers import servers
from minova.api.schemas import types
from minova.api.versioned import schema_for
from minova.db.instances import Instance
from minova.policies import server_subresources as pol

CHUNKS = 4


def _server(req: falcon.Request, server_id: str, rule: str) -> Instance:
    instance = servers.get_server(req, server_id, action='')
    policy.authorize(util.ctx(req), pol.PASSWORD % rule,
                     {'project_id': instance['project_id']})
    return instance


def extract_password(instance: Instance) -> str:
    sysmeta = instance.get('system_metadata') or {}
    return ''.join(sysmeta[k] for k in sorted(sysmeta) if k.startswith('password_'))


class ServerPassword:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        util.validated_query(req, schema_for(req, types.NO_QUERY))
        resp.media = {'password': extract_password(_server(req, server_id, 'show'))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        instance = _server(req, server_id, 'clear')
        sysmeta = dict(instance.get('system_metadata') or {})
        sysmeta.update({f'password_{i}': '' for i in range(CHUNKS)})
        util.compute_api().update(util.ctx(req), instance, {'system_metadata': sysmeta})
        resp.status = 204
