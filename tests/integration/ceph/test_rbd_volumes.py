"""RBD volumes on a real QEMU guest through the libvirt driver, on a real Ceph.

One guest (TCG boots are slow) booted from an RBD image written from the
test image, as a server booted from a volume; then a second RBD volume with
a marker written through librbd is hot-attached, grown, kept across a hard
reboot and detached. The guest's disk watcher reports on its serial console
what it sees (MINOVA-DISK-ADDED/RESIZED/REMOVED). The tests run in order.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from minova.conf import CONF
from minova.context import get_admin_context
from minova.virt.libvirt import driver as libvirt_driver
from minova.virt.libvirt.driver import LibvirtDriver

MiB = 1 << 20
BOOTED = 'MINOVA-TEST-IMAGE-BOOTED'


@dataclass
class Guest:
    driver: LibvirtDriver
    instance: dict[str, Any]
    ceph: dict[str, Any]
    root: dict[str, Any]        # connection infos, as Cinder's with the serial
    data: dict[str, Any]
    marker: str

    def console(self) -> str:
        path = os.path.join(libvirt_driver.instance_dir(self.instance), 'console.log')  # type: ignore[arg-type]
        with open(path, errors='replace') as f:
            return f.read()

    def wait_console(self, text: str, count: int = 1, timeout: float = 120.0,
                     after: str | None = None, after_count: int = 1) -> str:
        """Wait for text count times (on the part after the after_count-th
        occurrence of after, when given)."""
        deadline = time.monotonic() + timeout
        out = ''
        while time.monotonic() < deadline:
            out = self.console()
            part = out
            if after is not None:
                parts = out.split(after)
                part = after.join(parts[after_count:]) if len(parts) > after_count else ''
            if part.count(text) >= count:
                return part
            time.sleep(0.5)
        raise AssertionError(f'{text!r} x{count} not on the console:\n{out[-3000:]}')

    def bdi(self, *infos: tuple[dict[str, Any], str, int | None]) -> dict[str, Any]:
        return {'root_device_name': '/dev/vda', 'ephemerals': [], 'swap': None,
                'block_device_mapping': [
                    {'connection_info': info, 'mount_device': dev, 'boot_index': boot,
                     'disk_bus': 'virtio', 'device_type': 'disk',
                     'delete_on_termination': False, 'volume_id': info['serial']}
                    for info, dev, boot in infos]}

    def dom(self) -> Any:
        return self.driver._lookup(self.instance)  # type: ignore[arg-type]


def rbd(ceph: dict[str, Any], *args: str, **kw: Any) -> subprocess.CompletedProcess:
    """The rbd CLI as client.admin."""
    return subprocess.run(['rbd', '-c', ceph['conf'], '--id', 'admin', *args],
                          capture_output=True, check=True, timeout=300, **kw)


def connection_info(ceph: dict[str, Any], image: str, volume_id: str,
                    secret_uuid: str | None) -> dict[str, Any]:
    """What Cinder's RBD driver answers to attachment_update, plus the serial."""
    host, port = ceph['mon_hosts'][0].split(':')
    return {'driver_volume_type': 'rbd', 'serial': volume_id, 'data': {
        'name': f'{ceph["pool"]}/{image}', 'hosts': [host], 'ports': [port],
        'cluster_name': 'ceph', 'auth_enabled': True, 'auth_username': ceph['user'],
        'secret_type': 'ceph', 'secret_uuid': secret_uuid, 'volume_id': volume_id,
        'discard': True, 'qos_specs': None, 'access_mode': 'rw', 'encrypted': False}}


