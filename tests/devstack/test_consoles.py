"""Serial consoles in a minova-deploy cloud: each cell runs its own
minova-serialproxy (`--serial-port`), and the URL the API hands out reaches the
guest's serial port through the proxy of the server's cell.

The fake driver puts every guest's serial port at 127.0.0.1:10000 (nothing
listens there in a real deployment); the test listens there itself and
writes a greeting, so what the websocket carries proves the whole path."""
from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from minova.virt.fake import FakeDriver
from tests.devstack.harness import Deployment, wait

pytestmark = pytest.mark.integration
websocket = pytest.importorskip('websocket')
GREETING = b'MINOVA-FAKE-SERIAL\r\n'


@pytest.fixture
def fake_serial_port() -> Iterator[list[bytes]]:
    """What clients wrote to the fake guest's serial port."""
    received: list[bytes] = []
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(('127.0.0.1', FakeDriver.FAKE_SERIAL_PORT))
    server.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(GREETING)
                conn.settimeout(10)
                try:
                    received.append(conn.recv(100))
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    yield received
    # shutdown wakes the accept() above; close alone would leave the port
    # listening until it returned (the next engine's run binds it again)
    with contextlib.suppress(OSError):
        server.shutdown(socket.SHUT_RDWR)
    server.close()


def test_serial_console_through_the_cells_proxy(cloud: Deployment,
                                                fake_serial_port: list[bytes]) -> None:
    cloud.ensure_flavor()
    r = cloud.boot('serial')
    assert r.status_code == 202, r.text
    uuid = r.json()['server']['id']
    try:
        [server] = cloud.wait_settled([uuid])
        assert server['status'] == 'ACTIVE', server
        r = cloud.api('POST', f'/servers/{uuid}/remote-consoles',
                      {'remote_console': {'protocol': 'serial', 'type': 'serial'}})
        assert r.status_code == 200, r.text
        url = r.json()['remote_console']['url']
        cell_index = int(server['OS-EXT-SRV-ATTR:host'][len('cell'):].split('-')[0]) - 1
        proxy_port = cloud.settings['serial_port'] + cell_index
        assert urlparse(url).port == proxy_port, url
        ws = websocket.create_connection(url, subprotocols=['binary'], timeout=30)
        try:
            assert ws.recv() == GREETING
            ws.send_binary(b'typed')
        finally:
            ws.close()
        # another cell's proxy does not take this cell's token (its DB lacks it)
        other = url.replace(f':{proxy_port}/', f':{proxy_port + 1 - 2 * cell_index}/')
        with pytest.raises(websocket.WebSocketBadStatusException):
            websocket.create_connection(other, subprotocols=['binary'], timeout=30)
    finally:
        cloud.api('DELETE', f'/servers/{uuid}')
        wait(lambda: not [s for s in cloud.servers() if s['id'] == uuid], 60,
             'the server to be deleted')
    assert fake_serial_port[:1] == [b'typed']
