"""An RBD volume on a guest booted from an image (the usual `server add
volume`): the root disk an overlay of the test image, a config drive; the
volume goes beside them, stays through a hard reboot and a stop and start
(the local disks keep clear of its device name), and leaves on detach."""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from minova import states
from minova.context import get_admin_context
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
    remove_images,
)


class LocalImages:
    """The image service as the image cache sees it: the test image file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.image = {'id': 'minova-test-volumes', 'status': 'active', 'disk_format': 'qcow2',
                      'container_format': 'bare', 'name': 'minova-test'}

    def show(self, ctx: Any, image_id: str) -> dict[str, Any]:
        assert image_id == self.image['id']
        return dict(self.image)

    def download(self, ctx: Any, image: dict[str, Any], path: str) -> None:
        shutil.copyfile(self.path, path)


@pytest.fixture(scope='module')
def guest(ceph: dict[str, Any], volume_test_image: str) -> Iterator[Guest]:
    tag = uuid.uuid4().hex[:8]
    data_img = f'volume-data-{tag}'
    marker = f'MINOVA-MARKER-{tag}'
    data_volume(ceph, data_img, marker)
    images = LocalImages(volume_test_image)
    instance = new_instance(tag, image_ref=images.image['id'], config_drive=True)
    try:
        with libvirt_driver_here(ceph, tag, images=images) as drv:
            g = Guest(drv, instance, ceph, {},
                      connection_info(ceph, data_img, str(uuid.uuid4()), ceph['secret_uuid']),
                      marker)
            drv.spawn(get_admin_context(), instance, images.show(None, images.image['id']),  # type: ignore[arg-type]
                      [], None, {}, [])  # type: ignore[arg-type]
            yield g
            destroy(drv, instance)
    finally:
        remove_images(ceph, data_img)


def test_a_volume_beside_the_image_disk_and_the_config_drive(guest: Guest) -> None:
    guest.wait_console('config-drive=/dev/vdb')      # the local disks: vda, vdb
    guest.wait_console('MINOVA-TEST-IMAGE-READY')
    guest.driver.attach_volume(get_admin_context(), guest.data, guest.instance,  # type: ignore[arg-type]
                               '/dev/vdc')
    guest.wait_console(f'MINOVA-DISK-ADDED vdc bytes={64 * MiB} marker={guest.marker}')


def test_hard_reboot_and_stop_start_keep_it_at_its_device(guest: Guest) -> None:
    bdi = guest.bdi((guest.data, '/dev/vdc', None))
    ctx = get_admin_context()
    guest.driver.reboot(ctx, guest.instance, [], 'HARD',  # type: ignore[arg-type]
                        block_device_info=bdi)
    part = guest.wait_console(f'MINOVA-DISK-ADDED vdc bytes={64 * MiB} marker={guest.marker}',
                              after=BOOTED, after_count=2, timeout=150)
    assert 'config-drive=/dev/vdb' in part
    guest.driver.power_off(guest.instance)  # type: ignore[arg-type]
    assert guest.driver.get_info(guest.instance)['state'] == states.SHUTDOWN  # type: ignore[arg-type]
    guest.driver.power_on(ctx, guest.instance, [],  # type: ignore[arg-type]
                          block_device_info=bdi)
    guest.wait_console(f'MINOVA-DISK-ADDED vdc bytes={64 * MiB} marker={guest.marker}',
                       after=BOOTED, after_count=3, timeout=150)


def test_detach_from_the_image_guest(guest: Guest) -> None:
    guest.driver.detach_volume(get_admin_context(), guest.data, guest.instance,  # type: ignore[arg-type]
                               '/dev/vdc')
    guest.wait_console('MINOVA-DISK-REMOVED vdc', after=BOOTED, after_count=3)
    assert guest.data['data']['name'] not in disk_names(guest.dom().XMLDesc(0))
