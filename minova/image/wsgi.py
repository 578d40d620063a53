"""minova-image: the subset of the Image service v2 API that clients and
compute need (create, upload, list, show, update, download, delete, schemas),
backed by minova.image.store. URLs, fields and status codes follow Glance so
openstackclient/openstacksdk and mini-Nova's compute use it unchanged.

Auth is noauth-style, as the rest of the embedded deployment: the token
'user:project' makes the caller a member of project; 'admin' (or user admin)
is an administrator. Without Keystone, a read that carries no token at all is
an administrator's, as Glance's unauthenticated context makes it: Cinder under
its noauth sends none when it reads an image to make a volume from it.
Behind Keystone (make_service_app) no request reaches the app without a
token Keystone confirmed, except the version documents.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import falcon

from minova.conf import CONF
from minova.image import listing, schemas
from minova.image.store import (
    CONTAINER_FORMATS,
    CORE,
    DISK_FORMATS,
    READ_ONLY,
    Conflict,
    ImageStore,
    NotFound,
)
from minova.wsgi import access_log, routes

PATCH_TYPE = 'application/openstack-images-v2.1-json-patch'


READS = ('GET', 'HEAD')


class RequestId:
    def __init__(self, anonymous_reads: bool = False) -> None:
        # True without Keystone: a tokenless read is an administrator's.
        self.anonymous_reads = anonymous_reads

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.request_id = access_log.request_id(req.env)
        token = req.get_header('X-Auth-Token') or ''
        user, _, project = token.partition(':')
        req.context.user = user or None
        req.context.project = req.get_header('X-Project-Id') or project or user or None
        anonymous = not token and req.context.project is None
        req.context.is_admin = 'admin' in (user, token) or \
            'admin' in (req.get_header('X-Roles') or '').split(',') or \
            (self.anonymous_reads and anonymous and req.method in READS)

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, ok: bool) -> None:
        resp.set_header('x-openstack-request-id', req.context.request_id)
        if req.context.project is not None:
            from minova.context import RequestContext
            req.env[access_log.CONTEXT] = RequestContext(
                user_id=req.get_header('X-User-Id') or req.context.user,
                project_id=req.context.project, request_id=req.context.request_id,
                overwrite=False)


def _versions(req: falcon.Request) -> dict[str, Any]:
    base = req.prefix.rstrip('/')
    minors = ['16', '15', '9', '7', '6', '5', '4', '3', '2', '1', '0']
    versions = [{'id': f'v2.{m}', 'status': 'CURRENT' if i == 0 else 'SUPPORTED',
                 'links': [{'rel': 'self', 'href': f'{base}/v2/'}]}
                for i, m in enumerate(minors)]
    return {'versions': versions}


def _view(image: dict[str, Any]) -> dict[str, Any]:
    out = dict(image)
    out['self'] = f'/v2/images/{image["id"]}'
    out['file'] = f'/v2/images/{image["id"]}/file'
    out['schema'] = '/v2/schemas/image'
    return out


def _bad(msg: str) -> falcon.HTTPError:
    return falcon.HTTPBadRequest(title='Bad Request', description=msg)


def _check_values(values: dict[str, Any], creating: bool) -> None:
    """Validate client-settable fields the way Glance's schema does."""
    for key, value in values.items():
        if key in READ_ONLY and not (creating and key == 'id'):
            raise falcon.HTTPForbidden(title='Forbidden',
                                       description=f"Attribute '{key}' is read-only.")
        if key == 'id':
            try:
                uuid.UUID(str(value))
            except ValueError:
                raise _bad(f"Invalid id: {value!r} is not a UUID.") from None
        elif key == 'name' and value is not None and (
                not isinstance(value, str) or len(value) > 255):
            raise _bad('Invalid name: must be a string of at most 255 characters.')
        elif key == 'disk_format' and value is not None and value not in DISK_FORMATS:
            raise _bad(f"Invalid disk_format {value!r}: one of {', '.join(DISK_FORMATS)}.")
        elif key == 'container_format' and value is not None and \
                value not in CONTAINER_FORMATS:
            raise _bad(f"Invalid container_format {value!r}: one of "
                       f"{', '.join(CONTAINER_FORMATS)}.")
        elif key == 'visibility' and value not in ('public', 'private', 'shared',
                                                   'community'):
            raise _bad(f'Invalid visibility {value!r}.')
        elif key in ('min_ram', 'min_disk') and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise _bad(f'Invalid {key}: must be an integer >= 0.')
        elif key in ('protected', 'os_hidden') and not isinstance(value, bool):
            raise _bad(f'Invalid {key}: must be a boolean.')
        elif key == 'tags' and (not isinstance(value, list) or
                                not all(isinstance(t, str) for t in value)):
            raise _bad('Invalid tags: must be a list of strings.')
        elif key == 'owner' and value is not None and not isinstance(value, str):
            raise _bad('Invalid owner.')
        elif key not in CORE and not isinstance(value, str):
            raise _bad(f'Invalid property {key!r}: extra properties must be strings.')


