"""Authentication middleware: who is calling.

`[placement_api] auth_strategy` picks the middleware. `noauth2` trusts the
X-Auth-Token header: `admin` is an admin, `user:project` a plain user. A
`keystone` strategy (keystonemiddleware's auth_token validating the token and
setting X-Roles/X-User-Id/X-Project-Id) plugs in by building the context from
those headers instead; see `KeystoneContextMiddleware`.
"""
from __future__ import annotations

import falcon

from minova.context import RequestContext
from minova.placement import errors

_PUBLIC_PATHS = ('/',)


def _global_request_id(req: falcon.Request) -> str | None:
    value = req.get_header('X-OpenStack-Request-ID')
    return value if value and value.startswith('req-') else None


class NoAuth2Middleware:
    """X-Auth-Token `admin` or `user:project`; anything else is a plain user."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.ctx = None
        if req.path in _PUBLIC_PATHS:
            return
        token = req.get_header('X-Auth-Token')
        if not token:
            raise errors.PlacementError(
                401, 'The request you have made requires authentication.')
        if token == 'admin':
            user_id, project_id, roles = 'admin', 'admin', ['admin']
        elif ':' in token:
            user_id, project_id = token.split(':', 1)
            roles = ['member', 'reader']
        else:
            user_id, project_id, roles = token, token, ['member', 'reader']
        req.context.ctx = RequestContext(
            user_id=user_id, project_id=project_id, roles=roles,
            request_id=req.context.request_id,
            global_request_id=_global_request_id(req))


class KeystoneContextMiddleware:
    """Context from the headers keystonemiddleware's auth_token sets.

    Meant to run behind `keystonemiddleware.auth_token.AuthProtocol` wrapping
    the WSGI app; it rejects requests whose token was not confirmed.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.ctx = None
        if req.path in _PUBLIC_PATHS:
            return
        if req.get_header('X-Identity-Status') != 'Confirmed':
            raise errors.PlacementError(
                401, 'The request you have made requires authentication.')
        roles = [r.strip() for r in (req.get_header('X-Roles') or '').split(',') if r]
        req.context.ctx = RequestContext(
            user_id=req.get_header('X-User-Id'), project_id=req.get_header('X-Project-Id'),
            roles=roles, request_id=req.context.request_id,
            global_request_id=_global_request_id(req))


def middleware_for(strategy: str) -> object:
    if strategy == 'keystone':
        return KeystoneContextMiddleware()
    return NoAuth2Middleware()
