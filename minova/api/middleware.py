"""Per-request plumbing: request ids and microversion negotiation."""
from __future__ import annotations

import falcon

from minova.api import errors, microversion
from minova.wsgi import access_log, request_body


class RequestIdMiddleware:
    """`req-<uuid>` for every request, echoed as x-openstack-request-id and
    x-compute-request-id, and used as the context's request_id."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.request_id = access_log.request_id(req.env)
        req.context.api_version = None
        req.context.ctx = None
        req.context.project_in_url = None
        # Text no database stores (NUL: PostgreSQL refuses it) never reaches a
        # query from the URL either; see minova/request_body.py.
        problem = request_body.url_problem(req.path, dict(req.params))
        if problem:
            raise errors.bad_request(f'Invalid input in the URL: {problem}')

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: object, req_succeeded: bool) -> None:
        rid = getattr(req.context, 'request_id', None)
        if rid:
            resp.set_header('x-openstack-request-id', rid)
            resp.set_header('x-compute-request-id', rid)
        # For the access log line (minova.wsgi.access_log), written outside falcon.
        req.env[access_log.CONTEXT] = getattr(req.context, 'ctx', None)


class MicroversionMiddleware:
    """Negotiate the version of every /v2.1 request and announce it in the response."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not req.path.startswith('/v2.1'):
            return
        req.context.api_version = microversion.negotiate(
            req.get_header(microversion.HEADER), req.get_header(microversion.LEGACY_HEADER))

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: object, req_succeeded: bool) -> None:
        version = getattr(req.context, 'api_version', None)
        if version is None:
            return
        resp.set_header(microversion.HEADER, f'{microversion.SERVICE_TYPE} {version}')
        resp.set_header(microversion.LEGACY_HEADER, str(version))
        resp.set_header('Vary', microversion.VARY)


class BlankIdMiddleware:
    """A compute URL with a trailing slash (`DELETE /images/`,
    `GET /os-simple-tenant-usage/`: a blank id) is 404, as Nova's router
    answers it; only the version documents (`/v2.1/`, `/v2/`) take one.

    The app strips trailing slashes before routing, so this looks at the
    request's own path."""

    VERSION_ROOTS = frozenset({'/', '/v2.1/', '/v2/'})

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        raw = req.env.get('PATH_INFO') or '/'
        if raw.endswith('/') and raw not in self.VERSION_ROOTS \
                and raw.startswith(('/v2.1/', '/v2/')):
            raise errors.not_found()
