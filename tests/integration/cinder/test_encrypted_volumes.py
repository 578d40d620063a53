"""An encrypted Cinder volume on a real guest, decrypted by QEMU (native LUKS,
as Nova's libvirt driver does for RBD; no dm-crypt on this host).

Cinder (fixed-key manager, tools/minova-cinder --fixed-key) makes a volume of
a type with a LUKS encryption spec LUKS-formatted on Ceph; the all-in-one
(the same [key_manager] fixed_key, the module cloud of test_servers.py)
attaches it to a running guest: a libvirt secret holds the passphrase (the
key in hex) and the disk says <encryption format='luks'>. The guest writes a
marker onto the disk (direct I/O, typed on its VGA console); the RBD image
read raw through librbd holds the LUKS header and not the marker. A hard
reboot defines the domain again with the same secret, and the guest reads
its marker back through QEMU's decryption. After the detach the secret is
gone, and the image opened by qemu-io with the key's hex form as the LUKS
passphrase (what Cinder formatted it with) holds the guest's marker.

One guest (it boots, attaches, reboots hard and detaches: a few minutes under TCG).
"""
from __future__ import annotations

import binascii
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.cinder.conftest import Cinder, until
from tests.integration.cinder.test_servers import (  # noqa: F401 - fixtures
    VolumeCloud,
    _attach,
    _boot,
    _delete,
    test_image,
    volcloud,
)
from tests.integration.libvirt import keyboard
from tests.integration.libvirt.conftest import libvirt_conn

LUKS_MAGIC = b'LUKS\xba\xbe'
LUKS_SPEC = {'provider': 'luks', 'cipher': 'aes-xts-plain64', 'key_size': 256,
             'control_location': 'front-end'}

def _volume_secret(conn: Any, volume_id: str) -> Any:
    import libvirt
    try:
        return conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_VOLUME, volume_id)
    except libvirt.libvirtError as e:
        if e.get_error_code() == libvirt.VIR_ERR_NO_SECRET:
            return None
        raise


def _disk(conn: Any, uuid: str, target: str) -> ET.Element | None:
    xml = conn.lookupByUUIDString(uuid).XMLDesc(0)
    for disk in ET.fromstring(xml).findall('./devices/disk'):
        t = disk.find('target')
        if t is not None and t.get('dev') == target:
            return disk
    return None


