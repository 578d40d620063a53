"""A running guest live-migrated between two hypervisors on this machine:
the all-in-one's libvirtd and a second one that tools/minova-hypervisor
brings up in a mount namespace of its own, with its compute service, on the
same RabbitMQ vhost (docs/live-migration.md). One guest: a first move,
slowed down, is aborted (the guest runs on at the source, the destination
keeps nothing); the second completes: the guest keeps running (its console
counter goes on, no second boot), its domain is on the destination only,
placement holds its allocation there only; the way back, slowed down, is
forced to complete (the guest paused until it arrives)."""
from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.libvirt.conftest import MARKER, Cloud, import_libvirt
from tests.integration.libvirt.two_hosts import (
    DEST_URI,
    TwoHosts,
    allocations,
    boot,
    hypervisors,
    in_dest_namespace,
    live_migrate,
    two_hosts,
)

libvirt = import_libvirt()

TICK = re.compile(r'MINOVA-TICK (\d+)')


@pytest.fixture(scope='module')
def hosts(conn: Any, test_image: str) -> Iterator[TwoHosts]:
    with two_hosts(conn, test_image) as h:
        yield h


def _ticks(out: str) -> list[int]:
    return [int(n) for n in TICK.findall(out)]


def _abort_live_migration(hosts: TwoHosts, conn: Any, uuid: str) -> None:
    """A live migration slowed to 1 MiB/s (libvirt's maximum speed for the
    domain's next migration), aborted while it copies: the guest runs on at
    the source, the destination keeps nothing, the migration 'cancelled'."""
    cloud, source, dest = hosts.cloud, hosts.source, hosts.dest
    dom = conn.lookupByUUIDString(uuid)
    dom.migrateSetMaxSpeed(1)
    try:
        r = cloud.api('POST', f'/servers/{uuid}/action', json={'os-migrateLive': {
            'host': dest, 'block_migration': 'auto'}})
        assert r.status_code == 202, r.text
        mig = _running_migration(cloud, uuid)
        assert mig['memory_total_bytes'] > mig['memory_processed_bytes']
        r = cloud.api('DELETE', f'/servers/{uuid}/migrations/{mig["id"]}')
        assert r.status_code == 202, r.text
        server = cloud.wait(uuid, 'ACTIVE', timeout=60)
    finally:
        dom.migrateSetMaxSpeed(8192)
    assert server['OS-EXT-SRV-ATTR:host'] == source
    r = cloud.api('GET', f'/os-migrations?instance_uuid={uuid}')
    assert [m['status'] for m in r.json()['migrations']] == ['cancelled']
    assert dom.isActive() and dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING
    dest_conn = libvirt.open(DEST_URI)
    try:
        with pytest.raises(libvirt.libvirtError):
            dest_conn.lookupByUUIDString(uuid)
    finally:
        dest_conn.close()
    # what pre_live_migration made on the destination is gone, the source's stays
    inst_dir = os.path.join(cloud.state, 'instances', uuid)
    assert in_dest_namespace(hosts, 'test', '-e', inst_dir).returncode == 1
    assert os.path.exists(os.path.join(inst_dir, 'disk'))
    rp = {name: hv['id'] for name, hv in hypervisors(cloud).items()}
    assert set(allocations(cloud, uuid)) == {rp[source]}


def test_running_guest_moves_to_the_other_hypervisor(hosts: TwoHosts, conn: Any) -> None:
    cloud, source, dest = hosts.cloud, hosts.source, hosts.dest
    uuid = boot(hosts, 'lm-vm')
    _abort_live_migration(hosts, conn, uuid)
    before = _ticks(cloud.console(uuid))

    server = live_migrate(cloud, uuid, dest)
    assert server['OS-EXT-SRV-ATTR:hypervisor_hostname'] == dest

    mig = _newest_migration_ends(cloud, uuid)
    assert (mig['migration_type'], mig['status'], mig['source_compute'],
            mig['dest_compute']) == ('live-migration', 'completed', source, dest), mig

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
    while set(allocations(cloud, uuid)) != {rp[dest]}:
        assert time.monotonic() < deadline, allocations(cloud, uuid)
        time.sleep(0.3)
    if mig.get('uuid'):
        assert allocations(cloud, mig['uuid']) == {}

    _force_complete_back(hosts, conn, uuid)

    assert cloud.api('DELETE', f'/servers/{uuid}').status_code == 204
    cloud.wait_gone(uuid)


def _newest_migration_ends(cloud: Cloud, uuid: str) -> dict[str, Any]:
    """The server's newest migration record once it has left 'running'. As
    in Nova, the destination makes the server ACTIVE before the source has
    dropped the move's allocation and marked the record 'completed': a
    client that checks the record waits for it, not for the server."""
    deadline = time.monotonic() + 30
    while True:
        r = cloud.api('GET', f'/os-migrations?instance_uuid={uuid}')
        assert r.status_code == 200, r.text
        mig: dict[str, Any] = r.json()['migrations'][0]   # the newest
        if mig['status'] not in ('queued', 'preparing', 'running', 'post-migrating'):
            return mig
        assert time.monotonic() < deadline, mig
        time.sleep(0.3)


def _running_migration(cloud: Cloud, uuid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        migs = cloud.api('GET', f'/servers/{uuid}/migrations').json()['migrations']
        if migs and migs[0]['status'] == 'running' and migs[0]['memory_processed_bytes']:
            return migs[0]
        assert time.monotonic() < deadline, migs
        time.sleep(0.3)


def _force_complete_back(hosts: TwoHosts, conn: Any, uuid: str) -> None:
    """The way back, slowed to 1 MiB/s and forced to complete: the guest is
    paused on the (second) source so its memory stops changing; once copied
    it runs on the first hypervisor, its counter going on."""
    cloud, first = hosts.cloud, hosts.source
    second = libvirt.open(DEST_URI)
    try:
        dom = second.lookupByUUIDString(uuid)
        dom.migrateSetMaxSpeed(1)
        last = _ticks(cloud.console(uuid))[-1]
        r = cloud.api('POST', f'/servers/{uuid}/action', json={'os-migrateLive': {
            'host': first, 'block_migration': 'auto'}})
        assert r.status_code == 202, r.text
        mig = _running_migration(cloud, uuid)
        r = cloud.api('POST', f'/servers/{uuid}/migrations/{mig["id"]}/action',
                      json={'force_complete': None})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 10
        while dom.info()[0] != libvirt.VIR_DOMAIN_PAUSED:   # paused by force complete
            assert time.monotonic() < deadline, dom.info()
            time.sleep(0.1)
        dom.migrateSetMaxSpeed(8192)   # now let the copy finish
    finally:
        second.close()
    server = cloud.wait(uuid, 'ACTIVE', timeout=120)
    assert server['OS-EXT-SRV-ATTR:host'] == first
    assert _newest_migration_ends(cloud, uuid)['status'] == 'completed'
    assert conn.lookupByUUIDString(uuid).info()[0] == libvirt.VIR_DOMAIN_RUNNING
    out = cloud.wait_console(uuid, 'MINOVA-TICK', timeout=30)
    assert _ticks(out)[0] > last and MARKER not in out, (last, out[-500:])
