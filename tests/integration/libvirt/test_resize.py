"""Resize on one real QEMU guest, on one host: the guest sees its new vCPUs
and memory on its console, a revert brings back the old guest and a confirm
deletes the kept copy; placement follows each step."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from typing import Any

from tests.integration.libvirt.conftest import MARKER, Cloud, import_libvirt
from tests.integration.libvirt.test_guests import _action, _allocations, _boot, _wait_dom

libvirt = import_libvirt()

SIZE = re.compile(r'MINOVA-TEST-IMAGE-SIZE cpus=(\d+) mem_kb=(\d+)')
GiB = 1024 ** 3


def _size_after_boot(cloud: Cloud, uuid: str, boots: int) -> tuple[int, int]:
    """(vCPUs, kB of memory) the guest reported at its boots-th boot."""
    deadline = time.monotonic() + 120
    while True:
        out = cloud.wait_console(uuid, MARKER, count=boots, timeout=120)
        tail = out[out.rindex(MARKER):]
        found = SIZE.search(tail)
        if found:
            return int(found.group(1)), int(found.group(2))
        assert time.monotonic() < deadline, f'no size line after boot {boots}:\n{tail}'
        time.sleep(0.5)


def _resources(cloud: Cloud, consumer: str) -> dict[str, int]:
    allocs = _allocations(cloud, consumer)
    assert len(allocs) <= 1, allocs
    return next(iter(allocs.values()))['resources'] if allocs else {}


def _migration(cloud: Cloud, uuid: str) -> dict[str, Any]:
    r = cloud.api('GET', f'/os-migrations?instance_uuid={uuid}')
    assert r.status_code == 200, r.text
    return r.json()['migrations'][0]   # newest first


def _domain(conn: Any, uuid: str) -> tuple[int, int]:
    xml = ET.fromstring(conn.lookupByUUIDString(uuid).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    return int(xml.findtext('vcpu') or 0), int(xml.findtext('memory') or 0) // 1024


def _disk_gib(path: str) -> float:
    info = json.loads(subprocess.run(['qemu-img', 'info', '-U', '--output=json', path],
                                     check=True, capture_output=True, text=True).stdout)
    return int(info['virtual-size']) / GiB


def _resize(cloud: Cloud, uuid: str, flavor: str) -> dict[str, Any]:
    r = _action(cloud, uuid, {'resize': {'flavorRef': flavor}})
    assert r.status_code == 202, r.text
    return cloud.wait(uuid, 'VERIFY_RESIZE', timeout=180)


def test_resize_revert_then_confirm(cloud: Cloud, conn: Any, image_id: str,
                                    flavor: str) -> None:
    r = cloud.api('POST', '/flavors', json={'flavor': {
        'name': 'lv-big', 'id': 'lv-big', 'vcpus': 2, 'ram': 192, 'disk': 2}})
    assert r.status_code == 200, r.text
    old = {'VCPU': 1, 'MEMORY_MB': 128, 'DISK_GB': 1}
    new = {'VCPU': 2, 'MEMORY_MB': 192, 'DISK_GB': 2}
    uuid = _boot(cloud, image_id, flavor, 'lv-resize')
    inst_dir = os.path.join(cloud.state, 'instances', uuid)
    kept = inst_dir + '_resize'
    try:
        cloud.wait(uuid, 'ACTIVE')
        cpus, mem_kb = _size_after_boot(cloud, uuid, 1)
        assert cpus == 1
        assert _resources(cloud, uuid) == old

        # Resize: the guest powered off, booted again with 2 vCPUs and more
        # memory on a grown disk; the old disk kept aside for a revert.
        server = _resize(cloud, uuid, 'lv-big')
        assert server['flavor']['original_name'] == 'lv-big'
        assert _size_after_boot(cloud, uuid, 2)[0] == 2
        assert _size_after_boot(cloud, uuid, 2)[1] > mem_kb
        assert _domain(conn, uuid) == (2, 192)
        assert _disk_gib(os.path.join(inst_dir, 'disk')) == 2
        assert _disk_gib(os.path.join(kept, 'disk')) == 1
        migration = _migration(cloud, uuid)
        assert migration['status'] == 'finished'
        assert _resources(cloud, uuid) == new
        assert _resources(cloud, migration['uuid']) == old

        # Revert: the old guest back, its old size on the console.
        r = _action(cloud, uuid, {'revertResize': None})
        assert r.status_code == 202, r.text
        server = cloud.wait(uuid, 'ACTIVE', timeout=180)
        assert server['flavor']['original_name'] == flavor
        assert _size_after_boot(cloud, uuid, 3) == (1, mem_kb)
        assert _domain(conn, uuid) == (1, 128)
        assert not os.path.exists(kept)
        assert _disk_gib(os.path.join(inst_dir, 'disk')) == 1
        assert _migration(cloud, uuid)['status'] == 'reverted'
        assert _resources(cloud, uuid) == old
        assert _resources(cloud, migration['uuid']) == {}

        # Resize again and confirm: the kept copy is deleted, the new size stays.
        _resize(cloud, uuid, 'lv-big')
        assert _size_after_boot(cloud, uuid, 4)[0] == 2
        assert os.path.exists(kept)
        migration = _migration(cloud, uuid)
        r = _action(cloud, uuid, {'confirmResize': None})
        assert r.status_code == 204, r.text
        server = cloud.wait(uuid, 'ACTIVE', timeout=120)
        assert server['flavor']['original_name'] == 'lv-big'
        deadline = time.monotonic() + 30
        while _migration(cloud, uuid)['status'] != 'confirmed':
            assert time.monotonic() < deadline, _migration(cloud, uuid)
            time.sleep(0.3)
        assert not os.path.exists(kept)
        assert _domain(conn, uuid) == (2, 192)
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_RUNNING)
        assert _resources(cloud, uuid) == new
        assert _resources(cloud, migration['uuid']) == {}
    finally:
        cloud.api('DELETE', f'/servers/{uuid}')
    cloud.wait_gone(uuid)
    assert not os.path.exists(inst_dir) and not os.path.exists(kept)
