"""/identity under noauth2: the little of Keystone's v3 API that clients ask for.

With no Keystone, python-openstackclient, novaclient and openstacksdk still
want one: to get a token and a service catalog, to learn the project of the
token (``openstack quota show``, ``usage show``), and to look projects and
users up by name (``quota set PROJECT``, ``flavor create --project``). This
stub answers those calls the way Keystone does, in noauth2's terms:

* ``POST /identity/v3/auth/tokens`` (password or token method, project
  scope by name or id) issues the noauth2 token ``user:project`` in
  ``X-Subject-Token``, with roles (user ``admin`` is an administrator) and a
  catalog of compute, placement, image and identity. As noauth2 trusts any
  token, no password is checked: names are the ids.
* ``GET|HEAD /identity/v3/auth/tokens`` validates ``X-Subject-Token``;
  ``GET /identity/v3/auth/catalog`` and ``/auth/projects``.
* ``GET /identity/v3/projects[/{id}]``, ``/users[/{id}]``, ``/domains[/{id}]``:
  any id exists (noauth2 accepts any project), a listing filtered by
  ``name`` has that one entry, an unfiltered one the caller's own.

So a client is pointed at it with ordinary password credentials
(``auth_url: http://HOST:8774/identity/v3``), as at a real Keystone.
"""
from __future__ import annotations

import datetime
import urllib.parse
import uuid
from typing import Any

import falcon

from minova.conf import CONF
from minova.context import MAX_ID_LENGTH as MAX_ID

PREFIX = '/identity'
V3 = PREFIX + '/v3'
DOMAIN = {'id': 'default', 'name': 'Default'}
REGION = 'RegionOne'
_UPDATED = '2024-04-01T00:00:00Z'
_ADMIN_ROLES = ('admin', 'member', 'reader')
_MEMBER_ROLES = ('member', 'reader')


class IdentityError(Exception):
    """Answered with Keystone's error body, {"error": {"code", "title", "message"}}."""

    def __init__(self, code: int, title: str, message: str) -> None:
        super().__init__(message)
        self.code, self.title, self.message = code, title, message


def _handle(req: falcon.Request, resp: falcon.Response, ex: Exception,
            params: dict[str, Any]) -> None:
    assert isinstance(ex, IdentityError)
    resp.status = ex.code
    if ex.code == 401:
        resp.set_header('WWW-Authenticate', f'Keystone uri="{req.prefix}{PREFIX}"')
    resp.media = {'error': {'code': ex.code, 'title': ex.title, 'message': ex.message}}


def register(app: falcon.App) -> None:
    """The stub's routes and error format on the compute API's app."""
    for path, resource in ROUTES:
        app.add_route(path, resource)
    app.add_error_handler(IdentityError, _handle)


def _fault(code: int, title: str, message: str) -> IdentityError:
    return IdentityError(code, title, message)


def _unauthorized(message: str = 'The request you have made requires authentication.'
                  ) -> IdentityError:
    return _fault(401, 'Unauthorized', message)


def _check_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID or ':' in value:
        raise _unauthorized(f'Invalid {what}: {value!r}')
    return value


def parse_token(token: str | None) -> tuple[str, str] | None:
    """(user, project) of a noauth2 token, as NoAuth2Middleware reads it."""
    if not token:
        return None
    user, _, project = token.partition(':')
    project = project or user
    if not (0 < len(user) <= MAX_ID and 0 < len(project) <= MAX_ID):
        return None
    return user, project


def _version(base: str) -> dict[str, Any]:
    return {'id': 'v3.14', 'status': 'stable', 'updated': _UPDATED,
            'links': [{'rel': 'self', 'href': f'{base}{V3}/'}],
            'media-types': [{'base': 'application/json',
                             'type': 'application/vnd.openstack.identity-v3+json'}]}


def _host_of(req: falcon.Request) -> str:
    return urllib.parse.urlsplit(req.prefix).hostname or '127.0.0.1'


