"""Errors as Nova's fault bodies: `{"itemNotFound": {"code": 404, "message": "..."}}`.

Handlers raise `minova.exception` errors (or falcon's HTTP errors, as the router
does for unknown URLs and methods); the handlers registered here turn every
one of them into the body a Nova client expects. Anything else is a bug: it is
logged with its traceback and answered with a 500 computeFault.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import falcon

from minova import exception

LOG = logging.getLogger(__name__)

FAULT_NAMES = {
    400: 'badRequest',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'itemNotFound',
    405: 'badMethod',
    409: 'conflictingRequest',
    413: 'overLimit',
    415: 'badMediaType',
    429: 'overLimit',
    501: 'notImplemented',
    503: 'serviceUnavailable',
}

NOT_FOUND_MESSAGE = 'The resource could not be found.'
UNAUTHORIZED_MESSAGE = 'The request you have made requires authentication.'


class HTTPFault(exception.MinovaException):
    """An error with an explicit status, for cases no domain exception names."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def bad_request(message: str) -> HTTPFault:
    return HTTPFault(400, message)


def not_found(message: str = NOT_FOUND_MESSAGE) -> HTTPFault:
    return HTTPFault(404, message)


def conflict(message: str) -> HTTPFault:
    return HTTPFault(409, message)


def fault_body(code: int, message: str) -> dict[str, Any]:
    return {FAULT_NAMES.get(code, 'computeFault'): {'code': code, 'message': message}}


def error_body(code: int, message: str) -> bytes:
    """The fault body as bytes, for the HTTP server's own error answers."""
    return json.dumps(fault_body(code, message)).encode()


def _render(resp: falcon.Response, code: int, message: str) -> None:
    resp.status = code
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(fault_body(code, message))
    resp.data = None
    resp.media = None


def handle_minova_error(req: falcon.Request, resp: falcon.Response, ex: Exception,
                        params: dict[str, Any]) -> None:
    assert isinstance(ex, exception.MinovaException)
    code = int(ex.code) if isinstance(ex.code, int) else 500
    if code >= 500:
        LOG.error('%s %s failed: %s', req.method, req.path, ex.message)
    _render(resp, code, ex.message)


def handle_http_error(req: falcon.Request, resp: falcon.Response, ex: Exception,
                      params: dict[str, Any]) -> None:
    assert isinstance(ex, falcon.HTTPError)
    code = ex.status_code
    if code == 404:
        message = NOT_FOUND_MESSAGE
    elif code == 405:
        message = f'The method {req.method} is not allowed for this resource.'
        if ex.headers:
            for name, value in dict(ex.headers).items():
                resp.set_header(name, value)
    elif code == 401:
        message = UNAUTHORIZED_MESSAGE
    else:
        message = ex.description or ex.title or 'Error'
    _render(resp, code, message)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception,
                      params: dict[str, Any]) -> None:
    if isinstance(ex, falcon.HTTPError):
        handle_http_error(req, resp, ex, params)
        return
    if isinstance(ex, exception.MinovaException):
        handle_minova_error(req, resp, ex, params)
        return
    if isinstance(ex, NotImplementedError):
        LOG.warning('%s %s is not implemented yet', req.method, req.path)
        _render(resp, 501, 'This operation is not implemented yet.')
        return
    LOG.exception('Unexpected error in %s %s', req.method, req.path)
    _render(resp, 500, 'Unexpected API Error. Please report this to the mini-Nova '
                       'developers and attach the minova-api log if possible.\n'
                       f'{type(ex)}')


def register(app: falcon.App) -> None:
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(exception.MinovaException, handle_minova_error)
