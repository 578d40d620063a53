"""/resource_providers and /resource_providers/{uuid}."""
from __future__ import annotations

import uuid as uuidlib
from typing import Any

import falcon

from minova.db import engines
from minova.placement import errors, util
from minova.placement.db import names, providers
from minova.placement.schemas import resource_provider as schema


def serialize(req: falcon.Request, p: dict[str, Any]) -> dict[str, Any]:
    base = f'/resource_providers/{p["uuid"]}'
    links = [{'rel': 'self', 'href': base},
             {'rel': 'inventories', 'href': f'{base}/inventories'},
             {'rel': 'usages', 'href': f'{base}/usages'}]
    if util.want(req, '1.1'):
        links.append({'rel': 'aggregates', 'href': f'{base}/aggregates'})
    if util.want(req, '1.6'):
        links.append({'rel': 'traits', 'href': f'{base}/traits'})
    if util.want(req, '1.11'):
        links.append({'rel': 'allocations', 'href': f'{base}/allocations'})
    data = {'uuid': p['uuid'], 'name': p['name'], 'generation': p['generation'],
            'links': links}
    if util.want(req, '1.14'):
        data['parent_provider_uuid'] = p['parent_provider_uuid']
        data['root_provider_uuid'] = p['root_provider_uuid']
    return data


def require_uuid(uuid: str) -> str:
    if not util.is_uuid(uuid):
        raise errors.not_found(f'No resource provider with uuid {uuid} found',
                               errors.RESOURCE_PROVIDER_NOT_FOUND)
    return util.normalize_uuid(uuid)


@util.handler('placement:resource_providers:create')
def create_resource_provider(req: falcon.Request, resp: falcon.Response) -> None:
    data = util.extract_json(req, schema.POST_V1_14 if util.want(req, '1.14')
                             else schema.POST_V1_0)
    uuid = util.normalize_uuid(data.get('uuid') or str(uuidlib.uuid4()))
    parent = data.get('parent_provider_uuid')
    with engines.writer(req.context.url) as conn:
        provider = providers.create(conn, uuid, data['name'],
                                    util.normalize_uuid(parent) if parent else None)
    resp.location = f'{req.prefix}/resource_providers/{uuid}'
    if util.want(req, '1.20'):
        util.send_json(resp, serialize(req, provider))
    else:
        resp.status = falcon.HTTP_201


@util.handler('placement:resource_providers:show')
def get_resource_provider(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with engines.reader(req.context.url) as conn:
        provider = providers.require(conn, uuid)
    util.send_json(resp, serialize(req, provider))


@util.handler('placement:resource_providers:list')
def list_resource_providers(req: falcon.Request, resp: falcon.Response) -> None:
    allowed = {'name', 'uuid'}
    for param, version in (('member_of', '1.3'), ('resources', '1.4'),
                           ('in_tree', '1.14'), ('required', '1.18')):
        if util.want(req, version):
            allowed.add(param)
    util.check_query(req, allowed)
    filters: dict[str, Any] = {'name': util.query(req, 'name')}
    uuid = util.query(req, 'uuid')
    if uuid is not None:
        if not util.is_uuid(uuid):
            raise errors.bad_request(f'Invalid query string parameters: uuid: {uuid!r} '
                                     'is not a \'uuid\'', errors.QUERYPARAM_BAD_VALUE)
        filters['uuid'] = util.normalize_uuid(uuid)
    in_tree = util.query(req, 'in_tree')
    if in_tree is not None:
        if not util.is_uuid(in_tree):
            raise errors.bad_request(f'Invalid query string parameters: in_tree: '
                                     f'{in_tree!r} is not a \'uuid\'',
                                     errors.QUERYPARAM_BAD_VALUE)
        filters['in_tree'] = util.normalize_uuid(in_tree)
    member_of = util.query_all(req, 'member_of')
    if member_of:
        filters['member_of'], filters['forbidden_aggs'] = util.parse_member_of(
            member_of, util.want(req, '1.24'), util.want(req, '1.32'))
    with engines.reader(req.context.url) as conn:
        resources = util.query(req, 'resources')
        if resources is not None:
            wanted = util.parse_resources(resources)
            ids = names.ids_for(conn, 'rc', list(wanted))
            unknown = sorted(set(wanted) - set(ids))
            if unknown:
                raise errors.bad_request(
                    'Invalid resource class in resources parameter: No such resource '
                    f'class {unknown[0]}.')
            filters['resources'] = {ids[rc]: n for rc, n in wanted.items()}
        required = util.query_all(req, 'required')
        if required:
            req_sets, forb_names = util.parse_traits(
                required, util.want(req, '1.22'), util.want(req, '1.39'))
            every = set().union(forb_names, *req_sets)
            ids = names.ids_for(conn, 'trait', every)
            unknown = sorted(every - set(ids))
            if unknown:
                raise errors.bad_request(
                    f'Invalid trait(s) in "required" parameter: No such trait(s): '
                    f'{", ".join(unknown)}.')
            filters['required'] = [{ids[n] for n in any_of} for any_of in req_sets]
            filters['forbidden'] = {ids[n] for n in forb_names}
        rows = providers.list_providers(conn, **filters)
    util.send_json(resp, {'resource_providers': [serialize(req, p) for p in rows]})


@util.handler('placement:resource_providers:update')
def update_resource_provider(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    nested = util.want(req, '1.14')
    data = util.extract_json(req, schema.PUT_V1_14 if nested else schema.PUT_V1_0)
    with engines.writer(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        parent = provider['parent_provider_uuid']
        if nested and 'parent_provider_uuid' in data:
            parent = data['parent_provider_uuid']
            parent = util.normalize_uuid(parent) if parent else None
        provider = providers.update(conn, provider, data['name'], parent,
                                    allow_reparent=util.want(req, '1.37'))
    util.send_json(resp, serialize(req, provider))


@util.handler('placement:resource_providers:delete')
def delete_resource_provider(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with engines.writer(req.context.url) as conn:
        provider = providers.get(conn, uuid)
        if provider is None:
            raise errors.not_found(f'No resource provider with uuid {uuid} found for delete',
                                   errors.RESOURCE_PROVIDER_NOT_FOUND)
        providers.delete(conn, provider)
    util.no_content(resp)
