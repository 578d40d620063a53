"""/resource_providers/{uuid}/inventories[/{resource_class}]."""
from __future__ import annotations

from typing import Any

import falcon

from minova.db import engines
from minova.placement import errors, util
from minova.placement.db import inventories, providers
from minova.placement.handlers.resource_provider import require_uuid
from minova.placement.schemas import inventory as schema


def _inventories_body(provider: dict[str, Any], invs: dict[str, dict]) -> dict[str, Any]:
    return {'resource_provider_generation': provider['generation'], 'inventories': invs}


def _one_body(provider: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    return {'resource_provider_generation': provider['generation'], **record}


def _current(conn: Any, provider: dict[str, Any]) -> dict[str, dict]:
    return inventories.get_all(conn, [provider['id']])[provider['id']]


def _validated(req: falcon.Request, provider: dict[str, Any],
               records: dict[str, dict]) -> dict[str, dict]:
    allow_equal = util.want(req, '1.26')
    return {rc: inventories.validate(provider, rc, rec, allow_equal)
            for rc, rec in records.items()}


@util.handler('placement:resource_providers:inventories:list')
def get_inventories(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with engines.reader(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        util.send_json(resp, _inventories_body(provider, _current(conn, provider)))


@util.handler('placement:resource_providers:inventories:show')
def get_inventory(req: falcon.Request, resp: falcon.Response, uuid: str,
                  resource_class: str) -> None:
    uuid = require_uuid(uuid)
    with engines.reader(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        record = _current(conn, provider).get(resource_class)
    if record is None:
        raise errors.not_found(f'No inventory of class {resource_class} for {uuid}')
    util.send_json(resp, _one_body(provider, record))


@util.handler('placement:resource_providers:inventories:update')
def set_inventories(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    data = util.extract_json(req, schema.INVENTORIES)
    with engines.writer(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        providers.check_generation(provider, data['resource_provider_generation'])
        records = _validated(req, provider, data['inventories'])
        inventories.replace(conn, provider, records)
        util.send_json(resp, _inventories_body(provider, _current(conn, provider)))


@util.handler('placement:resource_providers:inventories:create')
def create_inventory(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    data = util.extract_json(req, schema.POST_INVENTORY)
    rc = data.pop('resource_class')
    generation = data.pop('resource_provider_generation')
    with engines.writer(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        providers.check_generation(provider, generation)
        current = _current(conn, provider)
        if rc in current:
            raise errors.conflict(
                f'Update conflict: Inventory for {rc} on resource provider {uuid} '
                'already exists.')
        current[rc] = data
        inventories.replace(conn, provider, _validated(req, provider, current))
        record = _current(conn, provider)[rc]
    resp.location = f'/resource_providers/{uuid}/inventories/{rc}'
    util.send_json(resp, _one_body(provider, record), 201)


@util.handler('placement:resource_providers:inventories:update')
def update_inventory(req: falcon.Request, resp: falcon.Response, uuid: str,
                     resource_class: str) -> None:
    uuid = require_uuid(uuid)
    data = util.extract_json(req, schema.INVENTORY)
    generation = data.pop('resource_provider_generation')
    with engines.writer(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        providers.check_generation(provider, generation)
        current = _current(conn, provider)
        if resource_class not in current:
            raise errors.bad_request(
                f'No inventory record with resource class for resource provider '
                f'{uuid}: No inventory of class {resource_class} found.')
        current[resource_class] = data
        inventories.replace(conn, provider, _validated(req, provider, current))
        record = _current(conn, provider)[resource_class]
    util.send_json(resp, _one_body(provider, record))


@util.handler('placement:resource_providers:inventories:delete', '1.5')
def delete_inventories(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with engines.writer(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        inventories.replace(conn, provider, {})
    util.no_content(resp)


@util.handler('placement:resource_providers:inventories:delete')
def delete_inventory(req: falcon.Request, resp: falcon.Response, uuid: str,
                     resource_class: str) -> None:
    uuid = require_uuid(uuid)
    with engines.writer(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        inventories.delete_one(conn, provider, resource_class)
    util.no_content(resp)
