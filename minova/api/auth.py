"""Who is calling: the request context, built by a pluggable middleware.

`[api] auth_strategy` chooses the middleware:

* `noauth2` (testing): `X-Auth-Token: user_id[:project_id]`; the project
  defaults to `X-Auth-Project-Id`, else the user id. User `admin` gets the
  roles admin, member and reader, everybody else member and reader; an
  `X-Roles` header replaces them.
* `keystone`: keystonemiddleware's auth_token (configured by
  `[keystone_authtoken]`) wraps the WSGI app (`wrap_keystone`) and validates
  the token, answering 401 with `WWW-Authenticate: Keystone uri="..."` itself;
  `KeystoneContextMiddleware` then builds the context from the headers it sets
  (user, project, roles, scope, the token and the service catalog).

Either way handlers only ever see `req.context.ctx`, a RequestContext.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import falcon

from minova import context
from minova.api import errors, identity
from minova.context import RequestContext
from minova.wsgi.keystone import wrap_keystone  # noqa: F401 - re-exported

LOG = logging.getLogger(__name__)

# Catalog entries the context keeps: the services mini-Nova may call on a
# user's behalf (as Nova keeps only the ones it uses).
CATALOG_TYPES = frozenset({'image', 'placement', 'network', 'block-storage', 'volumev3',
                           'key-manager', 'accelerator'})

# Version discovery needs no credentials.
PUBLIC_PATHS = frozenset({'/', '/v2.1', '/v2.1/', '/v2', '/v2/'})
# Under noauth2 also the identity stub's (minova.api.identity) token and
# version calls: it checks the token itself where Keystone does.
NOAUTH_PUBLIC_PATHS = PUBLIC_PATHS | identity.PUBLIC_PATHS


def _roles(header: str | None) -> list[str]:
    return [r.strip() for r in (header or '').split(',') if r.strip()]


def _global_request_id(req: falcon.Request) -> str | None:
    value = req.get_header('X-OpenStack-Request-ID')
    return value if value and value.startswith('req-') else None


def _unauthorized() -> errors.HTTPFault:
    return errors.HTTPFault(401, errors.UNAUTHORIZED_MESSAGE)


class NoAuth2Middleware:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.ctx = None
        if req.path in NOAUTH_PUBLIC_PATHS:
            return
        token = req.get_header('X-Auth-Token')
        if not token:
            raise _unauthorized()
        user_id, _, project_id = token.partition(':')
        project_id = project_id or req.get_header('X-Auth-Project-Id') or user_id
        if not (user_id and project_id and context.ids_fit(user_id, project_id)):
            # A user and a project the databases can record; anything else
            # (empty, or longer than any id Keystone makes) is no identity.
            raise _unauthorized()
        roles = _roles(req.get_header('X-Roles'))
        if not roles:
            roles = ['admin', 'member', 'reader'] if user_id == 'admin' else \
                ['member', 'reader']
        req.context.ctx = RequestContext(
            user_id=user_id, project_id=project_id, roles=roles,
            request_id=req.context.request_id, global_request_id=_global_request_id(req))


def service_catalog(header: str | None) -> list[dict[str, Any]]:
    """The X-Service-Catalog entries worth carrying, or [] if it is unusable."""
    if not header:
        return []
    try:
        catalog = json.loads(header)
    except ValueError:
        return []
    if not isinstance(catalog, list):
        return []
    return [s for s in catalog if isinstance(s, dict) and s.get('type') in CATALOG_TYPES]


class KeystoneContextMiddleware:
    """Context from the headers keystonemiddleware's auth_token sets."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.ctx = None
        if req.path in PUBLIC_PATHS:
            return
        # auth_token rejects bad tokens itself; this guards against a
        # deployment that sets delay_auth_decision or forgets the wrapper.
        if req.get_header('X-Identity-Status') != 'Confirmed':
            raise _unauthorized()
        if not req.get_header('X-User-Id'):
            raise _unauthorized()
        ctx = RequestContext.from_environ(
            req.env, request_id=req.context.request_id,
            global_request_id=_global_request_id(req),
            service_catalog=service_catalog(req.get_header('X-Service-Catalog')))
        LOG.debug('Keystone identity: user %s project %s roles %s',
                  ctx.user_id, ctx.project_id, ','.join(ctx.roles))
        req.context.ctx = ctx


def middleware_for(strategy: str) -> KeystoneContextMiddleware | NoAuth2Middleware:
    if strategy == 'keystone':
        return KeystoneContextMiddleware()
    return NoAuth2Middleware()


class ProjectPathMiddleware:
    """Accept `/v2.1/{project_id}/...` as older clients build it.

    The project segment is removed before routing, so one route table serves
    both spellings; `req.context.project_in_url` remembers it so that links in
    responses keep the caller's style. A project that is not the caller's is
    refused the way Nova refuses it.
    """

    def __init__(self, collections: frozenset[str]) -> None:
        self.collections = collections

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.project_in_url = None
        ctx = req.context.ctx
        parts = req.path.split('/', 3)  # '', 'v2.1', segment, rest
        if ctx is None or len(parts) < 3 or parts[1] != 'v2.1' or not parts[2]:
            return
        segment = parts[2]
        rest = parts[3] if len(parts) > 3 else ''
        if segment in self.collections or rest.split('/', 1)[0] not in self.collections:
            return
        if segment != ctx.project_id:
            raise errors.bad_request(
                f"Malformed request URL: URL's project_id '{segment}' doesn't match "
                f"Context's project_id '{ctx.project_id}'")
        req.context.project_in_url = segment
        req.path = '/v2.1/' + rest