@pytest.fixture(scope='module')
def guest(ceph: dict[str, Any], volume_test_image: str) -> Iterator[Guest]:
    tag = uuid.uuid4().hex[:8]
    root_img, data_img = f'volume-root-{tag}', f'volume-data-{tag}'
    pool = ceph['pool']
    # The root volume: the test image written into RBD (as Cinder's
    # volume-from-image does), the data volume: a marker in its first line.
    subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', volume_test_image,
                    f'rbd:{pool}/{root_img}:id=admin:conf={ceph["conf"]}'],
                   check=True, capture_output=True, timeout=300)
    marker = f'MINOVA-MARKER-{tag}'
    with tempfile.NamedTemporaryFile() as f:
        f.write(f'{marker}\n'.encode())
        f.truncate(64 * MiB)
        f.flush()
        rbd(ceph, 'import', f.name, f'{pool}/{data_img}')

    state = tempfile.mkdtemp(prefix='minova-ceph-', dir='/var/tmp')
    os.chmod(state, 0o755)   # QEMU runs as another user
    overrides = {'state_path': state, 'host': f'ceph-it-{os.getpid()}',
                 'instance_name_template': f'ceph-it-{os.getpid()}-%08x'}
    for name, value in overrides.items():
        CONF.set_override(name, value)
    # The root volume's connection info names no secret: the host's
    # [libvirt] rbd_user and rbd_secret_uuid stand in (the fallback).
    CONF.set_override('rbd_user', ceph['user'], group='libvirt')
    CONF.set_override('rbd_secret_uuid', ceph['secret_uuid'], group='libvirt')
    drv = LibvirtDriver()
    drv.init_host(CONF.host, deployment_id=f'ceph-it-{tag}')
    instance = {'uuid': str(uuid.uuid4()), 'id': int(tag, 16) % 10**7, 'memory_mb': 128,
                'vcpus': 1, 'root_gb': 1, 'ephemeral_gb': 0, 'display_name': 'ceph-it',
                'image_ref': '', 'project_id': 'p', 'config_drive': False}
    g = Guest(drv, instance, ceph,
              connection_info(ceph, root_img, str(uuid.uuid4()), None),
              connection_info(ceph, data_img, str(uuid.uuid4()), ceph['secret_uuid']),
              marker)
    try:
        yield g
    finally:
        with contextlib.suppress(Exception):   # (a failed test may leave no domain)
            drv.destroy(get_admin_context(), instance, [])  # type: ignore[arg-type]
        for name in overrides:
            CONF.clear_override(name)
        CONF.clear_override('rbd_user', group='libvirt')
        CONF.clear_override('rbd_secret_uuid', group='libvirt')
        for img in (root_img, data_img):
            subprocess.run(['rbd', '-c', ceph['conf'], '--id', 'admin', 'rm', f'{pool}/{img}'],
                           capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def _disk_names(xml: str) -> list[str]:
    return [src.get('name') or '' for src in
            ET.fromstring(xml).findall("./devices/disk[@type='network']/source")]


def test_a_guest_boots_from_an_rbd_volume(guest: Guest) -> None:
    ctx = get_admin_context()
    guest.driver.spawn(ctx, guest.instance, {}, [], None, {},  # type: ignore[arg-type]
                       [], block_device_info=guest.bdi((guest.root, '/dev/vda', 0)))
    out = guest.wait_console(BOOTED)
    assert 'MINOVA-DISK-ADDED vda bytes=' in guest.wait_console('MINOVA-DISK-ADDED vda')
    assert 'MINOVA-TEST-IMAGE-READY' in guest.wait_console('MINOVA-TEST-IMAGE-READY')
    # no image disk was made: the only disk is the volume, with the host's secret
    assert not os.path.exists(os.path.join(libvirt_driver.instance_dir(guest.instance),  # type: ignore[arg-type]
                                           'disk'))
    xml = guest.dom().XMLDesc(0)
    assert _disk_names(xml) == [guest.root['data']['name']]
    assert f"uuid='{guest.ceph['secret_uuid']}'" in xml or \
        f'uuid="{guest.ceph["secret_uuid"]}"' in xml
    assert out


def test_a_hot_attached_volume_shows_up_with_its_data(guest: Guest) -> None:
    guest.driver.attach_volume(get_admin_context(), guest.data,
                               guest.instance, '/dev/vdb')  # type: ignore[arg-type]
    line = f'MINOVA-DISK-ADDED vdb bytes={64 * MiB} marker={guest.marker}'
    guest.wait_console(line, timeout=60)
    lv = libvirt_driver._libvirt()
    persistent = guest.dom().XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)
    assert guest.data['data']['name'] in _disk_names(persistent)


def test_an_extended_volume_grows_in_the_guest(guest: Guest) -> None:
    rbd(guest.ceph, 'resize', '--size', '128M', guest.data['data']['name'])
    guest.driver.extend_volume(get_admin_context(), guest.data, guest.instance,  # type: ignore[arg-type]
                               128 * MiB)
    guest.wait_console(f'MINOVA-DISK-RESIZED vdb bytes={128 * MiB}', timeout=60)


def test_a_hard_reboot_keeps_the_volumes(guest: Guest) -> None:
    bdi = guest.bdi((guest.root, '/dev/vda', 0), (guest.data, '/dev/vdb', None))
    guest.driver.reboot(get_admin_context(), guest.instance, [], 'HARD',  # type: ignore[arg-type]
                        block_device_info=bdi)
    # after the second boot, the guest finds the data volume again
    guest.wait_console(f'MINOVA-DISK-ADDED vdb bytes={128 * MiB} marker={guest.marker}',
                       after=BOOTED, after_count=2, timeout=150)


def test_a_detached_volume_leaves_the_guest_and_the_domain(guest: Guest) -> None:
    guest.driver.detach_volume(get_admin_context(), guest.data, guest.instance,  # type: ignore[arg-type]
                               '/dev/vdb')
    guest.wait_console('MINOVA-DISK-REMOVED vdb', after=BOOTED, after_count=2, timeout=60)
    lv = libvirt_driver._libvirt()
    dom = guest.dom()
    for flags in (0, lv.VIR_DOMAIN_XML_INACTIVE):
        assert guest.data['data']['name'] not in _disk_names(dom.XMLDesc(flags))
    # detaching again: already gone is success
    guest.driver.detach_volume(get_admin_context(), guest.data, guest.instance,  # type: ignore[arg-type]
                               '/dev/vdb')


def test_destroy_leaves_the_volumes_data(guest: Guest) -> None:
    if os.environ.get('MINOVA_CEPH_SHOW_CONSOLE'):
        print(guest.console())
    guest.driver.destroy(get_admin_context(), guest.instance, [],  # type: ignore[arg-type]
                         block_device_info=guest.bdi((guest.root, '/dev/vda', 0)))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'data')
        rbd(guest.ceph, 'export', guest.data['data']['name'], path, '--no-progress')
        with open(path, 'rb') as data:
            assert data.readline().decode().strip() == guest.marker
    assert rbd(guest.ceph, 'info', guest.root['data']['name']).returncode == 0
