"""The per-guest metadata socket: only the instance's own QEMU is answered,
as that instance (signed headers), request after request on one stream."""
from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from minova.conf import CONF
from minova.metadata.wsgi import sign
from minova.virt.libvirt import metadata_socket

UUID = '6b0c7d0e-1111-4a4a-9b9b-0123456789ab'

# A stand-in for QEMU: its command line says `-uuid <uuid>`, it connects to
# the socket, writes the requests and prints what comes back until quiet.
CLIENT = r'''
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(3)
out = b''
try:
    s.sendall(sys.stdin.buffer.read())
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except (socket.timeout, ConnectionResetError, BrokenPipeError):
    pass  # refused
sys.stdout.buffer.write(out)
'''


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({'path': self.path, 'headers': dict(self.headers)}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_a: Any) -> None:
        pass


@pytest.fixture
def service() -> Iterator[int]:
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Echo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    CONF.set_override('metadata_listen', '127.0.0.1')
    CONF.set_override('metadata_listen_port', srv.server_address[1])
    CONF.set_override('metadata_proxy_shared_secret', 's3cret', group='neutron')
    yield srv.server_address[1]
    srv.shutdown()
    CONF.clear_override('metadata_listen')
    CONF.clear_override('metadata_listen_port')
    CONF.clear_override('metadata_proxy_shared_secret', group='neutron')


def _qemu(path: str, request: bytes, uuid: str = UUID) -> bytes:
    return subprocess.run([sys.executable, '-c', CLIENT, path, '-uuid', uuid], input=request,
                          capture_output=True, timeout=30, check=True).stdout


def test_the_instances_qemu_is_answered_as_the_instance(tmp_path: Any, service: int) -> None:
    path = str(tmp_path / 'metadata.sock')
    listeners = metadata_socket.Listeners()
    assert listeners.open(UUID, 'proj', path)
    try:
        assert os.stat(path).st_mode & 0o777 == 0o666
        forged = (b'GET /openstack/latest/meta_data.json HTTP/1.1\r\nHost: 169.254.169.254\r\n'
                  b'X-Instance-ID: someone-else\r\nX-Tenant-ID: other\r\n\r\n'
                  b'GET /latest/meta-data/hostname HTTP/1.0\r\n\r\n')
        out = _qemu(path, forged)
        answers = out.split(b'HTTP/1.0 200 OK\r\n')[1:]
        assert len(answers) == 2, out
        seen = [json.loads(a.partition(b'\r\n\r\n')[2]) for a in answers]
        assert [s['path'] for s in seen] == ['/openstack/latest/meta_data.json',
                                             '/latest/meta-data/hostname']
        for s in seen:
            assert s['headers']['X-Instance-ID'] == UUID
            assert s['headers']['X-Tenant-ID'] == 'proj'
            assert s['headers']['X-Instance-ID-Signature'] == sign(UUID)
        # Another guest's QEMU (another -uuid) and this process are refused.
        assert _qemu(path, b'GET / HTTP/1.0\r\n\r\n', uuid='another') == b''
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            s.settimeout(5)
            try:
                s.sendall(b'GET / HTTP/1.0\r\n\r\n')
                assert s.recv(100) == b''
            except (ConnectionResetError, BrokenPipeError):
                pass    # closed with the request unread: refused all the same
    finally:
        listeners.close(UUID)
    assert not os.path.exists(path)
    assert listeners.uuids() == []


def test_open_is_idempotent_and_a_stale_file_is_replaced(tmp_path: Any, service: int) -> None:
    path = str(tmp_path / 'metadata.sock')
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)        # left by a compute that died: nobody listens
    stale.close()
    listeners = metadata_socket.Listeners()
    assert listeners.open(UUID, 'proj', path)
    inode = os.stat(path).st_ino
    assert listeners.open(UUID, 'proj', path)
    assert os.stat(path).st_ino == inode
    listeners.close_all()
    assert not os.path.exists(path)


def test_enabled_needs_a_secret() -> None:
    assert CONF.libvirt.metadata_via_user_network
    assert not metadata_socket.enabled()
    CONF.set_override('metadata_proxy_shared_secret', 'x', group='neutron')
    try:
        assert metadata_socket.enabled()
    finally:
        CONF.clear_override('metadata_proxy_shared_secret', group='neutron')
    assert metadata_socket.socket_path('/' + 'd' * 120) is None
