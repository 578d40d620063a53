"""Placement errors: HTTP errors carrying Placement's stable error codes."""
from __future__ import annotations

import json
from typing import Any

import falcon

DEFAULT = 'placement.undefined_code'
INVENTORY_INUSE = 'placement.inventory.inuse'
CONCURRENT_UPDATE = 'placement.concurrent_update'
DUPLICATE_NAME = 'placement.duplicate_name'
PROVIDER_IN_USE = 'placement.resource_provider.inuse'
PROVIDER_CANNOT_DELETE_PARENT = 'placement.resource_provider.cannot_delete_parent'
RESOURCE_PROVIDER_NOT_FOUND = 'placement.resource_provider.not_found'
ILLEGAL_DUPLICATE_QUERYPARAM = 'placement.query.duplicate_key'
# Upstream emits placement.query.bad_value / missing_value only for the query
# parameters of 1.35 and later (root_required, same_subtree, resourceless
# groups); the query errors of the older parameters carry the default code
# there, and so here (checked by tests/integration/placement_compat).
QUERY_BAD_VALUE = 'placement.query.bad_value'
QUERY_MISSING_VALUE = 'placement.query.missing_value'
QUERYPARAM_BAD_VALUE = DEFAULT
QUERYPARAM_MISSING_VALUE = DEFAULT


class PlacementError(falcon.HTTPError):
    """An error response in Placement's `{"errors": [...]}` format."""

    def __init__(self, status: int, detail: str, code: str = DEFAULT,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(falcon.code_to_http_status(status), title=None,
                         description=detail, headers=headers)
        # falcon's own `code` is an int it puts in its body; Placement's is a string.
        self.error_code = code


def bad_request(detail: str, code: str = DEFAULT) -> PlacementError:
    return PlacementError(400, detail, code)


def not_found(detail: str, code: str = DEFAULT) -> PlacementError:
    return PlacementError(404, detail, code)


def conflict(detail: str, code: str = DEFAULT) -> PlacementError:
    return PlacementError(409, detail, code)


def error_body(code: int, message: str) -> bytes:
    """Placement's error body as bytes, for the HTTP server's own error answers."""
    title = falcon.code_to_http_status(code).split(' ', 1)[-1]
    return json.dumps({'errors': [{'status': code, 'title': title, 'detail': message,
                                   'request_id': None, 'code': DEFAULT}]}).encode()


def serialize(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Error serializer for the falcon app: Placement's error body."""
    status = exc.status_code
    title = str(exc.status).split(' ', 1)[-1]
    error: dict[str, Any] = {
        'status': status,
        'title': title,
        'detail': exc.description or title,
        'request_id': getattr(req.context, 'request_id', None),
    }
    version = getattr(req.context, 'version', None)
    if version is None or version >= (1, 23):
        # falcon's own errors (405, 404 from the router) have code None.
        error['code'] = getattr(exc, 'error_code', None) or DEFAULT
    resp.media = {'errors': [error]}
    resp.content_type = falcon.MEDIA_JSON


class ProviderGenerationConflict(PlacementError):
    """A provider's generation moved under us; the write may be retried."""

    def __init__(self, uuid: str) -> None:
        super().__init__(409, f'resource provider generation conflict: {uuid} was updated '
                         'concurrently. Please retry your update', CONCURRENT_UPDATE)
