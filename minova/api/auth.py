"""Who is calling: the request context, built by a pluggable middleware.

`[api] auth_strategy` chooses the middleware:

* `noauth2` (testing): `X-Auth-Token: user_id[:project_id]`; the project
  defaults to `X-Auth-Project-Id`, else the user id. User `admin` gets the
  roles admin, member and reader, everybody else member and reader; an
  `X-Roles` header replaces them.
* `keystone`: keystonemiddleware's auth_token wraps the WSGI app (see
  wsgi.make_app) and validates the token; `KeystoneContextMiddleware` then
  builds the context from the X-User-Id/X-Project-Id/X-Roles headers it sets.

Either way handlers only ever see `req.context.ctx`, a RequestContext.
"""
from __future__ import annotations

import falcon

from minova.api import errors
from minova.context import RequestContext

# Version discovery needs no credentials.
NOAUTH_IDENTITY_PATH = '/identity/v3'
PUBLIC_PATHS = frozenset({'/', '/v2.1', '/v2.1/', NOAUTH_IDENTITY_PATH})


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
        if req.path in PUBLIC_PATHS:
            return
        token = req.get_header('X-Auth-Token')
        if not token:
            raise _unauthorized()
        user_id, _, project_id = token.partition(':')
        project_id = project_id or req.get_header('X-Auth-Project-Id') or user_id
        roles = _roles(req.get_header('X-Roles'))
        if not roles:
            roles = ['admin', 'member', 'reader'] if user_id == 'admin' else \
                ['member', 'reader']
        req.context.ctx = RequestContext(
            user_id=user_id, project_id=project_id, roles=roles,
            request_id=req.context.request_id, global_request_id=_global_request_id(req))


class KeystoneContextMiddleware:
    """Context from the headers keystonemiddleware's auth_token sets."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.ctx = None
        if req.path in PUBLIC_PATHS:
            return
        if req.get_header('X-Identity-Status', default='Confirmed') != 'Confirmed':
            raise _unauthorized()
        user_id = req.get_header('X-User-Id') or req.get_header('X-User')
        project_id = req.get_header('X-Project-Id') or req.get_header('X-Tenant-Id')
        if not user_id:
            raise _unauthorized()
        req.context.ctx = RequestContext(
            user_id=user_id, project_id=project_id, roles=_roles(req.get_header('X-Roles')),
            user_name=req.get_header('X-User-Name'),
            project_name=req.get_header('X-Project-Name'),
            request_id=req.context.request_id, global_request_id=_global_request_id(req))


def middleware_for(strategy: str) -> object:
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
