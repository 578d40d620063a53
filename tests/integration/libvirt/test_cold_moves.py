"""Cold moves between two hypervisors on this machine: the all-in-one's
libvirtd and a second one that tools/minova-hypervisor brings up in a mount
namespace of its own with its compute service and an sshd (and one for the
way back), so the guest's files travel over ssh to the other host's instance
directory, as Nova's remote_filesystem_transport (docs/live-migration.md).

One guest makes every move: cold-migrated to the second host (it boots
there; after the confirm its domain is there only and placement holds the
second host only), resized to the first host and reverted (back on the
second, the old flavor), then evacuated while the second host's compute is
down (rebuilt from its image on the first; when the second compute starts
again it destroys its copy, and only that: a second server there stays)."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.libvirt.conftest import MARKER, Cloud, import_libvirt
from tests.integration.libvirt.two_hosts import (
    DEST_URI,
    HYPERVISOR,
    SSH_PORT,
    TwoHosts,
    allocations,
    boot,
    hypervisors,
    in_dest_namespace,
    two_hosts,
)

libvirt = import_libvirt()

# Resize goes to the other host; a guest that ignores ACPI is powered off soon.
SOURCE_CONF = """
[DEFAULT]
allow_resize_to_same_host = False
shutdown_timeout = 5
"""
DEST_CONF = """
[DEFAULT]
shutdown_timeout = 5
"""
SERVICES = {'OpenStack-API-Version': 'compute 2.53'}


@pytest.fixture(scope='module')
def hosts(conn: Any, test_image: str) -> Iterator[TwoHosts]:
    with two_hosts(conn, test_image, SOURCE_CONF, DEST_CONF) as h:
        yield h


@pytest.fixture(scope='module')
def guests(hosts: TwoHosts) -> Iterator[dict[str, str]]:
    """The guest that moves (on the first host, booted) and one that stays
    on the second (not waited for: it only has to be there)."""
    cloud = hosts.cloud
    found = {'moves': boot(hosts, 'cm-moves')}
    # Booted second: by now the scheduler has mapped the second host to the cell.
    r = cloud.api('POST', '/servers', json={'server': {
        'name': 'cm-stays', 'flavorRef': hosts.flavor, 'imageRef': hosts.image_id,
        'networks': 'none', 'host': hosts.dest}})
    assert r.status_code == 202, r.text
    found['stays'] = r.json()['server']['id']
    yield found
    for uuid in found.values():
        cloud.api('DELETE', f'/servers/{uuid}')
    for uuid in found.values():
        cloud.wait_gone(uuid)


def _dest_domain(uuid: str) -> Any:
    """The guest's domain on the second hypervisor, None when there is none."""
    c = libvirt.open(DEST_URI)
    try:
        return c.lookupByUUIDString(uuid).info()
    except libvirt.libvirtError:
        return None
    finally:
        c.close()


def _source_domain(conn: Any, uuid: str) -> Any:
    try:
        return conn.lookupByUUIDString(uuid).info()
    except libvirt.libvirtError:
        return None


def _migration(cloud: Cloud, uuid: str) -> dict[str, Any]:
    r = cloud.api('GET', f'/os-migrations?instance_uuid={uuid}')
    assert r.status_code == 200, r.text
    return r.json()['migrations'][0]   # the newest


def _providers(cloud: Cloud) -> dict[str, str]:
    return {name: hv['id'] for name, hv in hypervisors(cloud).items()}


def _wait_allocations(cloud: Cloud, consumer: str, providers: set[str]) -> None:
    deadline = time.monotonic() + 20
    while set(allocations(cloud, consumer)) != providers:
        assert time.monotonic() < deadline, allocations(cloud, consumer)
        time.sleep(0.3)


def _backing_file(hosts: TwoHosts, disk: str) -> str:
    proc = in_dest_namespace(hosts, 'qemu-img', 'info', '-U', '--output=json', disk)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)['backing-filename']


