"""Authentication middleware: who is calling.

`[placement_api] auth_strategy` picks the middleware. `noauth2` trusts the
X-Auth-Token header as `user:project`: user `admin` is an admin, X-Roles (if
sent) gives the roles, anyone else has none. With
`keystone`, keystonemiddleware's auth_token (configured by
`[keystone_authtoken]`) wraps the app (`wrap_keystone`), validates the token
and answers 401 itself; `KeystoneContextMiddleware` builds the context from
the X-User-Id/X-Project-Id/X-Roles headers it sets. The root document stays
public, as upstream Placement's does.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import falcon

from minova import context
from minova.context import RequestContext
from minova.placement import errors
from minova.wsgi import keystone as keystone_auth

LOG = logging.getLogger(__name__)

_PUBLIC_PATHS = ('/',)


def _global_request_id(req: falcon.Request) -> str | None:
    value = req.get_header('X-OpenStack-Request-ID')
    return value if value and value.startswith('req-') else None


class NoAuth2Middleware:
    """X-Auth-Token `user:project` (or `user`); user `admin` is an admin."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.ctx = None
        if req.path in _PUBLIC_PATHS:
            return
        token = req.get_header('X-Auth-Token')
        if not token:
            raise errors.PlacementError(
                401, 'The request you have made requires authentication.')
        # As upstream placement's noauth: `user[:project]`, user `admin` is an
        # admin, X-Roles (if sent) names the roles outright.
        user_id, _, project_id = token.partition(':')
        project_id = project_id or user_id
        if not context.ids_fit(user_id, project_id):
            raise errors.PlacementError(
                401, 'The request you have made requires authentication.')
        roles_header = req.get_header('X-Roles')
        if roles_header is not None:
            roles = [r.strip() for r in roles_header.split(',') if r.strip()]
        else:
            roles = ['admin'] if user_id == 'admin' else []
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
        ctx = RequestContext.from_environ(
            req.env, request_id=req.context.request_id,
            global_request_id=_global_request_id(req))
        # Tests and operators can see which identity a service used.
        LOG.debug('placement: keystone user %s (%s) project %s roles %s',
                  ctx.user_id, ctx.user_name, ctx.project_id, ','.join(ctx.roles))
        req.context.ctx = ctx


def wrap_keystone(app: Callable[..., Any], conf: Any) -> Callable[..., Any]:
    """`app` behind keystonemiddleware's auth_token; the root stays public."""
    return keystone_auth.wrap_keystone(app, conf, _PUBLIC_PATHS)


def middleware_for(strategy: str) -> object:
    if strategy == 'keystone':
        return KeystoneContextMiddleware()
    return NoAuth2Middleware()
