"""Safe and truthful on a real hypervisor: a compute touches only its own
deployment's guests, and a guest whose domain vanished is reported and
recovered as Nova does it.

One guest, booted once, serves every test here (a TCG boot takes seconds),
on a cloud of its own whose power-state sync is off: the tests make domains
vanish, and libvirt shows a domain being destroyed as shut off for a moment,
which the sync would rightly take for a guest that stopped by itself.
"""
from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.libvirt.conftest import (
    MARKER,
    Cloud,
    create_flavor,
    import_libvirt,
    own_cloud,
    start_cloud,
    state_dir,
    stop_cloud,
    upload_image,
)

libvirt = import_libvirt()

# Periodic tasks of the second deployment run every second, so a few
# seconds of it running cover start-up, the reaper and the power-state sync.
BUSY = """running_deleted_instance_poll_interval = 1
update_resources_interval = 1
"""


def _backup_databases(src: str, dst: str) -> None:
    """A consistent copy of every SQLite database of an all-in-one."""
    for path in glob.glob(os.path.join(src, '*.sqlite')):
        with sqlite3.connect(path) as source, \
                sqlite3.connect(os.path.join(dst, os.path.basename(path))) as copy:
            source.backup(copy)


@pytest.fixture(scope='module')
def cloud(conn: Any, test_image: str) -> Iterator[Cloud]:
    with own_cloud(conn, f'libvirt-safety-{os.getpid()}',
                   '[DEFAULT]\nsync_power_state_interval = 0\n') as c:
        yield c


@pytest.fixture(scope='module')
def guest(cloud: Cloud, test_image: str) -> Iterator[dict[str, Any]]:
    """A running guest, and a backup of the cloud's databases made just
    before it was booted (a backup the guest is not in)."""
    image_id = upload_image(cloud, test_image)
    flavor = create_flavor(cloud)
    backup = state_dir()
    _backup_databases(cloud.state, backup)
    r = cloud.api('POST', '/servers', json={'server': {
        'name': 'lv-safety', 'flavorRef': flavor, 'imageRef': image_id,
        'networks': 'none'}})
    assert r.status_code == 202, r.text
    uuid = r.json()['server']['id']
    cloud.wait(uuid, 'ACTIVE')
    cloud.wait_console(uuid, MARKER)
    yield {'uuid': uuid, 'backup': backup}
    cloud.api('DELETE', f'/servers/{uuid}')
    shutil.rmtree(backup, ignore_errors=True)


def _host(cloud: Cloud) -> str:
    return cloud.api('GET', '/os-hypervisors').json()['hypervisors'][0][
        'hypervisor_hostname']


def _run_beside(cloud: Cloud, conn: Any, uuid: str, state: str) -> str:
    """Start a second all-in-one with the first one's host name on state,
    let its periodic tasks run, restart it, and check the first one's guest
    is still running throughout. Returns the second one's log."""
    host = _host(cloud)
    for _round in ('start', 'restart'):
        other = start_cloud(state, host, BUSY)
        try:
            time.sleep(4)
            assert conn.lookupByUUIDString(uuid).isActive(), \
                f'the other deployment\'s {_round} destroyed a guest it does not own'
        finally:
            stop_cloud(other)
    with open(other.log) as f:
        return f.read()


def test_a_second_deployment_on_the_same_libvirtd_leaves_our_guests_alone(
        cloud: Cloud, conn: Any, guest: dict[str, Any]) -> None:
    uuid = guest['uuid']
    # The guest names its owner: this deployment and its host.
    meta = conn.lookupByUUIDString(uuid).metadata(
        libvirt.VIR_DOMAIN_METADATA_ELEMENT, 'http://minova.openstack.invalid/xmlns/instance/1')
    assert f'>{_host(cloud)}<' in meta and 'deployment>' in meta

    # Another deployment (its own databases and state), same host name.
    other_state = state_dir()
    try:
        log = _run_beside(cloud, conn, uuid, other_state)
        assert uuid not in log   # not even looked at: another deployment's guest
    finally:
        shutil.rmtree(other_state, ignore_errors=True)

    # This deployment restored from a backup taken before the guest was
    # booted: same deployment, same host, but the database has never heard
    # of the guest. It is logged and left alone.
    log = _run_beside(cloud, conn, uuid, guest['backup'])
    assert f'Guest {uuid} on {_host(cloud)} is unknown to this deployment\'s database; ' \
        'left alone' in log

    server = cloud.server(uuid)
    assert (server['status'], server['OS-EXT-STS:power_state']) == ('ACTIVE', 1)
    assert conn.lookupByUUIDString(uuid).isActive()