def _json_body(req: falcon.Request) -> Any:
    raw = req.bounded_stream.read()
    try:
        return json.loads(raw or b'{}')
    except ValueError:
        raise _bad('Malformed JSON in request body.') from None


class App:
    def __init__(self, store: ImageStore) -> None:
        self.store = store

    def _visible(self, req: falcon.Request, image: dict[str, Any]) -> bool:
        return listing.can_see(image, req.context.project, req.context.is_admin)

    def _get(self, req: falcon.Request, image_id: str) -> dict[str, Any]:
        try:
            image = self.store.get(image_id)
        except NotFound:
            image = None
        if image is None or not self._visible(req, image):
            raise falcon.HTTPNotFound(title='Not Found',
                                      description=f'No image found with ID {image_id}')
        return image

    def _owned(self, req: falcon.Request, image_id: str) -> dict[str, Any]:
        image = self._get(req, image_id)
        if not req.context.is_admin and image.get('owner') not in (None, req.context.project):
            raise falcon.HTTPForbidden(title='Forbidden',
                                       description='You are not permitted to modify this '
                                                   'image.')
        return image

    # -- routes ---------------------------------------------------------------

    def versions(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_300 if req.path in ('', '/') else falcon.HTTP_200
        resp.media = _versions(req)

    def schema_image(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = schemas.IMAGE

    def schema_images(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = schemas.IMAGES

    def list_images(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = listing.parse(req.params)
        images = [i for i in self.store.list()
                  if listing.visible(i, query, req.context.project, req.context.is_admin)
                  and listing.matches(i, query)]
        listing.sort(images, query)
        if query.marker is not None:
            ids = [i['id'] for i in images]
            if query.marker not in ids:
                raise _bad(f'Invalid marker. Image {query.marker} could not be found.')
            images = images[ids.index(query.marker) + 1:]
        page = images[:query.limit]
        body: dict[str, Any] = {'images': [_view(i) for i in page],
                                'first': '/v2/images', 'schema': '/v2/schemas/images'}
        if len(images) > query.limit and page:
            body['next'] = listing.next_link(req.params, page[-1]['id'])
        resp.media = body

    def create_image(self, req: falcon.Request, resp: falcon.Response) -> None:
        values = _json_body(req)
        if not isinstance(values, dict):
            raise _bad('The request body must be a JSON object.')
        _check_values(values, creating=True)
        owner = values.pop('owner', None) or req.context.project
        try:
            image = self.store.create(values, owner)
        except Conflict:
            raise falcon.HTTPConflict(title='Conflict',
                                      description=f'Image with identifier {values.get("id")} '
                                                  'already exists!') from None
        resp.status = falcon.HTTP_201
        resp.set_header('Location', f'{req.prefix}/v2/images/{image["id"]}')
        resp.media = _view(image)

    def show_image(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        resp.media = _view(self._get(req, image_id))

    def update_image(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        if (req.content_type or '').split(';')[0] != PATCH_TYPE:
            raise falcon.HTTPUnsupportedMediaType(
                title='Unsupported Media Type',
                description=f'Unsupported Content-Type; use {PATCH_TYPE}')
        image = self._owned(req, image_id)
        ops = _json_body(req)
        if not isinstance(ops, list):
            raise _bad('A JSON patch (a list of operations) is required.')
        changes: dict[str, Any] = {}
        removed: list[str] = []
        for op in ops:
            if not isinstance(op, dict) or op.get('op') not in ('add', 'replace', 'remove') \
                    or not str(op.get('path', '')).startswith('/'):
                raise _bad(f'Invalid JSON patch operation: {op!r}')
            key = op['path'][1:]
            if op['op'] == 'remove':
                if key in CORE:
                    raise falcon.HTTPForbidden(title='Forbidden',
                                               description=f"Attribute '{key}' cannot be "
                                                           'removed.')
                if key not in image and key not in changes:
                    raise falcon.HTTPConflict(title='Conflict',
                                              description=f'Property {key} does not exist.')
                removed.append(key)
                changes.pop(key, None)
                continue
            if op['op'] == 'replace' and key not in image and key not in changes:
                raise falcon.HTTPConflict(title='Conflict',
                                          description=f'Property {key} does not exist.')
            _check_values({key: op.get('value')}, creating=False)
            changes[key] = op.get('value')
        resp.media = _view(self.store.update(image_id, changes, tuple(removed)))

    def delete_image(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        image = self._owned(req, image_id)
        if image.get('protected'):
            raise falcon.HTTPForbidden(title='Forbidden',
                                       description=f'Image {image_id} is protected and '
                                                   'cannot be deleted.')
        self.store.delete(image_id)
        resp.status = falcon.HTTP_204

    def upload(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        image = self._owned(req, image_id)
        if not image.get('disk_format') or not image.get('container_format'):
            raise _bad('Properties disk_format, container_format must be set prior to '
                       'saving data.')
        try:
            self.store.upload(image_id, req.bounded_stream)
        except Conflict:
            raise falcon.HTTPConflict(
                title='Conflict',
                description=f'Image status transition from {image["status"]} to saving is '
                            'not allowed') from None
        resp.status = falcon.HTTP_204

    def image_tasks(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        """GET /v2/images/{id}/tasks (Glance 2.12): the image's import tasks.
        Images here are uploaded, never imported, so there are none; clients
        (Tempest's waiters) read an empty list as "nothing pending"."""
        self._get(req, image_id)
        resp.media = {'tasks': []}

    def download(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        image = self._get(req, image_id)
        if image['status'] != 'active':
            resp.status = falcon.HTTP_204
            return
        resp.content_type = 'application/octet-stream'
        resp.content_length = image['size']
        if image.get('checksum'):
            resp.set_header('Content-MD5', image['checksum'])
        resp.stream = self.store.read(image_id)


def make_app(store: ImageStore | None = None, anonymous_reads: bool = False) -> falcon.App:
    """The image API; `anonymous_reads`: tokenless reads see every image, as
    Glance's do without Keystone (for Cinder under noauth)."""
    app_ = App(store or ImageStore(CONF.image_api.images_path))
    app = falcon.App(middleware=[RequestId(anonymous_reads)])
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    for path, methods in (
            ('/', {'GET': app_.versions}),
            ('/versions', {'GET': app_.versions}),
            ('/v2', {'GET': app_.versions}),
            ('/v2/schemas/image', {'GET': app_.schema_image}),
            ('/v2/schemas/images', {'GET': app_.schema_images}),
            ('/v2/images', {'GET': app_.list_images, 'POST': app_.create_image}),
            ('/v2/images/{image_id}', {'GET': app_.show_image, 'PATCH': app_.update_image,
                                       'DELETE': app_.delete_image}),
            ('/v2/images/{image_id}/file', {'GET': app_.download, 'PUT': app_.upload}),
            ('/v2/images/{image_id}/tasks', {'GET': app_.image_tasks})):
        app.add_route(path, routes.resource(methods))
    return app


def make_service_app(store: ImageStore | None = None) -> Any:
    """make_app(), behind Keystone when [api] auth_strategy is keystone.

    auth_token sets the X-Project-Id/X-Roles headers the image API takes its
    caller from; version documents stay public.
    """
    keystone = CONF.api.auth_strategy == 'keystone'
    app: Any = make_app(store, anonymous_reads=not keystone)
    if keystone:
        from minova.wsgi import keystone as keystone_auth
        app = keystone_auth.wrap_keystone(app, CONF, ('/', '/versions', '/v2'))
    return access_log.AccessLog(app, 'minova.image.access')
