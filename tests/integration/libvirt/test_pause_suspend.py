"""pause/unpause, suspend/resume and trigger_crash_dump on one real QEMU guest:
what libvirt and the guest's console show."""
from __future__ import annotations

import re
import time
from typing import Any

from tests.integration.libvirt.conftest import MARKER, Cloud, import_libvirt
from tests.integration.libvirt.test_guests import _action, _boot, _wait_dom

libvirt = import_libvirt()


def _tick(cloud: Cloud, uuid: str) -> int:
    """The guest's last MINOVA-TICK counter value on its console (0: none yet)."""
    ticks = re.findall(r'MINOVA-TICK (\d+)', cloud.console(uuid))
    return int(ticks[-1]) if ticks else 0


def _wait_tick_past(cloud: Cloud, uuid: str, n: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while (tick := _tick(cloud, uuid)) <= n:
        assert time.monotonic() < deadline, f'the counter never passed {n}'
        time.sleep(0.3)
    return tick


def _events(cloud: Cloud, uuid: str, action: str) -> list[tuple[str, str]]:
    listed = cloud.api('GET', f'/servers/{uuid}/os-instance-actions').json()
    req_id = next(a['request_id'] for a in listed['instanceActions']
                  if a['action'] == action)
    one = cloud.api('GET', f'/servers/{uuid}/os-instance-actions/{req_id}').json()
    return [(e['event'], e['result']) for e in one['instanceAction']['events']]


def test_pause_suspend_resume_keep_the_guest(cloud: Cloud, conn: Any, image_id: str,
                                             flavor: str) -> None:
    uuid = _boot(cloud, image_id, flavor, 'lv-ops')
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-READY')

        _wait_tick_past(cloud, uuid, 1)

        # pause: the vCPUs stop (the counter with them), the guest stays in memory.
        assert _action(cloud, uuid, {'pause': None}).status_code == 202
        server = cloud.wait(uuid, 'PAUSED')
        assert server['OS-EXT-STS:power_state'] == 3
        assert conn.lookupByUUIDString(uuid).info()[0] == libvirt.VIR_DOMAIN_PAUSED
        paused_at = _tick(cloud, uuid)
        time.sleep(3)
        assert _tick(cloud, uuid) == paused_at
        assert _action(cloud, uuid, {'unpause': None}).status_code == 202
        server = cloud.wait(uuid, 'ACTIVE')
        assert server['OS-EXT-STS:power_state'] == 1
        assert conn.lookupByUUIDString(uuid).info()[0] == libvirt.VIR_DOMAIN_RUNNING
        # It carries on from where it stopped.
        _wait_tick_past(cloud, uuid, paused_at)

        # suspend: managed save, the domain is off with its memory on disk.
        assert _action(cloud, uuid, {'suspend': None}).status_code == 202
        server = cloud.wait(uuid, 'SUSPENDED')
        suspended_at = _tick(cloud, uuid)
        dom = conn.lookupByUUIDString(uuid)
        assert dom.info()[0] == libvirt.VIR_DOMAIN_SHUTOFF
        assert dom.hasManagedSaveImage(0) == 1
        assert server['OS-EXT-STS:power_state'] == 4
        # The power-state sync (every 2 s here) leaves a suspended server alone.
        time.sleep(4)
        assert cloud.server(uuid)['status'] == 'SUSPENDED'

        assert _action(cloud, uuid, {'resume': None}).status_code == 202
        cloud.wait(uuid, 'ACTIVE')
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_RUNNING)
        assert conn.lookupByUUIDString(uuid).hasManagedSaveImage(0) == 0
        # Restored, not rebooted: one boot on the console, and the guest's
        # power-button watcher from before the suspend still answers.
        assert cloud.console(uuid).count(MARKER) == 1
        # Its counter continues past where it was rather than starting at 1.
        _wait_tick_past(cloud, uuid, suspended_at)
        ticks = [int(t) for t in re.findall(r'MINOVA-TICK (\d+)', cloud.console(uuid))]
        assert ticks == list(range(ticks[0], ticks[-1] + 1)), 'the counter restarted'
        assert _events(cloud, uuid, 'resume') == [('compute_resume_instance', 'Success')]

        assert _action(cloud, uuid, {'trigger_crash_dump': None}).status_code == 202
        deadline = time.monotonic() + 30
        while True:
            try:
                if _events(cloud, uuid, 'trigger_crash_dump')[0][1] == 'Success':
                    break
            except (StopIteration, IndexError):
                pass
            assert time.monotonic() < deadline, 'crash dump never finished'
            time.sleep(0.3)
        cloud.wait_console(uuid, 'NMI', timeout=30)

        assert _action(cloud, uuid, {'os-stop': None}).status_code == 202
        cloud.wait(uuid, 'SHUTOFF')
        assert 'power button, powering off' in cloud.console(uuid)
        assert cloud.console(uuid).count(MARKER) == 1
    finally:
        cloud.api('DELETE', f'/servers/{uuid}')
        cloud.wait_gone(uuid)
