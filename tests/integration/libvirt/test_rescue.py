"""rescue on one real QEMU guest: the guest is shut down cleanly, the domain
boots a fresh overlay of the rescue image with the server's own disk attached
second; unrescue brings back the one-disk domain."""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import Any

from tests.integration.libvirt.conftest import MARKER, Cloud, import_libvirt
from tests.integration.libvirt.test_guests import _action, _boot, _wait_dom
from tests.integration.libvirt.test_pause_suspend import _events

libvirt = import_libvirt()


def _disks(conn: Any, uuid: str) -> dict[str, str]:
    """target dev -> source file of the domain's disks."""
    root = ET.fromstring(conn.lookupByUUIDString(uuid).XMLDesc(0))
    return {d.find('target').get('dev'): d.find('source').get('file')  # type: ignore[union-attr]
            for d in root.iter('disk')}


def test_rescue_boots_the_rescue_image_with_the_disk_attached(
        cloud: Cloud, conn: Any, image_id: str, flavor: str) -> None:
    uuid = _boot(cloud, image_id, flavor, 'lv-rescue', config_drive=True)
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'config-drive=/dev/vdb')
        before = _disks(conn, uuid)
        assert sorted(before) == ['vda', 'vdb'] and before['vda'].endswith('/disk')
        inst_dir = os.path.dirname(before['vda'])

        r = _action(cloud, uuid, {'rescue': {'adminPass': 'rescue-pw'}})
        assert r.status_code == 200, r.text
        assert r.json() == {'adminPass': 'rescue-pw'}
        server = cloud.wait(uuid, 'RESCUE', timeout=120)
        assert server['OS-EXT-STS:power_state'] == 1
        # A second boot, from the rescue disk, the server's disk and its
        # config drive attached after it.
        out = cloud.wait_console(uuid, MARKER, count=2)
        # The guest was shut down cleanly (ACPI) before the rescue boot.
        assert out.index('power button, powering off') < out.rindex(MARKER)
        cloud.wait_console(uuid, 'config-drive=/dev/vdc')
        disks = _disks(conn, uuid)
        assert disks == {'vda': os.path.join(inst_dir, 'disk.rescue'),
                         'vdb': before['vda'], 'vdc': before['vdb']}
        assert os.path.exists(os.path.join(inst_dir, 'unrescue.xml'))
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_RUNNING)

        assert _action(cloud, uuid, {'unrescue': None}).status_code == 202
        cloud.wait(uuid, 'ACTIVE', timeout=120)
        cloud.wait_console(uuid, MARKER, count=3)
        assert _disks(conn, uuid) == before
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_RUNNING)
        for name in ('disk.rescue', 'unrescue.xml'):
            assert not os.path.exists(os.path.join(inst_dir, name)), name
        assert _events(cloud, uuid, 'rescue') == [('compute_rescue_instance', 'Success')]
        assert _events(cloud, uuid, 'unrescue') == [('compute_unrescue_instance', 'Success')]
    finally:
        cloud.api('DELETE', f'/servers/{uuid}')
        cloud.wait_gone(uuid)
