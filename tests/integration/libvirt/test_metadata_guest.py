"""Guests without a config drive read their own metadata from
http://169.254.169.254 on user-mode networking, booted by mini-Nova through
libvirtd with its stock configuration (QEMU's seccomp sandbox on): slirp
forwards to the guest's own metadata socket (docs/metadata.md). Two guests,
each answered as itself; the socket follows stop/start and a restart of the
compute (issue 20).
"""
from __future__ import annotations

import base64
import os
import re
import time
import xml.etree.ElementTree as ET
from typing import Any

from tests.integration.libvirt.conftest import (
    Cloud,
    create_flavor,
    own_cloud,
    start_cloud,
    stop_cloud,
    upload_image,
)

KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoCr0zxkLkIWO0gAzPoRbuNRkl5UTbbJfREjFpKbwYf '
       'guest@metadata')


def _boot(c: Cloud, image: str, flavor: str, name: str, user_data: str,
          **extra: Any) -> str:
    r = c.api('POST', '/servers', json={'server': dict(
        {'name': name, 'hostname': f'{name}-host', 'flavorRef': flavor, 'imageRef': image,
         'networks': 'auto', 'user_data': base64.b64encode(user_data.encode()).decode()},
        **extra)})
    assert r.status_code == 202, r.text
    return r.json()['server']['id']


def _sock(c: Cloud, uuid: str) -> str:
    return os.path.join(c.state, 'instances', uuid, 'metadata.sock')


def _qemu_cmdline(conn: Any, uuid: str) -> list[str]:
    name = conn.lookupByUUIDString(uuid).name()
    with open(f'/run/libvirt/qemu/{name}.pid') as f:
        pid = f.read().strip()
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
        return f.read().decode().split('\0')


def _loops(out: str, uuid: str) -> list[int]:
    return [int(n) for n in re.findall(rf'metadata-loop (\d+) uuid={uuid}', out)]


def test_guests_read_their_own_metadata_over_user_networking(
        conn: Any, test_image: str) -> None:
    host = f'libvirt-md-{os.getpid()}'
    with own_cloud(conn, host) as c:
        image, flavor = upload_image(c, test_image), create_flavor(c)
        r = c.api('POST', '/os-keypairs', json={'keypair': {'name': 'k', 'public_key': KEY}})
        assert r.status_code in (200, 201), r.text
        a = _boot(c, image, flavor, 'md-a', 'mdloop\n', key_name='k')
        b = _boot(c, image, flavor, 'md-b', 'hello-b\n')
        for uuid in (a, b):
            c.wait(uuid, 'ACTIVE')
        out_a = c.wait_console(a, 'metadata-service user_data=mdloop', timeout=150)
        out_b = c.wait_console(b, 'metadata-service user_data=hello-b', timeout=150)
        # Each guest is answered as itself, and only as itself.
        assert 'config-drive=' not in out_a + out_b
        assert 'MINOVA-TEST-IMAGE-IP 169.254.2.15' in out_a
        assert f'metadata-service uuid={a}' in out_a and b not in out_a
        assert 'metadata-service hostname=md-a-host' in out_a
        assert f'metadata-service key={KEY}' in out_a
        assert f'metadata-service uuid={b}' in out_b and a not in out_b
        assert 'metadata-service hostname=md-b-host' in out_b
        assert 'metadata-service key=' not in out_b       # b has no key pair
        c.wait_console(a, f'metadata-loop 2 uuid={a}')     # request after request

        # libvirtd's own QEMU sandbox is on, and the NIC forwards to a socket.
        args = _qemu_cmdline(conn, a)
        sandbox = args[args.index('-sandbox') + 1] if '-sandbox' in args else ''
        assert 'spawn=deny' in sandbox, args
        assert f'socket,id=mdfwd0,path={_sock(c, a)},reconnect=1' in args
        xml = ET.tostring(ET.fromstring(conn.lookupByUUIDString(a).XMLDesc()),
                          encoding='unicode')
        assert 'guestfwd=tcp:169.254.169.254:80-chardev:mdfwd0' in xml
        assert os.path.exists(_sock(c, a)) and os.path.exists(_sock(c, b))

        # Stopped: no socket; started again: the guest reads again.
        assert c.api('POST', f'/servers/{b}/action',
                     json={'os-stop': None}).status_code == 202
        c.wait(b, 'SHUTOFF')
        assert not os.path.exists(_sock(c, b))
        assert c.api('POST', f'/servers/{b}/action',
                     json={'os-start': None}).status_code == 202
        c.wait(b, 'ACTIVE')
        c.wait_console(b, f'metadata-service uuid={b}', count=2, timeout=150)
        assert os.path.exists(_sock(c, b))

        # The compute restarts while a keeps running and asking: its socket
        # is listened on again and QEMU reconnects by itself.
        stop_cloud(c)
        assert conn.lookupByUUIDString(a).isActive()
        c = start_cloud(c.state, host)
        try:   # own_cloud stops the first all-in-one, this one stops here
            seen = max(_loops(c.console(a), a), default=0)
            deadline = time.monotonic() + 60
            while max(_loops(c.console(a), a), default=0) < seen + 2:
                assert time.monotonic() < deadline, c.console(a)[-1500:]
                time.sleep(1)

            for uuid in (a, b):
                assert c.api('DELETE', f'/servers/{uuid}').status_code == 204
            for uuid in (a, b):
                c.wait_gone(uuid)
                assert not os.path.exists(_sock(c, uuid))
        finally:
            stop_cloud(c)
