"""shelve and unshelve on one real QEMU guest: shelved (and offloaded at once,
[DEFAULT] shelved_offload_time 0) its domain and instance directory are gone
and its snapshot is in the image service; unshelved it boots again from that
snapshot (a fresh console shows the boot marker) and the snapshot is deleted."""
from __future__ import annotations

import os
from typing import Any

import pytest
import requests

from tests.integration.libvirt.conftest import MARKER, Cloud, import_libvirt
from tests.integration.libvirt.test_guests import _action, _boot, _wait_dom

libvirt = import_libvirt()

H = {'X-Auth-Token': 'admin:admin'}
PH = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.28'}


def _allocations(cloud: Cloud, uuid: str) -> dict[str, Any]:
    r = requests.get(f'{cloud.placement}/allocations/{uuid}', headers=PH, timeout=30)
    assert r.status_code == 200, r.text
    allocations: dict[str, Any] = r.json()['allocations']
    return allocations


def test_shelve_offload_and_unshelve_from_the_snapshot(cloud: Cloud, conn: Any,
                                                      image_id: str, flavor: str) -> None:
    uuid = _boot(cloud, image_id, flavor, 'lv-shelve')
    inst_dir = os.path.join(cloud.state, 'instances', uuid)
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, MARKER)
        assert os.path.exists(os.path.join(inst_dir, 'disk'))
        assert _allocations(cloud, uuid)

        r = _action(cloud, uuid, {'shelve': None})
        assert r.status_code == 202, r.text
        server = cloud.wait(uuid, 'SHELVED_OFFLOADED', timeout=180)
        assert server['OS-EXT-STS:power_state'] == 4
        assert server['OS-EXT-SRV-ATTR:host'] is None
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByUUIDString(uuid)
        assert not os.path.exists(inst_dir)
        assert _allocations(cloud, uuid) == {}
        images = requests.get(f'{cloud.image}/v2/images', params={'name': 'lv-shelve-shelved'},
                              headers=H, timeout=30).json()['images']
        assert len(images) == 1, images
        shelved = images[0]
        assert (shelved['status'], shelved['disk_format']) == ('active', 'qcow2')
        assert (shelved['image_type'], shelved['instance_uuid']) == ('snapshot', uuid)

        r = _action(cloud, uuid, {'unshelve': None})
        assert r.status_code == 202, r.text
        server = cloud.wait(uuid, 'ACTIVE', timeout=180)
        assert server['OS-EXT-STS:power_state'] == 1
        assert server['image']['id'] == image_id
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_RUNNING)
        # The instance directory was made afresh: this marker is the new boot's.
        cloud.wait_console(uuid, MARKER)
        assert _allocations(cloud, uuid)
        r = requests.get(f"{cloud.image}/v2/images/{shelved['id']}", headers=H, timeout=30)
        assert r.status_code == 404, r.text
    finally:
        if cloud.api('DELETE', f'/servers/{uuid}').status_code == 204:
            cloud.wait_gone(uuid)
