"""rebuild on one real QEMU guest: the root disk is a new overlay on the second
image, the guest boots again from it, and its config drive carries the new
hostname."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from typing import Any

import requests

from tests.integration.libvirt.conftest import MARKER, Cloud, import_libvirt
from tests.integration.libvirt.test_guests import _action, _boot, _wait_dom
from tests.integration.libvirt.test_pause_suspend import _events

libvirt = import_libvirt()


def _second_image(cloud: Cloud, path: str) -> str:
    """The same test image under another name and id."""
    h = {'X-Auth-Token': 'admin:admin'}
    r = requests.post(cloud.image + '/v2/images', headers=h, timeout=30, json={
        'name': 'minova-test-2', 'disk_format': 'qcow2', 'container_format': 'bare',
        'visibility': 'public', 'os_distro': 'second'})
    assert r.status_code == 201, r.text
    image_id = r.json()['id']
    with open(path, 'rb') as f:
        r = requests.put(f'{cloud.image}/v2/images/{image_id}/file', data=f, timeout=60,
                         headers=dict(h, **{'Content-Type': 'application/octet-stream'}))
    assert r.status_code == 204, r.text
    return image_id


def _disk_backing(conn: Any, uuid: str) -> str:
    """The backing file of the domain's root disk (read sharing QEMU's lock)."""
    xml = conn.lookupByUUIDString(uuid).XMLDesc(0)
    disk = xml.split("<source file='", 1)[1].split("'", 1)[0]
    assert disk.endswith('/disk'), xml
    info = json.loads(subprocess.run(
        ['qemu-img', 'info', '-U', '--output=json', '-f', 'qcow2', disk],
        check=True, capture_output=True, text=True).stdout)
    backing: str = info['backing-filename']
    return backing


def test_rebuild_boots_the_guest_from_the_new_image(cloud: Cloud, conn: Any, image_id: str,
                                                    flavor: str, test_image: str) -> None:
    second = _second_image(cloud, test_image)
    uuid = _boot(cloud, image_id, flavor, 'lv-rebuild', config_drive=True,
                 hostname='lv-rb-one')
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'hostname=lv-rb-one')
        assert os.path.basename(_disk_backing(conn, uuid)) == \
            hashlib.sha1(image_id.encode()).hexdigest()

        r = _action(cloud, uuid, {'rebuild': {'imageRef': second, 'name': 'lv-rebuilt',
                                              'hostname': 'lv-rb-two'}})
        assert r.status_code == 202, r.text
        server = cloud.wait(uuid, 'ACTIVE', timeout=120)
        assert server['image']['id'] == second and server['name'] == 'lv-rebuilt'
        assert server['image']['properties']['os_distro'] == 'second'
        # The guest booted again, from a new overlay on the second image's
        # cache file, with a config drive made again from the new record.
        out = cloud.wait_console(uuid, MARKER, count=2)
        out = cloud.wait_console(uuid, 'hostname=lv-rb-two')
        assert out.index('hostname=lv-rb-two') > out.rindex('hostname=lv-rb-one')
        assert os.path.basename(_disk_backing(conn, uuid)) == \
            hashlib.sha1(second.encode()).hexdigest()
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_RUNNING)
        assert _events(cloud, uuid, 'rebuild') == [('compute_rebuild_instance', 'Success')]

        # A stopped server is rebuilt and stays off.
        assert _action(cloud, uuid, {'os-stop': None}).status_code == 202
        cloud.wait(uuid, 'SHUTOFF')
        r = _action(cloud, uuid, {'rebuild': {'imageRef': image_id}})
        assert r.status_code == 202, r.text
        server = cloud.wait(uuid, 'SHUTOFF', timeout=120)
        assert server['image']['id'] == image_id
        assert conn.lookupByUUIDString(uuid).info()[0] == libvirt.VIR_DOMAIN_SHUTOFF
        assert os.path.basename(_disk_backing(conn, uuid)) == \
            hashlib.sha1(image_id.encode()).hexdigest()
    finally:
        cloud.api('DELETE', f'/servers/{uuid}')
        cloud.wait_gone(uuid)


def _backing(disk: str) -> str:
    info = json.loads(subprocess.run(
        ['qemu-img', 'info', '-U', '--output=json', '-f', 'qcow2', disk],
        check=True, capture_output=True, text=True).stdout)
    backing: str = info['backing-filename']
    return backing


def _qemu_io(disk: str, command: str) -> str:
    proc = subprocess.run(['qemu-io', '-f', 'qcow2', '-c', command, disk],
                          capture_output=True, text=True, timeout=60)
    return proc.stdout + proc.stderr


def test_ephemeral_disk_and_preserve_ephemeral(cloud: Cloud, conn: Any,
                                               image_id: str) -> None:
    """A flavor's ephemeral disk is the guest's second disk, formatted
    (ext4, label ephemeral0); rebuild with preserve_ephemeral keeps what was
    written on it, a plain rebuild gives a fresh one."""
    r = cloud.api('POST', '/flavors', json={'flavor': {
        'name': 'lv-eph', 'id': 'lv-eph', 'vcpus': 1, 'ram': 128, 'disk': 1,
        'OS-FLV-EXT-DATA:ephemeral': 1}})
    assert r.status_code == 200, r.text
    uuid = _boot(cloud, image_id, 'lv-eph', 'lv-eph')
    local = os.path.join(cloud.state, 'instances', uuid, 'disk.local')
    try:
        cloud.wait(uuid, 'ACTIVE')
        xml = conn.lookupByUUIDString(uuid).XMLDesc(0)
        assert f"<source file='{local}'" in xml and "<target dev='vdb'" in xml
        assert subprocess.run(['blkid', '-p', '-s', 'LABEL', '-o', 'value',
                               _backing(local)],
                              capture_output=True, text=True).stdout.strip() == 'ephemeral0'
        cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-READY')
        assert _action(cloud, uuid, {'os-stop': None}).status_code == 202
        cloud.wait(uuid, 'SHUTOFF')
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_SHUTOFF)
        # What the user left on the ephemeral disk (beyond the file system's blocks).
        assert 'wrote' in _qemu_io(local, 'write -P 0x5a 512M 64k')

        rebuild = {'rebuild': {'imageRef': image_id, 'preserve_ephemeral': True}}
        assert _action(cloud, uuid, rebuild).status_code == 202
        cloud.wait(uuid, 'SHUTOFF')
        assert 'verification failed' not in _qemu_io(local, 'read -P 0x5a 512M 64k')

        rebuild['rebuild']['preserve_ephemeral'] = False
        assert _action(cloud, uuid, rebuild).status_code == 202
        cloud.wait(uuid, 'SHUTOFF')
        assert 'verification failed' in _qemu_io(local, 'read -P 0x5a 512M 64k')
    finally:
        cloud.api('DELETE', f'/servers/{uuid}')
        cloud.wait_gone(uuid)
        cloud.api('DELETE', '/flavors/lv-eph')
