"""One INFO line per request, as Nova's and Placement's request log writes it.

    127.0.0.1 "GET /v2.1/servers?limit=1" status: 200 len: 1234 microversion: 2.96 time: 0.004122

The line is logged with the request's context, so oslo.log's context format
prefixes it with the request id, user and project (``[req-... admin admin ...]``);
requests that never got as far as a context (a missing or refused token) are
logged with their request id alone. Being the outermost WSGI layer, it also
sees what keystonemiddleware refuses, so every 4xx is visible to the operator.

The request id is made here and handed inward in the WSGI environ
(``openstack.request_id``), and the context comes back out the same way
(``minova.context``), so the line, the response headers and the service's own
log lines carry the same id.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

REQUEST_ID = 'openstack.request_id'
CONTEXT = 'minova.context'


def request_id(environ: dict[str, Any]) -> str:
    """The request id the access log made for this request (a new one if none)."""
    rid = environ.get(REQUEST_ID)
    if rid is None:
        rid = environ[REQUEST_ID] = 'req-' + str(uuid.uuid4())
    return rid


class AccessLog:
    """WSGI middleware: log method, path, status, length, microversion and time."""

    def __init__(self, app: Callable[..., Any], logger: str,
                 version_header: str | None = None) -> None:
        self.app = app
        self.log = logging.getLogger(logger)
        self.version_header = version_header.lower() if version_header else None

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ[REQUEST_ID] = 'req-' + str(uuid.uuid4())
        if not self.log.isEnabledFor(logging.INFO):
            return self.app(environ, start_response)
        start = time.monotonic()
        seen: list[Any] = []

        def _start_response(status: str, headers: list[tuple[str, str]],
                            exc_info: Any = None) -> Any:
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, _start_response)
        except Exception:
            self._write(environ, '500 Internal Server Error', [], start)
            raise
        status, headers = seen if seen else ('500 Internal Server Error', [])
        self._write(environ, status, headers, start)
        return result

    def _write(self, environ: dict[str, Any], status: str,
               headers: list[tuple[str, str]], start: float) -> None:
        length = version = '-'
        for name, value in headers:
            lname = name.lower()
            if lname == 'content-length':
                length = value
            elif lname == self.version_header:
                version = value.rpartition(' ')[2]
        uri = environ.get('PATH_INFO') or '/'
        if environ.get('QUERY_STRING'):
            uri = f'{uri}?{environ["QUERY_STRING"]}'
        ctx = environ.get(CONTEXT)
        if ctx is None:
            from minova.context import RequestContext
            ctx = RequestContext(request_id=environ[REQUEST_ID], overwrite=False)
        self.log.info('%s "%s %s" status: %s len: %s microversion: %s time: %.6f',
                      environ.get('REMOTE_ADDR', '-'), environ.get('REQUEST_METHOD'), uri,
                      status.split(' ', 1)[0], length, version, time.monotonic() - start,
                      extra={'context': ctx})
