"""Requests the HTTP server itself refuses are answered in the API's JSON error
format (Nova's fault body, placement's errors), not cheroot's plain text."""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import falcon
import pytest

from minova.api import errors as api_errors
from minova.placement import errors as placement_errors
from minova.wsgi.server import WSGIServer

TARGETS = [b'/v2.1/serv\xc3\xa9rs', b'/v2.1/servers?x=\xff', b'//v2.1//servers',
           b'http://127.0.0.1/v2.1/servers', b'*']


class Echo:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {'path': req.path}


@pytest.fixture(scope='module', params=['compute', 'placement'])
def server(request: Any) -> Iterator[tuple[str, WSGIServer]]:
    app = falcon.App()
    app.add_route('/v2.1/servers', Echo())
    body = api_errors.error_body if request.param == 'compute' else \
        placement_errors.error_body
    srv = WSGIServer('test', app, '127.0.0.1', 0, threads=2, error_body=body)
    srv.start()
    yield request.param, srv
    srv.stop()


def _get(port: int, target: bytes) -> tuple[bytes, dict[str, str], bytes]:
    with socket.create_connection(('127.0.0.1', port), timeout=10) as conn:
        conn.sendall(b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        data = b''
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    status, *lines = head.decode('latin-1').split('\r\n')
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(':') for line in lines)}
    return status.encode(), headers, body


@pytest.mark.parametrize('target', TARGETS)
def test_refused_targets_get_the_apis_error_body(server: tuple[str, WSGIServer],
                                                 target: bytes) -> None:
    kind, srv = server
    status, headers, body = _get(srv.port, target)
    assert status.startswith(b'HTTP/1.1 400'), (status, body)
    assert headers['content-type'] == 'application/json'
    data = json.loads(body)
    if kind == 'compute':
        assert data['badRequest']['code'] == 400 and data['badRequest']['message']
    else:
        (error,) = data['errors']
        assert error['status'] == 400 and error['title'] == 'Bad Request'
        assert error['detail'] and error['code'] == 'placement.undefined_code'


def test_good_requests_are_untouched(server: tuple[str, WSGIServer]) -> None:
    status, headers, body = _get(server[1].port, b'/v2.1/servers')
    assert status.startswith(b'HTTP/1.1 200') and json.loads(body) == {'path': '/v2.1/servers'}
