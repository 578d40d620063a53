"""A running guest live-migrated between two hypervisors on this machine:
the all-in-one's libvirtd and a second one that tools/minova-hypervisor
brings up in a mount namespace of its own, with its compute service, on the
same RabbitMQ vhost (docs/live-migration.md). One guest, one move: it keeps
running (its console counter goes on, no second boot), its domain is on the
destination only, placement holds its allocation there only."""
from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

try:
    import libvirt
except ImportError:
    if os.environ.get('CI') == 'true':
        raise
    pytest.skip('libvirt-python is not installed', allow_module_level=True)

from tests.integration.libvirt.conftest import MARKER, Cloud
from tests.integration.libvirt.two_hosts import (
    DEST_URI,
    TwoHosts,
    boot,
    hypervisors,
    live_migrate,
    two_hosts,
)

TICK = re.compile(r'MINOVA-TICK (\d+)')


@pytest.fixture(scope='module')
def hosts(conn: Any, test_image: str) -> Iterator[TwoHosts]:
    with two_hosts(conn, test_image) as h:
        yield h


def _allocations(cloud: Cloud, consumer: str) -> dict[str, Any]:
    r = requests.get(f'{cloud.placement}/allocations/{consumer}', timeout=10,
                     headers={'X-Auth-Token': 'admin',
                              'OpenStack-API-Version': 'placement latest'})
    assert r.status_code == 200, r.text
    return r.json()['allocations']


def _ticks(out: str) -> list[int]:
    return [int(n) for n in TICK.findall(out)]


def test_running_guest_moves_to_the_other_hypervisor(hosts: TwoHosts, conn: Any) -> None:
    cloud, source, dest = hosts.cloud, hosts.source, hosts.dest
    uuid = boot(hosts, 'lm-vm')
    before = _ticks(cloud.console(uuid))

    server = live_migrate(cloud, uuid, dest)
    assert server['OS-EXT-SRV-ATTR:hypervisor_hostname'] == dest

    migs = cloud.api('GET', f'/servers/{uuid}/migrations').json()
    r = cloud.api('GET', f'/os-migrations?instance_uuid={uuid}')
    assert r.status_code == 200, r.text
    [mig] = r.json()['migrations']
    assert (mig['migration_type'], mig['status'], mig['source_compute'],
            mig['dest_compute']) == ('live-migration', 'completed', source, dest), migs

    # The guest runs on the destination's libvirtd only.
    dest_conn = libvirt.open(DEST_URI)
    try:
        dom = dest_conn.lookupByUUIDString(uuid)
        assert dom.isActive() and dom.isPersistent()
        assert dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING
    finally:
        dest_conn.close()
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(uuid)
    assert not os.path.exists(os.path.join(cloud.state, 'instances', uuid))  # source's copy

    # It kept running: its counter goes on from where it was on the source,
    # with no second boot (the destination's console log starts at the move).
    out = cloud.wait_console(uuid, 'MINOVA-TICK', timeout=30)
    deadline = time.monotonic() + 30
    while len(_ticks(out)) < 3:
        assert time.monotonic() < deadline, out[-2000:]
        time.sleep(1)
        out = cloud.console(uuid)
    after = _ticks(out)
    assert after[0] > before[-1], (before, after)
    assert after == list(range(after[0], after[0] + len(after)))
    assert MARKER not in out

    # Placement: the server's allocation on the destination only, the
    # migration's gone.
    rp = {name: hv['id'] for name, hv in hypervisors(cloud).items()}
    deadline = time.monotonic() + 10
    while set(_allocations(cloud, uuid)) != {rp[dest]}:
        assert time.monotonic() < deadline, _allocations(cloud, uuid)
        time.sleep(0.3)
    if mig.get('uuid'):
        assert _allocations(cloud, mig['uuid']) == {}

    assert cloud.api('DELETE', f'/servers/{uuid}').status_code == 204
    cloud.wait_gone(uuid)
