"""Resize faults on the all-in-one (issue 18): a destination that fails to
spawn, a driver that refuses before it touches the guest, and a compute
that restarts in the middle of a resize. Each ends with the server's state,
its migration's status and placement's allocations as Nova leaves them."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from minova import exception
from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from minova.context import get_admin_context
from tests.functional.conftest import Client
from tests.functional.test_server_resize import PH, _allocs, _boot, _migrations

OLD = {'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}
NEW = {'VCPU': 2, 'MEMORY_MB': 96, 'DISK_GB': 1}


@pytest.fixture(autouse=True)
def same_host() -> Iterator[None]:
    CONF.set_override('allow_resize_to_same_host', True)
    yield
    CONF.clear_override('allow_resize_to_same_host')


@pytest.fixture(scope='module')
def flavor(admin: Client, tiny_flavor: dict[str, Any]) -> str:
    if admin.get('/flavors/rf-big').status_code != 200:
        r = admin.post('/flavors', {'flavor': {'name': 'rf-big', 'id': 'rf-big', 'vcpus': 2,
                                               'ram': 96, 'disk': 1}})
        assert r.status_code == 200, r.text
    return 'rf-big'


@pytest.fixture
def compute(aio: AllInOne) -> Any:
    return next(s.manager for s in aio.services
                if s.binary == 'minova-compute' and s.manager.host == aio.host)


def _one_allocation(placement_base: str, consumer: str) -> dict[str, int]:
    allocs = _allocs(placement_base, consumer)
    assert len(allocs) <= 1, allocs
    return next(iter(allocs.values())) if allocs else {}


def _settled(admin: Client, sid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        server = admin.get(f'/servers/{sid}').json()['server']
        if server['status'] != 'RESIZE' and server['OS-EXT-STS:task_state'] is None:
            return server
        assert time.monotonic() < deadline, server
        time.sleep(0.05)


def _events(admin: Client, sid: str) -> list[tuple[str, str]]:
    actions = admin.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
    resize = [a for a in actions if a['action'] == 'resize'][0]
    detail = admin.get(f"/servers/{sid}/os-instance-actions/{resize['request_id']}",
                       headers={'OpenStack-API-Version': 'compute 2.51'}).json()
    return [(e['event'], e['result']) for e in detail['instanceAction']['events']]


def _delete(admin: Client, placement_base: str, sid: str, migration: str) -> None:
    admin.delete(f'/servers/{sid}')
    admin.wait_gone(sid)
    assert _allocs(placement_base, sid) == {} and _allocs(placement_base, migration) == {}


def test_destination_failing_to_spawn(admin, placement_base, flavor):
    sid = _boot(admin, 'rf-dest-fails')['id']
    CONF.set_override('fail_finish_migration_names', ['rf-dest-fails'], group='fake_driver')
    try:
        r = admin.post(f'/servers/{sid}/action', {'resize': {'flavorRef': flavor}})
        assert r.status_code == 202, r.text
        server = _settled(admin, sid)
    finally:
        CONF.clear_override('fail_finish_migration_names', group='fake_driver')
    assert server['status'] == 'ERROR'
    assert server['fault']['message'] == \
        f"Fake finish_migration failure on {server['OS-EXT-SRV-ATTR:host']}"
    (migration,) = _migrations(admin, sid)
    assert migration['status'] == 'error'
    # As Nova: the server keeps the destination's allocation (the new
    # flavor's), the migration's on the source is dropped.
    assert _one_allocation(placement_base, sid) == NEW
    assert _one_allocation(placement_base, migration['uuid']) == {}
    assert ('compute_finish_resize', 'Error') in _events(admin, sid)
    _delete(admin, placement_base, sid, migration['uuid'])


def test_driver_refusal_leaves_the_server_as_it_was(admin, placement_base, flavor, compute,
                                                    monkeypatch):
    sid = _boot(admin, 'rf-refused')['id']

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise exception.InstanceFaultRollback(exception.ResizeError(
            reason='moving a libvirt guest to another host (x) is not supported here'))
    monkeypatch.setattr(compute.driver, 'migrate_disk_and_power_off', refuse)
    r = admin.post(f'/servers/{sid}/action', {'resize': {'flavorRef': flavor}})
    assert r.status_code == 202, r.text
    server = _settled(admin, sid)
    assert (server['status'], server['flavor']['original_name']) == ('ACTIVE', 'tiny')
    (migration,) = _migrations(admin, sid)
    assert migration['status'] == 'error'
    assert _one_allocation(placement_base, sid) == OLD
    assert _one_allocation(placement_base, migration['uuid']) == {}
    assert ('compute_resize_instance', 'Error') in _events(admin, sid)
    _delete(admin, placement_base, sid, migration['uuid'])


def test_restart_mid_resize_rolls_it_back(admin, placement_base, flavor, compute,
                                          monkeypatch):
    """The source stops in resize_migrating (its thread never comes back, as
    after a kill); the start-up recovery a restart runs rolls the resize back."""
    sid = _boot(admin, 'rf-restart')['id']
    entered, release = threading.Event(), threading.Event()
    original = compute.driver.migrate_disk_and_power_off

    def hang(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        entered.set()
        release.wait(30)
        raise exception.InstanceNotFound(instance_id=sid)   # the step gives up quietly
    monkeypatch.setattr(compute.driver, 'migrate_disk_and_power_off', hang)
    r = admin.post(f'/servers/{sid}/action', {'resize': {'flavorRef': flavor}})
    assert r.status_code == 202, r.text
    try:
        assert entered.wait(30)
        server = admin.get(f'/servers/{sid}').json()['server']
        assert server['OS-EXT-STS:task_state'] == 'resize_migrating'
        (migration,) = _migrations(admin, sid)
        assert migration['status'] == 'migrating'
        assert _one_allocation(placement_base, migration['uuid']) == OLD
        assert _one_allocation(placement_base, sid) == NEW

        compute._recover_resizes(get_admin_context())
    finally:
        release.set()
    server = _settled(admin, sid)
    assert (server['status'], server['flavor']['original_name']) == ('ACTIVE', 'tiny')
    assert server['OS-EXT-STS:power_state'] == 1
    (migration,) = _migrations(admin, sid)
    assert migration['status'] == 'error'
    assert _one_allocation(placement_base, sid) == OLD
    assert _one_allocation(placement_base, migration['uuid']) == {}
    # The guest is back with the old flavor, and the server can be resized again.
    guest = compute.driver._guests[sid]
    assert (guest['vcpus'], guest['state']) == (1, 1)
    monkeypatch.undo()
    r = admin.post(f'/servers/{sid}/action', {'resize': {'flavorRef': flavor}})
    assert r.status_code == 202, r.text
    assert _settled(admin, sid)['status'] == 'VERIFY_RESIZE'
    newest = _migrations(admin, sid)[0]
    _delete(admin, placement_base, sid, newest['uuid'])


def test_destination_restarted_mid_finish_errors_the_server(admin, placement_base, aio,
                                                            second_compute, monkeypatch):
    """A cold migration to another host whose finish never returns (the
    destination killed): its start-up recovery ends it as a failed finish."""
    sid = _boot(admin, 'rf-dest-restart')['id']
    dest = next(s.manager for s in aio.services
                if s.binary == 'minova-compute' and s.manager.host == second_compute)
    entered, release = threading.Event(), threading.Event()

    def hang(*args: Any, **kwargs: Any) -> None:
        entered.set()
        release.wait(30)
        raise exception.InstanceNotFound(instance_id=sid)   # the step gives up quietly
    monkeypatch.setattr(dest.driver, 'finish_migration', hang)
    r = admin.post(f'/servers/{sid}/action', {'migrate': {'host': second_compute}},
                   headers={'OpenStack-API-Version': 'compute 2.56'})
    assert r.status_code == 202, r.text
    try:
        assert entered.wait(30)
        assert admin.get(f'/servers/{sid}').json()['server'][
            'OS-EXT-STS:task_state'] == 'resize_finish'
        dest._recover_resizes(get_admin_context())
    finally:
        release.set()
    server = _settled(admin, sid)
    assert server['status'] == 'ERROR'
    assert server['OS-EXT-SRV-ATTR:host'] == second_compute
    assert server['fault']['message'] == ('Resize of the instance was interrupted by a '
                                          f'restart of its destination host {second_compute}.')
    (migration,) = _migrations(admin, sid)
    assert migration['status'] == 'error'
    rps = {rp['name']: rp['uuid'] for rp in requests.get(
        f'{placement_base}/resource_providers', headers=PH, timeout=10
    ).json()['resource_providers']}
    assert _allocs(placement_base, sid) == {rps[second_compute]: OLD}
    assert _allocs(placement_base, migration['uuid']) == {}
    _delete(admin, placement_base, sid, migration['uuid'])
