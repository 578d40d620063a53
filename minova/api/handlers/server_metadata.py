"""/servers/{id}/metadata and /servers/{id}/metadata/{key}: a server's user
metadata, as Nova's server-metadata API (schemas, errors, the metadata_items
quota, the lock and the vm_states it may change in)."""
from __future__ import annotations

import copy
from typing import Any

import falcon

from minova.api import errors, policy, util, validation
from minova.api.handlers import servers
from minova.api.schemas import types
from minova.api.versioned import schema_for
from minova.db.instances import Instance
from minova.policies import server_subresources as pol

NOT_FOUND = 'Metadata item was not found'

METADATA_SCHEMA: dict[str, Any] = {
    'type': 'object', 'properties': {'metadata': types.metadata},
    'required': ['metadata'], 'additionalProperties': False,
}
_ONE_ITEM = dict(copy.deepcopy(types.metadata), minProperties=1, maxProperties=1)
META_SCHEMA: dict[str, Any] = {
    'type': 'object', 'properties': {'meta': _ONE_ITEM},
    'required': ['meta'], 'additionalProperties': False,
}


def _server(req: falcon.Request, server_id: str, rule: str) -> Instance:
    instance = servers.get_server(req, server_id, action='')
    policy.authorize(util.ctx(req), pol.METADATA % rule,
                     {'project_id': instance['project_id']})
    return instance


def _body(req: falcon.Request, schema: dict[str, Any]) -> dict[str, Any]:
    body = util.read_body(req)
    validation.validate_body(schema, body)
    return body


def _metadata(instance: Instance) -> dict[str, str]:
    return dict(instance.get('metadata') or {})


class Metadata:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        util.validated_query(req, schema_for(req, types.NO_QUERY))
        resp.media = {'metadata': _metadata(_server(req, server_id, 'index'))}

    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        """Merge (200, as Nova answers, with the whole metadata)."""
        body = _body(req, METADATA_SCHEMA)
        instance = _server(req, server_id, 'create')
        new = util.compute_api().update_instance_metadata(
            util.ctx(req), instance, body['metadata'], delete=False)
        resp.media = {'metadata': new}

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        """Replace."""
        body = _body(req, METADATA_SCHEMA)
        instance = _server(req, server_id, 'update_all')
        new = util.compute_api().update_instance_metadata(
            util.ctx(req), instance, body['metadata'], delete=True)
        resp.media = {'metadata': new}


class MetadataItem:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               key: str) -> None:
        util.validated_query(req, schema_for(req, types.NO_QUERY))
        metadata = _metadata(_server(req, server_id, 'show'))
        if key not in metadata:
            raise errors.not_found(NOT_FOUND)
        resp.media = {'meta': {key: metadata[key]}}

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               key: str) -> None:
        body = _body(req, META_SCHEMA)
        instance = _server(req, server_id, 'update')
        if key not in body['meta']:
            raise errors.bad_request('Request body and URI mismatch')
        util.compute_api().update_instance_metadata(util.ctx(req), instance, body['meta'],
                                                    delete=False)
        resp.media = {'meta': body['meta']}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str,
                  key: str) -> None:
        instance = _server(req, server_id, 'delete')
        if key not in _metadata(instance):
            raise errors.not_found(NOT_FOUND)
        util.compute_api().delete_instance_metadata(util.ctx(req), instance, key)
        resp.status = 204