def _luks_read(cinder: Cinder, volume_id: str, passphrase: str, length: int) -> bytes:
    """The first bytes of the volume decrypted by qemu-io (LUKS over librbd)
    with the passphrase, as QEMU opens it for a guest."""
    ceph = cinder.info['ceph']
    opts = (f"driver=luks,key-secret=sec0,file.driver=rbd,file.pool={ceph['pool']},"
            f"file.image=volume-{volume_id},file.conf={ceph['conf']},"
            f"file.user={ceph['user']}")
    done = subprocess.run(
        ['qemu-io', '-r', '--object', f'secret,id=sec0,data={passphrase}',
         '--image-opts', opts, '-c', f'read -v 0 {length}'],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and 'read ' in done.stdout, (done.stdout, done.stderr)
    data = b''
    for line in done.stdout.splitlines():
        m = re.match(r'^[0-9a-f]{8}:\s+((?:[0-9a-f]{2} ){1,16})', line)
        if m:
            data += bytes.fromhex(m.group(1).replace(' ', ''))
    return data[:length]


@pytest.fixture
def luks_type(cinder_clean: Cinder) -> Iterator[dict[str, Any]]:
    """A volume type with Cinder's LUKS encryption spec, as
    `openstack volume type create --encryption-provider luks ...` makes it."""
    cinder = cinder_clean
    r = cinder.api('POST', '/types', json={'volume_type': {
        'name': f'LUKS-{os.getpid()}', 'extra_specs': {'volume_backend_name': 'ceph'}}})
    assert r.status_code == 200, r.text
    vtype = r.json()['volume_type']
    try:
        r = cinder.api('POST', f"/types/{vtype['id']}/encryption",
                       json={'encryption': LUKS_SPEC})
        assert r.status_code == 200, r.text
        yield vtype
    finally:
        cinder.cleanup()    # (the type goes only once its volumes are gone)
        cinder.api('DELETE', f"/types/{vtype['id']}/encryption/provider")
        cinder.api('DELETE', f"/types/{vtype['id']}")


def test_an_encrypted_volume_on_a_running_guest(
        volcloud: VolumeCloud, cinder_clean: Cinder,  # noqa: F811
        luks_type: dict[str, Any]) -> None:
    vc, cinder, cloud = volcloud, cinder_clean, volcloud.cloud
    conn = libvirt_conn()
    marker = f'MINOVA-MARKER-ENC{os.getpid()}'
    passphrase = binascii.hexlify(bytes.fromhex(cinder.info['fixed_key'])).decode()

    volume = cinder.create_volume(size=1, name='secret-data', volume_type=luks_type['name'])
    shown = cinder.wait_volume(volume['id'], 'available')
    assert shown['encrypted'] is True
    r = cinder.api('GET', f"/volumes/{volume['id']}/encryption")
    assert r.status_code == 200 and r.json()['provider'] == 'luks', r.text
    # Cinder made it LUKS-formatted on Ceph.
    assert cinder.rbd_read(volume['id'], 6) == LUKS_MAGIC

    uuid = _boot(vc, 'enc-guest', imageRef=vc.image)
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-READY', timeout=180)
        target = _attach(vc, cinder, uuid, volume['id'])
        # The guest sees the decrypted payload: 1 GiB (Cinder made the LUKS
        # image that size plus its header), no marker yet.
        out = cloud.wait_console(uuid, f'MINOVA-DISK-ADDED {target} ')
        added = re.search(rf'MINOVA-DISK-ADDED {target} bytes=(\d+) marker=(\S+)', out)
        assert added and (int(added.group(1)), added.group(2)) == (1024 ** 3, 'none'), out

        # The disk decrypts with a volume-usage secret holding the key in hex.
        secret = _volume_secret(conn, volume['id'])
        assert secret is not None
        assert secret.value().decode() == passphrase
        disk = _disk(conn, uuid, target)
        assert disk is not None
        enc = disk.find('encryption')
        assert enc is not None and enc.get('format') == 'luks'
        assert enc.find('secret').get('uuid') == secret.UUIDString()  # type: ignore[union-attr]

        # The guest writes the marker (direct I/O) and says so on its serial console.
        dom = conn.lookupByUUIDString(uuid)
        keyboard.type_line(dom, f'echo {marker} | dd of=/dev/{target} bs=512 conv=sync '
                                f'oflag=direct && echo WROTE-{marker} >/dev/ttyS0')
        cloud.wait_console(uuid, f'WROTE-{marker}', timeout=60)
        # On Ceph: the LUKS header, and the marker nowhere in plain text.
        raw = cinder.rbd_read(volume['id'], 16 * 1024 ** 2)
        assert raw.startswith(LUKS_MAGIC)
        assert marker.encode() not in raw

        # A hard reboot defines the domain again: the same secret, and the
        # new boot reads the marker back through QEMU's decryption.
        secret_uuid = secret.UUIDString()
        r = cloud.api('POST', f'/servers/{uuid}/action', json={'reboot': {'type': 'HARD'}})
        assert r.status_code == 202, r.text
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED {target} bytes={added.group(1)} '
                                 f'marker={marker}', timeout=180)
        again = _volume_secret(conn, volume['id'])
        assert again is not None and again.UUIDString() == secret_uuid

        # Detach: the disk leaves the guest, the volume is available, the secret gone.
        r = cloud.api('DELETE', f"/servers/{uuid}/os-volume_attachments/{volume['id']}")
        assert r.status_code == 202, r.text
        cinder.wait_volume(volume['id'], 'available')
        cloud.wait_console(uuid, f'MINOVA-DISK-REMOVED {target}')
        until(lambda: _volume_secret(conn, volume['id']) is None, 'the secret to go')
        assert _disk(conn, uuid, target) is None
        assert cinder.attachments() == []
    finally:
        _delete(vc, uuid)
    # What the guest wrote, decrypted with the passphrase Cinder formatted it with.
    assert _luks_read(cinder, volume['id'], passphrase, 512).startswith(
        f'{marker}\n'.encode())
