"""A real guest's VNC display through the API's console URL and
minova-novncproxy (websockify) in the all-in-one: the websocket carries the
guest's RFB greeting; an unknown token, a foreign Origin and a deleted
server's token are refused. And a guest's TCP serial port read live through
minova-serialproxy (issue 20). One guest at a time."""
from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.integration.libvirt.conftest import (
    Cloud,
    _free_port,
    create_flavor,
    own_cloud,
    upload_image,
)

websocket = pytest.importorskip('websocket')


def _ws(url: str, **kw: Any) -> Any:
    return websocket.create_connection(url, subprotocols=['binary'], timeout=30, **kw)


def _status(url: str, **kw: Any) -> int:
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        _ws(url, **kw)
    return int(e.value.status_code)


def test_vnc_console_through_the_proxy(cloud: Cloud, conn: Any, image_id: str,
                                       flavor: str) -> None:
    r = cloud.api('POST', '/servers', json={'server': {
        'name': 'lv-console', 'imageRef': image_id, 'flavorRef': flavor,
        'networks': 'none'}})
    assert r.status_code == 202, r.text
    uuid = r.json()['server']['id']
    try:
        cloud.wait(uuid, 'ACTIVE')
        graphics = ET.fromstring(conn.lookupByUUIDString(uuid).XMLDesc(0)).find(
            "devices/graphics[@type='vnc']")
        assert graphics is not None and graphics.get('listen') == '127.0.0.1'
        assert int(graphics.get('port')) >= 5900
        r = cloud.api('POST', f'/servers/{uuid}/remote-consoles',
                      json={'remote_console': {'protocol': 'vnc', 'type': 'novnc'}})
        assert r.status_code == 200, r.text
        url = urlparse(r.json()['remote_console']['url'])
        assert url.path == '/vnc_auto.html'
        if os.path.isdir('/usr/share/novnc'):      # the web client, as the URL names it
            page = requests.get(r.json()['remote_console']['url'], timeout=30)
            assert page.status_code == 200 and b'noVNC' in page.content
        path = parse_qs(url.query)['path'][0]            # ?token=...
        ws_url = f'ws://{url.netloc}/{path}'
        r = cloud.api('GET', f'/os-console-auth-tokens/{parse_qs(path[1:])["token"][0]}')
        assert r.status_code == 200, r.text
        assert r.json()['console']['port'] == int(graphics.get('port'))
        ws = _ws(ws_url, origin=f'http://{url.netloc}')
        try:
            greeting = ws.recv()
            assert greeting.startswith(b'RFB 003.00'), greeting
        finally:
            ws.close()
        assert _status(f'ws://{url.netloc}/?token=nosuchtoken') == 401
        assert _status(ws_url, origin='http://evil.example') == 403
    finally:
        cloud.api('DELETE', f'/servers/{uuid}')
    cloud.wait_gone(uuid)
    assert _status(ws_url) == 401


@pytest.fixture(scope='module')
def serial_cloud(conn: Any, test_image: str) -> Iterator[Cloud]:
    """A second all-in-one with [serial_console] enabled (and its serialproxy)."""
    proxy, low = _free_port(), _free_port()
    with own_cloud(conn, f'libvirt-serial-{os.getpid()}', f"""
[serial_console]
enabled = true
port_range = {low}:{low + 50}
base_url = ws://127.0.0.1:{proxy}/
serialproxy_host = 127.0.0.1
serialproxy_port = {proxy}
""") as c:
        yield c


def test_serial_console_through_the_proxy(serial_cloud: Cloud, conn: Any,
                                          test_image: str) -> None:
    """The guest's serial port is a TCP server; its output still reaches the
    console log (os-getConsoleOutput) and, live, the serial proxy's websocket."""
    cloud = serial_cloud
    image, flavor = upload_image(cloud, test_image), create_flavor(cloud)
    r = cloud.api('POST', '/servers', json={'server': {
        'name': 'lv-serial', 'imageRef': image, 'flavorRef': flavor, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    uuid = r.json()['server']['id']
    try:
        cloud.wait(uuid, 'ACTIVE')
        r = cloud.api('POST', f'/servers/{uuid}/remote-consoles',
                      json={'remote_console': {'protocol': 'serial', 'type': 'serial'}})
        assert r.status_code == 200, r.text
        url = r.json()['remote_console']['url']
        assert url.startswith('ws://127.0.0.1:')
        ws = _ws(url)
        seen = b''
        try:
            deadline = time.monotonic() + 90
            while b'MINOVA-TEST-IMAGE-READY' not in seen and time.monotonic() < deadline:
                data = ws.recv()
                seen += data if isinstance(data, bytes) else data.encode()
        finally:
            ws.close()
        assert b'MINOVA-TEST-IMAGE-READY' in seen, seen[-2000:]
        xml = ET.fromstring(conn.lookupByUUIDString(uuid).XMLDesc(0))
        assert xml.find("devices/serial[@type='tcp']/source").get('host') == '127.0.0.1'
        assert 'MINOVA-TEST-IMAGE-BOOTED' in cloud.wait_console(uuid,
                                                                'MINOVA-TEST-IMAGE-READY')
    finally:
        cloud.api('DELETE', f'/servers/{uuid}')
    cloud.wait_gone(uuid)