def test_cold_migrated_guest_boots_on_the_other_host(hosts: TwoHosts, conn: Any,
                                                     guests: dict[str, str]) -> None:
    cloud, source, dest = hosts.cloud, hosts.source, hosts.dest
    uuid = guests['moves']
    inst_dir = os.path.join(cloud.state, 'instances', uuid)
    r = cloud.api('POST', f'/servers/{uuid}/action', json={'migrate': {'host': dest}})
    assert r.status_code == 202, r.text
    server = cloud.wait(uuid, 'VERIFY_RESIZE', timeout=240)
    assert server['OS-EXT-SRV-ATTR:host'] == dest
    mig = _migration(cloud, uuid)
    assert (mig['migration_type'], mig['status'], mig['source_compute'], mig['dest_compute'],
            mig['dest_host']) == ('migration', 'finished', source, dest, '127.0.0.2')

    # It booted there: its console log came along (the first boot) and shows
    # a second boot, read through the API from the second host.
    out = cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-READY', count=2, timeout=120)
    assert out.count(MARKER) == 2
    assert _dest_domain(uuid)[0] == libvirt.VIR_DOMAIN_RUNNING
    # The disk is in the second host's instance directory, backed by its own
    # image cache; the first keeps its copy aside, its guest shut off.
    disk = os.path.join(inst_dir, 'disk')
    assert _backing_file(hosts, disk).startswith(os.path.join(hosts.hv_state, 'compute'))
    assert os.path.exists(inst_dir + '_resize') and not os.path.exists(inst_dir)
    assert _source_domain(conn, uuid)[0] == libvirt.VIR_DOMAIN_SHUTOFF

    r = cloud.api('POST', f'/servers/{uuid}/action', json={'confirmResize': None})
    assert r.status_code == 204, r.text
    server = cloud.wait(uuid, 'ACTIVE', timeout=60)
    assert server['OS-EXT-SRV-ATTR:host'] == dest
    assert _migration(cloud, uuid)['status'] == 'confirmed'
    # The domain on the second host only, nothing left on the first.
    assert _source_domain(conn, uuid) is None
    assert not os.path.exists(inst_dir + '_resize') and not os.path.exists(inst_dir)
    assert _dest_domain(uuid)[0] == libvirt.VIR_DOMAIN_RUNNING
    _wait_allocations(cloud, uuid, {_providers(cloud)[dest]})
    assert allocations(cloud, mig['uuid']) == {}


def test_resize_to_the_other_host_then_revert_brings_it_back(
        hosts: TwoHosts, conn: Any, guests: dict[str, str]) -> None:
    cloud, source, dest = hosts.cloud, hosts.source, hosts.dest
    uuid = guests['moves']
    assert cloud.server(uuid)['OS-EXT-SRV-ATTR:host'] == dest
    boots = cloud.console(uuid).count(MARKER)
    r = cloud.api('POST', '/flavors', json={'flavor': {
        'name': 'lv-bigger', 'id': 'lv-bigger', 'vcpus': 1, 'ram': 160, 'disk': 1}})
    assert r.status_code == 200, r.text
    # The way back: the second host copies the files to the first over ssh.
    r = cloud.api('POST', f'/servers/{uuid}/action', json={'resize': {'flavorRef': 'lv-bigger'}})
    assert r.status_code == 202, r.text
    server = cloud.wait(uuid, 'VERIFY_RESIZE', timeout=240)
    assert server['OS-EXT-SRV-ATTR:host'] == source
    assert server['flavor']['original_name'] == 'lv-bigger'
    cloud.wait_console(uuid, MARKER, count=boots + 1, timeout=120)
    info = _source_domain(conn, uuid)
    assert info[0] == libvirt.VIR_DOMAIN_RUNNING and info[1] == 160 * 1024
    assert _dest_domain(uuid)[0] == libvirt.VIR_DOMAIN_SHUTOFF   # kept for a revert

    r = cloud.api('POST', f'/servers/{uuid}/action', json={'revertResize': None})
    assert r.status_code == 202, r.text
    server = cloud.wait(uuid, 'ACTIVE', timeout=180)
    assert server['OS-EXT-SRV-ATTR:host'] == dest
    assert server['flavor']['original_name'] == 'lv-tiny'
    assert _migration(cloud, uuid)['status'] == 'reverted'
    info = _dest_domain(uuid)
    assert info[0] == libvirt.VIR_DOMAIN_RUNNING and info[1] == 128 * 1024
    # The second host's kept log, and the guest booting from its kept disk.
    cloud.wait_console(uuid, MARKER, count=boots + 1, timeout=120)
    assert _source_domain(conn, uuid) is None
    assert not os.path.exists(os.path.join(cloud.state, 'instances', uuid))
    _wait_allocations(cloud, uuid, {_providers(cloud)[dest]})


