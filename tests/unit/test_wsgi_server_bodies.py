"""Response bodies go out whole and in order through the server's writer,
large ones and many on one kept-alive connection, with or without an
error_body."""
from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import falcon
import pytest

from minova.wsgi.server import WSGIServer

BIG = bytes(range(256)) * 12_000   # about 3 MB: many partial sends


class Body:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        size = int(req.get_param('size') or len(BIG))
        resp.data = BIG[:size]
        resp.content_type = 'application/octet-stream'


@pytest.fixture(scope='module', params=[False, True])
def server(request: Any) -> Iterator[WSGIServer]:
    app = falcon.App()
    app.add_route('/body', Body())
    srv = WSGIServer('test', app, '127.0.0.1', 0, threads=2,
                     error_body=(lambda code, text: b'{}') if request.param else None)
    srv.start()
    yield srv
    srv.stop()


def test_bodies_arrive_whole_on_one_connection(server: WSGIServer) -> None:
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=30)
    try:
        for size in (len(BIG), 1, 70_000, len(BIG)):
            conn.request('GET', f'/body?size={size}')
            resp = conn.getresponse()
            assert resp.status == 200
            assert int(resp.getheader('content-length')) == size
            assert resp.read() == BIG[:size]
    finally:
        conn.close()
