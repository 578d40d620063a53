"""The placement WSGI application: middleware, route table, error format."""
from __future__ import annotations

import datetime
import email.utils
import functools
import json
import logging
import uuid
from typing import Any

import falcon
import sqlalchemy as sa

from minova.conf import CONF
from minova.db import engines
from minova.placement import auth, errors, microversion, util
from minova.placement.db import names
from minova.placement.handlers import (
    aggregate,
    allocation,
    allocation_candidate,
    inventory,
    reshaper,
    resource_class,
    resource_provider,
    root,
    trait,
    usage,
)
from minova.wsgi import request_body, routes

Handler = routes.Handler

LOG = logging.getLogger(__name__)

# URLs of placement databases found not ready, so that it is said once
# when a database is found not ready and once when it is ready again.
_not_ready: set[str] = set()

ROUTES: dict[str, dict[str, Handler]] = {
    '/': {'GET': root.home},
    '/resource_providers': {
        'GET': resource_provider.list_resource_providers,
        'POST': resource_provider.create_resource_provider},
    '/resource_providers/{uuid}': {
        'GET': resource_provider.get_resource_provider,
        'PUT': resource_provider.update_resource_provider,
        'DELETE': resource_provider.delete_resource_provider},
    '/resource_providers/{uuid}/inventories': {
        'GET': inventory.get_inventories,
        'POST': inventory.create_inventory,
        'PUT': inventory.set_inventories,
        'DELETE': inventory.delete_inventories},
    '/resource_providers/{uuid}/inventories/{resource_class}': {
        'GET': inventory.get_inventory,
        'PUT': inventory.update_inventory,
        'DELETE': inventory.delete_inventory},
    '/resource_providers/{uuid}/usages': {'GET': usage.list_provider_usages},
    '/resource_providers/{uuid}/allocations': {'GET': allocation.list_for_provider},
    '/resource_providers/{uuid}/aggregates': {
        'GET': aggregate.get_aggregates,
        'PUT': aggregate.set_aggregates},
    '/resource_providers/{uuid}/traits': {
        'GET': trait.list_provider_traits,
        'PUT': trait.update_provider_traits,
        'DELETE': trait.delete_provider_traits},
    '/allocations': {'POST': allocation.set_allocations},
    '/allocations/{consumer_uuid}': {
        'GET': allocation.list_for_consumer,
        'PUT': allocation.set_allocations_for_consumer,
        'DELETE': allocation.delete_allocations},
    '/allocation_candidates': {'GET': allocation_candidate.list_allocation_candidates},
    '/usages': {'GET': usage.get_total_usages},
    '/resource_classes': {
        'GET': resource_class.list_resource_classes,
        'POST': resource_class.create_resource_class},
    '/resource_classes/{name}': {
        'GET': resource_class.get_resource_class,
        'PUT': resource_class.update_resource_class,
        'DELETE': resource_class.delete_resource_class},
    '/traits': {'GET': trait.list_traits},
    '/traits/{name}': {
        'GET': trait.get_trait,
        'PUT': trait.put_trait,
        'DELETE': trait.delete_trait},
    '/reshaper': {'POST': reshaper.reshape},
}


class RequestMiddleware:
    """Request id, microversion negotiation, DB url, response headers."""

    def __init__(self, url: str | None) -> None:
        self.url = url

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.request_id = f'req-{uuid.uuid4()}'
        req.context.version = microversion.MIN
        req.context.negotiated = False
        req.context.url = self.url or engines.placement_url()
        resp.set_header('x-openstack-request-id', req.context.request_id)
        problem = request_body.url_problem(req.path, req.params)
        if problem:  # as for bodies: text no database stores (minova/request_body.py)
            raise errors.bad_request(f'Invalid input in the URL: {problem}')
        req.context.version = util.negotiate(req.get_header(microversion.HEADER))
        req.context.negotiated = True
        if req.path != '/':
            _sync_names(req.context.url)

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, req_succeeded: bool) -> None:
        version = getattr(req.context, 'version', microversion.MIN)
        if getattr(req.context, 'negotiated', False):
            # As upstream: an unacceptable version gets no version header.
            resp.set_header(microversion.HEADER, f'{microversion.SERVICE_TYPE} {version}')
        resp.append_header('Vary', microversion.HEADER.lower())
        if (req.method == 'GET' and resp.status_code == 200 and req.path != '/'
                and version >= (1, 15)):
            resp.set_header('Cache-Control', 'no-cache')
            resp.set_header('Last-Modified', email.utils.format_datetime(
                datetime.datetime.now(datetime.UTC), usegmt=True))


def _sync_names(url: str) -> None:
    """names.sync(url), answering 503 while the placement DB is not ready.

    Upstream placement cannot even load its app before its database is
    synced (and answers 500 meanwhile). This one stays up and answers 503
    with an error body that says what to do; nothing of a failed attempt is
    kept, so the first request after `minova-manage placement_db sync` works.
    """
    try:
        names.sync(url)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as e:
        # No tables (ProgrammingError on MySQL and PostgreSQL, OperationalError
        # on SQLite), or no database server (OperationalError).
        reason = ' '.join(str(e.orig).split())[:300]
        # Said outside the handler: oslo.log would repeat the error there.
        if url not in _not_ready:
            _not_ready.add(url)
            LOG.warning('The placement database is not ready (%s); requests are answered '
                        "503 until 'minova-manage placement_db sync' has run", reason)
        raise errors.PlacementError(
            503, f'The placement database is not ready: {reason}. If it has not been '
                 "synced yet, run 'minova-manage placement_db sync'.") from None
    if url in _not_ready:
        _not_ready.discard(url)
        LOG.info('The placement database is ready')


def _unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception,
                params: dict[str, Any]) -> None:
    import logging
    logging.getLogger(__name__).exception('Unexpected error in %s %s', req.method, req.path)
    raise errors.PlacementError(500, f'An unexpected error occurred: {type(ex).__name__}')


def make_app(url: str | None = None) -> falcon.App:
    """Build the placement app; `url` overrides [placement_database] connection."""
    middleware: list[Any] = [RequestMiddleware(url),
                             auth.middleware_for(CONF.placement_api.auth_strategy)]
    app = falcon.App(middleware=middleware)
    app.req_options.auto_parse_qs_csv = False
    app.req_options.keep_blank_qs_values = True
    app.resp_options.secure_cookies_by_default = False
    # ASCII-only JSON, as upstream's jsonutils writes it (see minova/api/wsgi.py).
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=functools.partial(json.dumps, ensure_ascii=True))
    app.add_error_handler(Exception, _unexpected)
    app.set_error_serializer(errors.serialize)
    routes.add(app, ROUTES.items())
    if CONF.placement_api.auth_strategy == 'keystone':
        return auth.wrap_keystone(app, CONF)  # type: ignore[return-value]
    return app