def _as_seen(url: str, req: falcon.Request) -> str:
    """A configured loopback/wildcard URL with the host the client reached us on."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname in ('127.0.0.1', 'localhost', '0.0.0.0', '::') and parts.port:
        host = _host_of(req)
        host = f'[{host}]' if ':' in host else host
        parts = parts._replace(netloc=f'{host}:{parts.port}')
    return urllib.parse.urlunsplit(parts).rstrip('/')


def _cinder_url(project: str | None) -> str | None:
    """The Cinder this deployment uses ([cinder] endpoint_template with the
    token's project, or endpoint_override), for clients that look volumes up."""
    if 'cinder' not in CONF:
        return None
    url = CONF.cinder.endpoint_template or getattr(CONF.cinder, 'endpoint_override', None)
    if not url:
        return None
    if '%(project_id)s' in url:
        if project is None:
            return None
        url = url.replace('%(project_id)s', project)
    return str(url)


def catalog(req: falcon.Request, project: str | None = None) -> list[dict[str, Any]]:
    """compute, identity, and the placement, image, network and volume services
    this API uses."""
    base = req.prefix.rstrip('/')
    services = [('compute', 'nova', f'{base}/v2.1'), ('identity', 'keystone', f'{base}{V3}')]
    placement = getattr(CONF.placement, 'endpoint_override', None) \
        if 'placement' in CONF else None
    if placement:
        services.append(('placement', 'placement', _as_seen(placement, req)))
    glance = CONF.glance.api_servers if 'glance' in CONF else None
    if glance:
        services.append(('image', 'glance', _as_seen(glance[0], req)))
    neutron = getattr(CONF.neutron, 'endpoint_override', None) if 'neutron' in CONF else None
    if neutron:   # the Neutron this deployment uses (clients look networks up there)
        services.append(('network', 'neutron', _as_seen(neutron, req)))
    cinder = _cinder_url(project)
    if cinder:    # both names clients look for (openstacksdk: block-storage)
        services += [('volumev3', 'cinderv3', _as_seen(cinder, req)),
                     ('block-storage', 'cinder', _as_seen(cinder, req))]
    out = []
    for kind, name, url in services:
        sid = uuid.uuid5(uuid.NAMESPACE_URL, f'{kind}:{url}').hex
        out.append({'id': sid, 'type': kind, 'name': name, 'endpoints': [
            {'id': uuid.uuid5(uuid.NAMESPACE_URL, f'{iface}:{kind}:{url}').hex,
             'interface': iface, 'region': REGION, 'region_id': REGION, 'url': url}
            for iface in ('public', 'internal', 'admin')]})
    return out


def _project(project_id: str) -> dict[str, Any]:
    return {'id': project_id, 'name': project_id, 'domain_id': DOMAIN['id'],
            'description': '', 'enabled': True, 'is_domain': False,
            'parent_id': DOMAIN['id'], 'tags': [], 'options': {},
            'links': {'self': f'{V3}/projects/{project_id}'}}


def _user(user_id: str) -> dict[str, Any]:
    return {'id': user_id, 'name': user_id, 'domain_id': DOMAIN['id'], 'enabled': True,
            'password_expires_at': None, 'options': {},
            'links': {'self': f'{V3}/users/{user_id}'}}


def _domain(domain_id: str) -> dict[str, Any]:
    name = DOMAIN['name'] if domain_id == DOMAIN['id'] else domain_id
    return {'id': domain_id, 'name': name, 'description': '', 'enabled': True,
            'tags': [], 'options': {}, 'links': {'self': f'{V3}/domains/{domain_id}'}}


def _iso(when: datetime.datetime) -> str:
    return when.strftime('%Y-%m-%dT%H:%M:%S.000000Z')


def token_body(req: falcon.Request, user: str, project: str | None,
               methods: list[str]) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC)
    roles = _ADMIN_ROLES if user == 'admin' else _MEMBER_ROLES
    token: dict[str, Any] = {
        'methods': methods, 'audit_ids': [uuid.uuid4().hex[:22]],
        'issued_at': _iso(now), 'expires_at': _iso(now + datetime.timedelta(hours=12)),
        'user': {'id': user, 'name': user, 'domain': dict(DOMAIN),
                 'password_expires_at': None}}
    if project is not None:
        token.update(project={'id': project, 'name': project, 'domain': dict(DOMAIN)},
                     is_domain=False, roles=[{'id': r, 'name': r} for r in roles],
                     catalog=catalog(req, project))
    return {'token': token}


def _caller(req: falcon.Request) -> tuple[str, str]:
    who = parse_token(req.get_header('X-Auth-Token'))
    if who is None:
        raise _unauthorized()
    return who


