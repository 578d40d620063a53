"""/servers/{id}/tags and /servers/{id}/tags/{tag} (2.26+; 404 below), as
Nova's server tags API: at most 50 tags of 1-60 characters without '/' or ','."""
from __future__ import annotations

from typing import Any

import falcon
import jsonschema

from minova.api import errors, policy, util, validation, versioned
from minova.api.handlers import servers
from minova.api.schemas import types
from minova.db.instances import Instance
from minova.policies import server_subresources as pol

MAX_TAG_COUNT = 50

TAGS_SCHEMA: dict[str, Any] = {
    'type': 'object',
    'properties': {'tags': {'type': 'array', 'items': types.tag,
                            'maxItems': MAX_TAG_COUNT}},
    'required': ['tags'], 'additionalProperties': False,
}
# The route exists from 2.26: a None row is Nova's 404.
EXISTS: versioned.Table[bool | None] = [('2.1', None), ('2.26', True)]


def _server(req: falcon.Request, server_id: str, rule: str) -> Instance:
    versioned.require(req, EXISTS)
    instance = servers.get_server(req, server_id, action='')
    policy.authorize(util.ctx(req), pol.TAGS % rule, {'project_id': instance['project_id']})
    return instance


def _tags(instance: Instance) -> list[str]:
    return list(instance.get('tags') or [])


class Tags:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        versioned.require(req, EXISTS)
        util.validated_query(req, versioned.schema_for(req, types.NO_QUERY))
        resp.media = {'tags': _tags(_server(req, server_id, 'index'))}

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        versioned.require(req, EXISTS)
        body = util.read_body(req)
        validation.validate_body(TAGS_SCHEMA, body)
        instance = _server(req, server_id, 'update_all')
        resp.media = {'tags': util.compute_api().set_tags(util.ctx(req), instance,
                                                          body['tags'], 'update tags')}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        instance = _server(req, server_id, 'delete_all')
        util.compute_api().set_tags(util.ctx(req), instance, [], 'delete tags')
        resp.status = 204


class Tag:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               tag: str) -> None:
        versioned.require(req, EXISTS)
        util.validated_query(req, versioned.schema_for(req, types.NO_QUERY))
        if tag not in _tags(_server(req, server_id, 'show')):
            raise errors.not_found(f"Server {server_id} has no tag '{tag}'")
        resp.status = 204

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               tag: str) -> None:
        versioned.require(req, EXISTS)
        validation.validate_body({'type': 'null'}, util.read_body(req))
        instance = _server(req, server_id, 'update')
        api = util.compute_api()
        api.check_editable(instance, 'update tag')
        try:
            jsonschema.validate(tag, types.tag)
        except jsonschema.ValidationError as e:
            raise errors.bad_request(
                f"Tag '{tag}' is invalid. It must be a non empty string without characters "
                f"'/' and ','. Validation error message: {e.message}") from None
        tags = _tags(instance)
        if len(tags) >= MAX_TAG_COUNT:
            raise errors.bad_request(
                f'The number of tags exceeded the per-server limit {MAX_TAG_COUNT}')
        if tag in tags:
            resp.status = 204
            return
        api.set_tags(util.ctx(req), instance, [*tags, tag], 'update tag')
        resp.status = 201
        resp.set_header('Location', util.self_url(req, 'servers', server_id, 'tags', tag))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str,
                  tag: str) -> None:
        instance = _server(req, server_id, 'delete')
        api = util.compute_api()
        api.check_editable(instance, 'delete tag')
        tags = _tags(instance)
        if tag not in tags:
            raise errors.not_found(f"Instance {server_id} has no tag '{tag}'")
        api.set_tags(util.ctx(req), instance, [t for t in tags if t != tag], 'delete tag')
        resp.status = 204
