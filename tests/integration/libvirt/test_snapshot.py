"""createImage on a real QEMU guest: the running guest's disk flattened into a
qcow2 image, uploaded through the image API, and a server booted from that
snapshot comes up with the original's boot marker."""
from __future__ import annotations

import time
from typing import Any

import requests

from tests.integration.libvirt.conftest import MARKER, Cloud, import_libvirt
from tests.integration.libvirt.test_guests import _action, _boot, _wait_dom

libvirt = import_libvirt()

H = {'X-Auth-Token': 'admin:admin'}


def _wait_image_active(cloud: Cloud, image_id: str, timeout: float = 120.0
                       ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    image: dict[str, Any] = {}
    while time.monotonic() < deadline:
        image = requests.get(f'{cloud.image}/v2/images/{image_id}', headers=H,
                             timeout=30).json()
        if image['status'] == 'active':
            return image
        time.sleep(0.3)
    raise AssertionError(f'image {image_id} stuck in {image.get("status")}')


def test_snapshot_of_a_running_guest_boots(cloud: Cloud, conn: Any, image_id: str,
                                           flavor: str) -> None:
    uuid = _boot(cloud, image_id, flavor, 'lv-snap')
    snap_id = None
    second = None
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, MARKER)
        r = _action(cloud, uuid, {'createImage': {'name': 'lv-snap-image'}})
        assert r.status_code == 202, r.text
        snap_id = r.json()['image_id']
        image = _wait_image_active(cloud, snap_id)
        assert (image['disk_format'], image['container_format']) == ('qcow2', 'bare')
        assert image['size'] > 0
        assert (image['image_type'], image['instance_uuid']) == ('snapshot', uuid)
        data = requests.get(f'{cloud.image}/v2/images/{snap_id}/file', headers=H,
                            timeout=60, stream=True)
        assert next(data.iter_content(4)) == b'QFI\xfb'   # a qcow2 file
        data.close()
        # The guest was paused only for the copy: it runs on.
        server = cloud.wait(uuid, 'ACTIVE')
        assert server['OS-EXT-STS:power_state'] == 1
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_RUNNING)
        # One guest at a time: the original goes, a server from the snapshot comes.
        assert cloud.api('DELETE', f'/servers/{uuid}').status_code == 204
        cloud.wait_gone(uuid)
        second = _boot(cloud, snap_id, flavor, 'lv-from-snap')
        cloud.wait(second, 'ACTIVE')
        cloud.wait_console(second, MARKER)
    finally:
        for server_id in (uuid, second):
            if server_id and cloud.api('DELETE', f'/servers/{server_id}').status_code == 204:
                cloud.wait_gone(server_id)
        if snap_id:
            requests.delete(f'{cloud.image}/v2/images/{snap_id}', headers=H, timeout=30)