def _authenticate(body: Any) -> tuple[str, str | None, list[str]]:
    """(user, project or None, methods) from a v3 auth request body."""
    try:
        auth = body['auth']
        identity = auth['identity']
        methods = list(identity['methods'])
    except (KeyError, TypeError):
        raise _fault(400, 'Bad Request', 'Expecting to find identity in auth.') from None
    user = project = None
    if 'password' in methods:
        pw_user = (identity.get('password') or {}).get('user') or {}
        user = _check_id(pw_user.get('name') or pw_user.get('id'), 'user')
    elif 'token' in methods:
        who = parse_token((identity.get('token') or {}).get('id'))
        if who is None:
            raise _unauthorized('Could not find token.')
        user, project = who
    else:
        raise _unauthorized(f'Unsupported authentication methods: {methods}')
    scope = auth.get('scope')
    if isinstance(scope, dict) and isinstance(scope.get('project'), dict):
        scoped = scope['project']
        project = _check_id(scoped.get('name') or scoped.get('id'), 'project')
    elif scope:
        project = None  # domain or system scope: no project, as Keystone
    elif 'token' not in methods:
        project = None
    return user, project, methods


class Root:
    """GET /identity: the versions Keystone's root lists (300, as Keystone)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_300
        resp.media = {'versions': {'values': [_version(req.prefix.rstrip('/'))]}}


class Version:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {'version': _version(req.prefix.rstrip('/'))}


class Tokens:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        user, project, methods = _authenticate(req.get_media(default_when_empty=None))
        resp.status = falcon.HTTP_201
        resp.set_header('X-Subject-Token', f'{user}:{project}' if project else user)
        resp.media = token_body(req, user, project, methods)

    def _subject(self, req: falcon.Request) -> tuple[str, str]:
        _caller(req)
        subject = parse_token(req.get_header('X-Subject-Token'))
        if subject is None:
            raise _fault(404, 'Not Found', 'Could not find token.')
        return subject

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        user, project = self._subject(req)
        resp.set_header('X-Subject-Token', req.get_header('X-Subject-Token', default=''))
        resp.media = token_body(req, user, project, ['token'])

    def on_head(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._subject(req)
        resp.status = falcon.HTTP_200

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._subject(req)
        resp.status = falcon.HTTP_204


class AuthCatalog:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _, project = _caller(req)
        resp.media = {'catalog': catalog(req, project), 'links': {'self': f'{V3}/auth/catalog'}}


class AuthProjects:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _, project = _caller(req)
        resp.media = {'projects': [_project(project)], 'links': {'self': f'{V3}/auth/projects'}}


def _collection(kind: str, make: Any, own: str) -> type:
    """GET /{kind} (filtered by name: that one; else the caller's) and /{kind}/{id}."""

    class Collection:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            name = req.get_param('name')
            ids = [name] if name else [own_of(req)]
            resp.media = {kind: [make(i) for i in ids if i and len(i) <= MAX_ID],
                          'links': {'self': f'{V3}/{kind}', 'next': None, 'previous': None}}

    def own_of(req: falcon.Request) -> str:
        user, project = _caller(req)
        return {'user': user, 'project': project, 'domain': DOMAIN['id']}[own]

    return Collection


def _member(key: str, make: Any) -> type:
    class Member:
        def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
            _caller(req)
            resp.media = {key: make(item_id)}

    return Member


ROUTES: list[tuple[str, Any]] = [
    (PREFIX, Root()),
    (V3, Version()),
    (V3 + '/auth/tokens', Tokens()),
    (V3 + '/auth/catalog', AuthCatalog()),
    (V3 + '/auth/projects', AuthProjects()),
    (V3 + '/projects', _collection('projects', _project, 'project')()),
    (V3 + '/projects/{item_id}', _member('project', _project)()),
    (V3 + '/users', _collection('users', _user, 'user')()),
    (V3 + '/users/{item_id}', _member('user', _user)()),
    (V3 + '/domains', _collection('domains', _domain, 'domain')()),
    (V3 + '/domains/{item_id}', _member('domain', _domain)()),
]

# Reached without a noauth2 token (the handlers check one where Keystone does).
PUBLIC_PATHS = frozenset(path for path, _ in ROUTES if '{' not in path)
