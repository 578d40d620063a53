"""/traits, /traits/{name}, /resource_providers/{uuid}/traits (1.6+)."""
from __future__ import annotations

import re

import falcon
import sqlalchemy as sa

from minova.db import engines
from minova.placement import errors, util
from minova.placement.db import names, providers
from minova.placement.handlers.resource_provider import require_uuid
from minova.placement.schemas import traits_aggregates as schema

_CUSTOM = re.compile(r'^CUSTOM_[A-Z0-9_]+$')


@util.handler('placement:traits:list', '1.6')
def list_traits(req: falcon.Request, resp: falcon.Response) -> None:
    util.check_query(req, {'name', 'associated'})
    kwargs: dict = {}
    name = util.query(req, 'name')
    if name:
        if name.startswith('in:'):
            kwargs['name_in'] = [n.strip() for n in name[3:].split(',') if n.strip()]
        elif name.startswith('startswith:'):
            kwargs['startswith'] = name[len('startswith:'):]
        else:
            raise errors.bad_request(
                "Badly formatted name parameter. Expected name query string parameter in "
                "form: ?name=[in|startswith]:[name1,name2|prefix]. Got: " + name,
                errors.QUERYPARAM_BAD_VALUE)
    associated = util.query(req, 'associated')
    if associated is not None:
        if associated.lower() not in ('true', 'false'):
            raise errors.bad_request(
                f'The query parameter "associated" only accepts "true" or "false". '
                f'Got: {associated}', errors.QUERYPARAM_BAD_VALUE)
        kwargs['associated'] = associated.lower() == 'true'
    with engines.reader(req.context.url) as conn:
        util.send_json(resp, {'traits': names.list_traits(conn, **kwargs)})


@util.handler('placement:traits:show', '1.6')
def get_trait(req: falcon.Request, resp: falcon.Response, name: str) -> None:
    with engines.reader(req.context.url) as conn:
        if not names.ids_for(conn, 'trait', [name]):
            raise errors.not_found(f'No such trait(s): {name}.')
    util.no_content(resp)


@util.handler('placement:traits:update', '1.6')
def put_trait(req: falcon.Request, resp: falcon.Response, name: str) -> None:
    if not _CUSTOM.match(name) or len(name) > 255:
        raise errors.bad_request(f"The trait {name} is not valid: it must start with "
                                 "'CUSTOM_' and contain only A-Z, 0-9 and '_'.")
    try:
        with engines.writer(req.context.url) as conn:
            created = names.create_trait(conn, name)
    except sa.exc.IntegrityError:
        created = False  # a concurrent PUT created it first: it exists, as asked
    resp.location = f'{req.prefix}/traits/{name}'
    resp.status = falcon.HTTP_201 if created else falcon.HTTP_204
    resp.content_type = None


@util.handler('placement:traits:delete', '1.6')
def delete_trait(req: falcon.Request, resp: falcon.Response, name: str) -> None:
    if not _CUSTOM.match(name):
        raise errors.bad_request(f'Cannot delete standard trait {name}.')
    with engines.writer(req.context.url) as conn:
        outcome = names.delete_trait(conn, name)
    if outcome == 'missing':
        raise errors.not_found(f'No such trait(s): {name}.')
    if outcome == 'in_use':
        raise errors.conflict(f'The trait {name} is in use by a resource provider.')
    util.no_content(resp)


def _provider_traits_body(conn: object, provider: dict) -> dict:
    return {'traits': providers.get_traits(conn, [provider['id']])[provider['id']],  # type: ignore
            'resource_provider_generation': provider['generation']}


@util.handler('placement:resource_providers:traits:list', '1.6')
def list_provider_traits(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with engines.reader(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        util.send_json(resp, _provider_traits_body(conn, provider))


@util.handler('placement:resource_providers:traits:update', '1.6')
def update_provider_traits(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    data = util.extract_json(req, schema.PROVIDER_TRAITS)
    with engines.writer(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        providers.check_generation(provider, data['resource_provider_generation'])
        ids = names.ids_for(conn, 'trait', data['traits'])
        unknown = sorted(set(data['traits']) - set(ids))
        if unknown:
            raise errors.bad_request(f'No such trait(s): {", ".join(unknown)}')
        providers.set_traits(conn, provider, list(ids.values()))
        util.send_json(resp, _provider_traits_body(conn, provider))


@util.handler('placement:resource_providers:traits:delete', '1.6')
def delete_provider_traits(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with engines.writer(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        providers.set_traits(conn, provider, [])
    util.no_content(resp)
