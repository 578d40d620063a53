"""minova-novncproxy in the all-in-one: websockify admits a websocket with a
valid token and an acceptable Origin and proxies it to the token's host and
port; a missing, unknown, expired or deleted server's token is a 401 and a
foreign Origin a 403, before any handshake."""
from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from minova.cells import lookup, mappings
from minova.cmd.all_in_one import AllInOne
from minova.db import console_auth_tokens
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client


class FakeRFB:
    """A VNC server that only greets: the first thing an RFB server says."""

    def __init__(self) -> None:
        self.sock = socket.create_server(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.sendall(b'RFB 003.008\n')
            conn.recv(100)
            conn.close()


@pytest.fixture(scope='module')
def rfb() -> Iterator[FakeRFB]:
    server = FakeRFB()
    yield server
    server.sock.close()


@pytest.fixture(scope='module')
def proxy_port(aio: AllInOne) -> int:
    [proxy] = [p for p in aio.proxies if p.name == 'minova-novncproxy']
    return int(proxy.port)


@pytest.fixture(scope='module')
def server_id(admin: Client, tiny_flavor: dict[str, Any]) -> Iterator[str]:
    r = admin.post('/servers', {'server': {'name': 'proxied', 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    sid = r.json()['server']['id']
    admin.wait_for_status(sid, {'ACTIVE'})
    yield sid
    admin.delete(f'/servers/{sid}')


def _cell_url() -> str:
    cells = [c for c in mappings.cell_list() if not mappings.is_cell0(c)]
    return lookup.get(cells[0]['uuid'])['database_connection']


def _token(server_id: str, port: int, ttl: int = 600, console_type: str = 'novnc') -> str:
    return console_auth_tokens.create(_cell_url(), server_id, console_type, '127.0.0.1',
                                      port, None, 'http://127.0.0.1:6080/vnc_auto.html', ttl)


def _connect(proxy_port: int, query: str, **kw: Any) -> websocket.WebSocket:
    return websocket.create_connection(f'ws://127.0.0.1:{proxy_port}/{query}',
                                       subprotocols=['binary'], timeout=10, **kw)


def test_api_url_points_at_the_proxy(admin: Client, server_id: str, proxy_port: int
                                     ) -> None:
    r = admin.post(f'/servers/{server_id}/remote-consoles',
                   {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}})
    url = r.json()['remote_console']['url']
    assert url.startswith(f'http://127.0.0.1:{proxy_port}/vnc_auto.html?path=%3Ftoken%3D')


def test_valid_token_reaches_the_vnc_server(server_id: str, proxy_port: int,
                                            rfb: FakeRFB) -> None:
    token = _token(server_id, rfb.port)
    for headers in ({}, {'origin': f'http://127.0.0.1:{proxy_port}'}):
        ws = _connect(proxy_port, f'?token={token}', **headers)
        try:
            assert ws.subprotocol == 'binary'
            assert ws.recv() == b'RFB 003.008\n'
        finally:
            ws.close()


def _refused(proxy_port: int, query: str, **kw: Any) -> int:
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        _connect(proxy_port, query, **kw)
    return int(e.value.status_code)


def test_refusals(admin: Client, server_id: str, proxy_port: int, rfb: FakeRFB,
                  tiny_flavor: dict[str, Any]) -> None:
    assert _refused(proxy_port, '') == 401
    assert _refused(proxy_port, '?token=nosuchtoken') == 401
    assert _refused(proxy_port, f'?token={_token(server_id, rfb.port, ttl=0)}') == 401
    # a serial token is not a VNC token
    serial = _token(server_id, rfb.port, console_type='serial')
    assert _refused(proxy_port, f'?token={serial}') == 401
    token = _token(server_id, rfb.port)
    assert _refused(proxy_port, f'?token={token}', origin='http://evil.example') == 403
    assert _refused(proxy_port, f'?token={token}', origin='https://127.0.0.1') == 403
    # a deleted server's token dies with it
    r = admin.post('/servers', {'server': {'name': 'gone', 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    gone = r.json()['server']['id']
    admin.wait_for_status(gone, {'ACTIVE'})
    doomed = _token(gone, rfb.port)
    admin.delete(f'/servers/{gone}')
    admin.wait_gone(gone)
    assert _refused(proxy_port, f'?token={doomed}') == 401


def test_serves_novnc_and_its_self_connecting_page(proxy_port: int) -> None:
    """With Debian's noVNC in [DEFAULT] web, vnc_auto.html (Nova's default URL)
    is the page that connects by itself (vnc_lite.html)."""
    if not os.path.exists('/usr/share/novnc/vnc_lite.html'):
        pytest.skip('noVNC is not installed (apt-get install novnc)')
    base = f'http://127.0.0.1:{proxy_port}'
    auto = requests.get(f'{base}/vnc_auto.html?path=%3Ftoken%3Dx', timeout=10)
    assert auto.status_code == 200
    with open('/usr/share/novnc/vnc_lite.html', 'rb') as f:
        assert auto.content == f.read()
    assert requests.get(f'{base}/core/rfb.js', timeout=10).status_code == 200
