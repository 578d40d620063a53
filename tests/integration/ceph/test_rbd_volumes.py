"""RBD volumes on a real QEMU guest through the libvirt driver, on a real Ceph.

One guest (TCG boots are slow) booted from an RBD image written from the
test image, as a server booted from a volume; then a second RBD volume with
a marker written through librbd is hot-attached, grown, kept across a hard
reboot and detached. The guest's disk watcher reports on its serial console
what it sees (MINOVA-DISK-ADDED/RESIZED/REMOVED). The tests run in order.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from minova.context import get_admin_context
from minova.virt.libvirt import driver as libvirt_driver
from tests.integration.ceph.guests import (
    BOOTED,
    Guest,
    MiB,
    connection_info,
    data_volume,
    destroy,
    disk_names,
    libvirt_driver_here,
    new_instance,
    rbd,
    remove_images,
)


@pytest.fixture(scope='module')
def guest(ceph: dict[str, Any], volume_test_image: str) -> Iterator[Guest]:
    tag = uuid.uuid4().hex[:8]
    root_img, data_img = f'volume-root-{tag}', f'volume-data-{tag}'
    # The root volume: the test image written into RBD (as Cinder's
    # volume-from-image does), the data volume: a marker in its first line.
    subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', volume_test_image,
                    f'rbd:{ceph["pool"]}/{root_img}:id=admin:conf={ceph["conf"]}'],
                   check=True, capture_output=True, timeout=300)
    marker = f'MINOVA-MARKER-{tag}'
    data_volume(ceph, data_img, marker)
    instance = new_instance(tag)
    g: Guest | None = None
    try:
        # The root volume's connection info names no secret: the host's
        # [libvirt] rbd_user and rbd_secret_uuid stand in (the fallback).
        with libvirt_driver_here(ceph, tag) as drv:
            g = Guest(drv, instance, ceph,
                      connection_info(ceph, root_img, str(uuid.uuid4()), None),
                      connection_info(ceph, data_img, str(uuid.uuid4()), ceph['secret_uuid']),
                      marker)
            yield g
            destroy(drv, instance)
    finally:
        remove_images(ceph, root_img, data_img, *(g.extra_images if g else []))


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
    assert disk_names(xml) == [guest.root['data']['name']]
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
    assert guest.data['data']['name'] in disk_names(persistent)


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


def test_a_swap_moves_the_guests_disk_onto_another_volume(guest: Guest) -> None:
    """Cinder's volume migration: the new volume (empty, as Cinder makes it)
    gets the old one's data by QEMU's mirror, and the domain names it."""
    old_name = guest.data['data']['name']
    new_img = old_name.split('/', 1)[1] + '-new'
    rbd(guest.ceph, 'create', '--size', '128M', f'{guest.ceph["pool"]}/{new_img}')
    new = connection_info(guest.ceph, new_img, guest.data['serial'], guest.ceph['secret_uuid'])
    guest.extra_images.append(new_img)
    guest.driver.swap_volume(get_admin_context(), guest.data, new, guest.instance,  # type: ignore[arg-type]
                             '/dev/vdb', 0)
    lv = libvirt_driver._libvirt()
    dom = guest.dom()
    for flags in (0, lv.VIR_DOMAIN_XML_INACTIVE):
        names = disk_names(dom.XMLDesc(flags))
        assert new['data']['name'] in names and old_name not in names
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'data')
        rbd(guest.ceph, 'export', new['data']['name'], path, '--no-progress')
        with open(path, 'rb') as data:
            assert data.readline().decode().strip() == guest.marker
    guest.old_data, guest.data = guest.data, new


def test_a_detached_volume_leaves_the_guest_and_the_domain(guest: Guest) -> None:
    guest.driver.detach_volume(get_admin_context(), guest.data, guest.instance,  # type: ignore[arg-type]
                               '/dev/vdb')
    guest.wait_console('MINOVA-DISK-REMOVED vdb', after=BOOTED, after_count=2, timeout=60)
    lv = libvirt_driver._libvirt()
    dom = guest.dom()
    for flags in (0, lv.VIR_DOMAIN_XML_INACTIVE):
        assert guest.data['data']['name'] not in disk_names(dom.XMLDesc(flags))
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