def _service_id(cloud: Cloud, host: str) -> str:
    r = cloud.api('GET', f'/os-services?host={host}&binary=nova-compute', headers=SERVICES)
    assert r.status_code == 200, r.text
    return str(r.json()['services'][0]['id'])


def _force_down(cloud: Cloud, host: str, down: bool) -> None:
    r = cloud.api('PUT', f'/os-services/{_service_id(cloud, host)}',
                  json={'forced_down': down}, headers=SERVICES)
    assert r.status_code == 200, r.text


def _stop_dest_compute(hosts: TwoHosts) -> None:
    with open(os.path.join(hosts.hv_state, 'compute.pid')) as f:
        pid = int(f.read())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _running(pid):
        assert time.monotonic() < deadline, 'the second compute did not stop'
        time.sleep(0.2)


def _running(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'   # a zombie has ended
    except FileNotFoundError:
        return False


def test_evacuate_from_a_dead_host_and_its_clean_up(hosts: TwoHosts, conn: Any,
                                                    guests: dict[str, str]) -> None:
    cloud, source, dest = hosts.cloud, hosts.source, hosts.dest
    uuid, stays = guests['moves'], guests['stays']
    assert cloud.wait(stays, 'ACTIVE')['OS-EXT-SRV-ATTR:host'] == dest
    assert cloud.server(uuid)['OS-EXT-SRV-ATTR:host'] == dest
    inst_dir = os.path.join(cloud.state, 'instances', uuid)

    # The first host has no guest of the image left: its cached copy goes,
    # so the evacuation there downloads it again.
    cached = os.path.join(cloud.state, '_base', hashlib.sha1(hosts.image_id.encode()).hexdigest())
    os.remove(cached)
    _stop_dest_compute(hosts)
    _force_down(cloud, dest, True)
    try:
        # 2.94: the server ends as it was (ACTIVE); 2.95 would stop it.
        r = cloud.api('POST', f'/servers/{uuid}/action', json={'evacuate': {}},
                      headers={'OpenStack-API-Version': 'compute 2.94'})
        assert r.status_code == 200, r.text
        server = cloud.wait(uuid, 'ACTIVE', timeout=180)
        assert server['OS-EXT-SRV-ATTR:host'] == source
        mig = _migration(cloud, uuid)
        assert (mig['migration_type'], mig['status'], mig['source_compute'],
                mig['dest_compute']) == ('evacuation', 'done', dest, source)
        # Rebuilt from its image on the first host: a fresh disk, one boot.
        out = cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-READY', timeout=120)
        assert out.count(MARKER) == 1
        assert os.path.exists(cached)
        assert _source_domain(conn, uuid)[0] == libvirt.VIR_DOMAIN_RUNNING
        # The dead host's copy is still there while its compute is down.
        assert _dest_domain(uuid) is not None
        assert in_dest_namespace(hosts, 'test', '-e', inst_dir).returncode == 0
        rp = _providers(cloud)
        assert set(allocations(cloud, uuid)) == {rp[source], rp[dest]}

        subprocess.run([HYPERVISOR, '--state-dir', hosts.hv_state, '--ssh-port', str(SSH_PORT),
                        'up', '--config-file',
                        os.path.join(cloud.state, 'hv2.conf'), '--instances-path',
                        os.path.join(cloud.state, 'instances')], check=True, timeout=120)
    finally:
        _force_down(cloud, dest, False)
    # Its start destroys the evacuated server's domain and disk, only those.
    deadline = time.monotonic() + 90
    while _migration(cloud, uuid)['status'] != 'completed':
        assert time.monotonic() < deadline, _migration(cloud, uuid)
        time.sleep(0.5)
    assert _dest_domain(uuid) is None
    assert in_dest_namespace(hosts, 'test', '-e', inst_dir).returncode == 1
    _wait_allocations(cloud, uuid, {rp[source]})
    assert _source_domain(conn, uuid)[0] == libvirt.VIR_DOMAIN_RUNNING
    assert _dest_domain(stays)[0] == libvirt.VIR_DOMAIN_RUNNING
    server = cloud.server(stays)
    assert (server['status'], server['OS-EXT-SRV-ATTR:host']) == ('ACTIVE', dest)
