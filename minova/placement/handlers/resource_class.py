"""/resource_classes and /resource_classes/{name} (1.2+)."""
from __future__ import annotations

import re

import falcon
import sqlalchemy as sa

from minova.db import engines
from minova.placement import errors, util
from minova.placement.db import names
from minova.placement.schemas import traits_aggregates as schema

_CUSTOM = re.compile(r'^CUSTOM_[A-Z0-9_]+$')


def _body(name: str) -> dict:
    return {'name': name, 'links': [{'rel': 'self', 'href': f'/resource_classes/{name}'}]}


@util.handler('placement:resource_classes:list', '1.2')
def list_resource_classes(req: falcon.Request, resp: falcon.Response) -> None:
    with engines.reader(req.context.url) as conn:
        util.send_json(resp, {'resource_classes': [_body(n) for n in
                                                   names.list_classes(conn)]})


@util.handler('placement:resource_classes:show', '1.2')
def get_resource_class(req: falcon.Request, resp: falcon.Response, name: str) -> None:
    with engines.reader(req.context.url) as conn:
        if names.rc_id(conn, name) is None:
            raise errors.not_found(f'No such resource class {name}.')
    util.send_json(resp, _body(name))


# Attempts at creating a class while concurrent creates take the ids it picks.
CREATE_ATTEMPTS = 10


def _create(url: str, name: str, exist_ok: bool) -> bool:
    """Create the class; False when it exists (409 unless exist_ok).

    A new class takes the next free id, so concurrent creates of different
    classes can pick the same one: the loser looks again and takes the next.
    """
    for _ in range(CREATE_ATTEMPTS):
        try:
            with engines.writer(url) as conn:
                if names.rc_id(conn, name) is not None:
                    if exist_ok:
                        return False
                    raise errors.conflict(
                        f'Conflicting resource class already exists: {name}',
                        errors.DUPLICATE_NAME)
                names.create_class(conn, name)
                return True
        except sa.exc.IntegrityError:
            continue  # the name or the id was taken meanwhile: look again
    raise errors.conflict(f'Resource class {name} could not be created: too many '
                          'concurrent updates. Please retry.', errors.CONCURRENT_UPDATE)


@util.handler('placement:resource_classes:create', '1.2')
def create_resource_class(req: falcon.Request, resp: falcon.Response) -> None:
    name = util.extract_json(req, schema.RESOURCE_CLASS)['name']
    _create(req.context.url, name, exist_ok=False)
    resp.location = f'{req.prefix}/resource_classes/{name}'
    resp.status = falcon.HTTP_201
    resp.content_type = None


@util.handler('placement:resource_classes:update', '1.7')
def update_resource_class(req: falcon.Request, resp: falcon.Response, name: str) -> None:
    """1.7: idempotent create of a custom class (renaming is gone)."""
    if not _CUSTOM.match(name) or len(name) > 255:
        raise errors.bad_request(f"JSON does not validate: '{name}' does not match "
                                 "'^CUSTOM_[A-Z0-9_]+$'")
    created = _create(req.context.url, name, exist_ok=True)
    resp.location = f'{req.prefix}/resource_classes/{name}'
    resp.status = falcon.HTTP_201 if created else falcon.HTTP_204
    resp.content_type = None


@util.handler('placement:resource_classes:delete', '1.2')
def delete_resource_class(req: falcon.Request, resp: falcon.Response, name: str) -> None:
    with engines.writer(req.context.url) as conn:
        rc = names.rc_id(conn, name)
        if rc is None:
            raise errors.not_found(f'No such resource class {name}.')
        if not _CUSTOM.match(name):
            raise errors.bad_request(f'Cannot delete standard resource class {name}: '
                                     'it is not a custom class.')
        if names.class_in_use(conn, rc):
            raise errors.conflict(f'Unable to delete resource class {name}. The resource '
                                  'class is in use in inventory.')
        names.delete_class(conn, name)
    util.no_content(resp)