def _vanish(conn: Any, uuid: str) -> None:
    """The domain disappears at once, never seen shut off: undefined while
    running (transient), then destroyed."""
    dom = conn.lookupByUUIDString(uuid)
    dom.undefine()
    if dom.isActive():
        dom.destroy()


def _action(cloud: Cloud, uuid: str, body: dict[str, Any]) -> None:
    r = cloud.api('POST', f'/servers/{uuid}/action', json=body)
    assert r.status_code == 202, r.text


def _last_action(cloud: Cloud, uuid: str) -> dict[str, Any]:
    acts = cloud.api('GET', f'/servers/{uuid}/os-instance-actions').json()['instanceActions']
    req = max(acts, key=lambda a: a['start_time'])['request_id']
    return cloud.api('GET', f'/servers/{uuid}/os-instance-actions/{req}').json()[
        'instanceAction']


def _wait_out_of_error(cloud: Cloud, uuid: str, timeout: float = 60.0) -> dict[str, Any]:
    """ACTIVE after an action on a server in ERROR (which shows ERROR, not
    the action's status, while the action runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = cloud.server(uuid)
        if server['status'] == 'ACTIVE' and server['OS-EXT-STS:task_state'] is None:
            return server
        assert server['status'] == 'ERROR' and server['OS-EXT-STS:task_state'], server
        time.sleep(0.3)
    raise AssertionError(f'server {uuid} did not recover: {cloud.server(uuid)}')


def test_a_guest_whose_domain_vanished_is_reported_truthfully_and_recovered(
        cloud: Cloud, conn: Any, guest: dict[str, Any]) -> None:
    uuid = guest['uuid']
    boots = cloud.console(uuid).count(MARKER)

    # Stop: the guest is gone, so it is off (SHUTOFF, no power state, as Nova).
    _vanish(conn, uuid)
    _action(cloud, uuid, {'os-stop': None})
    server = cloud.wait(uuid, 'SHUTOFF', timeout=30)
    assert server['OS-EXT-STS:power_state'] == 0
    # Start defines the guest again from the server's record: it boots.
    _action(cloud, uuid, {'os-start': None})
    server = cloud.wait(uuid, 'ACTIVE', timeout=60)
    assert server['OS-EXT-STS:power_state'] == 1
    assert conn.lookupByUUIDString(uuid).isActive()
    cloud.wait_console(uuid, MARKER, count=boots + 1)

    # A soft reboot has no guest to ask: ERROR, with a fault and an Error event.
    _vanish(conn, uuid)
    _action(cloud, uuid, {'reboot': {'type': 'SOFT'}})
    server = cloud.wait(uuid, 'ERROR', timeout=30)
    assert server['fault']['code'] == 404
    assert server['fault']['message'] == f'Instance {uuid} could not be found.'
    action = _last_action(cloud, uuid)
    assert (action['action'], action['message']) == ('reboot', 'Error')
    [event] = action['events']
    assert (event['event'], event['result']) == ('compute_reboot_instance', 'Error')
    assert event['details'] == f'Instance {uuid} could not be found.'

    # A hard reboot recovers it, even with its disk gone: a new disk from the
    # image cache (how an operator recovers a host).
    os.unlink(os.path.join(cloud.state, 'instances', uuid, 'disk'))
    _action(cloud, uuid, {'reboot': {'type': 'HARD'}})
    server = _wait_out_of_error(cloud, uuid)
    assert server['OS-EXT-STS:power_state'] == 1
    assert conn.lookupByUUIDString(uuid).isActive()
    cloud.wait_console(uuid, MARKER, count=boots + 2)
    action = _last_action(cloud, uuid)
    assert (action['action'], action['message']) == ('reboot', None)
