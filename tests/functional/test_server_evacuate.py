"""Evacuate through the REST API with two fake compute hosts (issue 18): the
servers of a dead host rebuilt on the other one, the migration records and
placement's allocations after each step, and the dead host, started again,
destroying its copies of the evacuated servers and nothing else."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from minova.conf import CONF
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client, compute_service

PH = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.28'}
SVC = {'OpenStack-API-Version': 'compute 2.53'}


def _v(version: str) -> dict[str, str]:
    return {'OpenStack-API-Version': f'compute {version}'}


def _boot(admin: Client, name: str, host: str) -> dict[str, Any]:
    r = admin.post('/servers', {'server': {'name': name, 'flavorRef': 'tiny', 'host': host,
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}},
                   headers=_v('2.74'))
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    assert server['OS-EXT-SRV-ATTR:host'] == host
    return server


def _evacuate(admin: Client, sid: str, body: dict[str, Any], version: str
              ) -> requests.Response:
    return admin.post(f'/servers/{sid}/action', {'evacuate': body}, headers=_v(version))


def _allocs(placement_base: str, consumer: str) -> dict[str, dict[str, int]]:
    r = requests.get(f'{placement_base}/allocations/{consumer}', headers=PH, timeout=10)
    assert r.status_code == 200, r.text
    return {rp: a['resources'] for rp, a in r.json()['allocations'].items()}


def _provider(placement_base: str, name: str) -> str:
    r = requests.get(f'{placement_base}/resource_providers?name={name}', headers=PH,
                     timeout=10)
    return str(r.json()['resource_providers'][0]['uuid'])


def _migrations(admin: Client, sid: str) -> list[dict[str, Any]]:
    r = admin.get(f'/os-migrations?instance_uuid={sid}', headers=_v('2.80'))
    assert r.status_code == 200, r.text
    return list(r.json()['migrations'])


def _wait_migration(admin: Client, sid: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = _migrations(admin, sid)
        if len(found) == 1 and found[0]['status'] == status:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f'migrations of {sid}: {found}, not one {status}')


def _service_id(admin: Client, host: str) -> str:
    r = admin.get(f'/os-services?host={host}&binary=nova-compute', headers=SVC)
    assert r.status_code == 200, r.text
    return str(r.json()['services'][0]['id'])


def _force_down(admin: Client, host: str, down: bool) -> None:
    r = admin.put(f'/os-services/{_service_id(admin, host)}', {'forced_down': down},
                  headers=SVC)
    assert r.status_code == 200, r.text
    assert r.json()['service']['forced_down'] is down


def _wait_service_state(admin: Client, host: str, state: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        r = admin.get(f'/os-services?host={host}&binary=nova-compute', headers=SVC)
        if r.json()['services'][0]['state'] == state:
            return
        assert time.monotonic() < deadline, r.text
        time.sleep(0.1)


@pytest.fixture(scope='module')
def victim(admin: Client, tiny_flavor: dict[str, Any], second_compute: str
           ) -> dict[str, Any]:
    """A server on the second host that the refusals below leave as it is."""
    return _boot(admin, 'ev-victim', second_compute)


def test_refused_while_the_source_compute_is_up(admin, victim, second_compute):
    r = _evacuate(admin, victim['id'], {}, '2.94')
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message'] == \
        f'Compute service of {second_compute} is still in use.'
    assert admin.get(f"/servers/{victim['id']}").json()['server']['status'] == 'ACTIVE'
    assert _migrations(admin, victim['id']) == []


@pytest.mark.parametrize('version, body, status, message', [
    ('2.1', {}, 400, None),                                     # onSharedStorage required
    ('2.14', {'onSharedStorage': False}, 400, None),           # gone at 2.14
    ('2.28', {'force': True, 'host': 'aio-host'}, 400, None),  # force is 2.29's
    ('2.68', {'force': True, 'host': 'aio-host'}, 400, None),  # and gone at 2.68
    ('2.29', {'force': True}, 400, "Can't force to a non-provided destination"),
    ('2.29', {'force': 'maybe', 'host': 'aio-host'}, 400, None),
    ('2.1', {'onSharedStorage': True, 'adminPass': 'x'}, 400,
     "admin password can't be changed on existing disk"),
    ('2.94', {'host': 'no-such-host'}, 404, 'Compute host no-such-host not found.'),
    ('2.94', {'host': 'bad host!'}, 400, None),
    ('2.94', {'host': 'aio-host-2'}, 400, "The target host can't be the same one."),
    ('2.94', {'unknown': 1}, 400, None),
])
def test_bad_input(admin, victim, version, body, status, message):
    r = _evacuate(admin, victim['id'], body, version)
    assert r.status_code == status, r.text
    fault = r.json()['badRequest' if status == 400 else 'itemNotFound']
    assert fault['code'] == status
    if message:
        assert fault['message'] == message
    assert _migrations(admin, victim['id']) == []


def test_policy_is_admin_only(api_base, victim):
    user = Client(api_base, token=f"ev-user:{victim['tenant_id']}", microversion='2.94')
    r = user.post(f"/servers/{victim['id']}/action", {'evacuate': {}})
    assert r.status_code == 403, r.text
    assert r.json()['forbidden']['message'] == \
        'Policy doesn\'t allow os_compute_api:os-evacuate to be performed.'


def test_refused_in_a_state_it_cannot_move(admin, victim):
    sid = victim['id']
    assert admin.post(f'/servers/{sid}/action', {'pause': None}).status_code == 202
    admin.wait_for_status(sid, {'PAUSED'})
    r = _evacuate(admin, sid, {}, '2.94')
    assert r.status_code == 409, r.text
    assert 'vm_state paused' in r.json()['conflictingRequest']['message']
    assert admin.post(f'/servers/{sid}/action', {'unpause': None}).status_code == 202
    admin.wait_for_status(sid, {'ACTIVE'})


def test_evacuate_then_the_old_host_cleans_up(aio, admin, placement_base, victim,
                                              second_compute):
    src, dst = second_compute, aio.host
    by_scheduler = _boot(admin, 'ev-sched', src)
    forced = _boot(admin, 'ev-forced', src)
    to_stop = _boot(admin, 'ev-stopped', src)
    service = compute_service(aio, src)

    # The host dies: its compute stops heartbeating, the operator forces it down.
    aio.remove_compute(service)
    _force_down(admin, src, True)
    try:
        _evacuate_and_clean_up(aio, admin, placement_base, victim, src, dst, service,
                               (by_scheduler, forced, to_stop))
    finally:   # whatever happened, the next tests find both hosts up and these gone
        if not any(s.host == src and s.binary == 'minova-compute' for s in aio.services):
            aio.add_compute(src, manager=service.manager)
        _force_down(admin, src, False)
        for server in (by_scheduler, forced, to_stop):
            admin.delete(f"/servers/{server['id']}")
    for server in (by_scheduler, forced, to_stop):
        admin.wait_gone(server['id'])
        assert _allocs(placement_base, server['id']) == {}


def _events_done(admin: Client, sid: str, request_id: str) -> dict[str, Any]:
    """{event: result} of an action, once each event has finished (the
    compute records its event's end just after the server's last update)."""
    deadline = time.monotonic() + 15
    while True:
        detail = admin.get(f'/servers/{sid}/os-instance-actions/{request_id}',
                           headers=_v('2.51')).json()['instanceAction']
        results = {e['event']: e['result'] for e in detail['events']}
        if all(results.values()) or time.monotonic() > deadline:
            return results
        time.sleep(0.1)


def _evacuate_and_clean_up(aio: Any, admin: Client, placement_base: str,
                           victim: dict[str, Any], src: str, dst: str, service: Any,
                           servers: tuple[dict[str, Any], ...]) -> None:
    by_scheduler, forced, to_stop = servers
    driver = service.manager.driver
    src_rp, dst_rp = _provider(placement_base, src), _provider(placement_base, dst)

    # Before 2.14: onSharedStorage, and the new password in the answer.
    r = _evacuate(admin, by_scheduler['id'], {'onSharedStorage': False}, '2.1')
    assert r.status_code == 200, r.text
    assert set(r.json()) == {'adminPass'} and r.json()['adminPass']
    # 2.29 force: the named host without the scheduler.
    r = _evacuate(admin, forced['id'], {'host': dst, 'force': True}, '2.29')
    assert r.status_code == 200, r.text
    assert r.content == b''
    # 2.95: the evacuated server ends stopped.
    r = _evacuate(admin, to_stop['id'], {'host': dst}, '2.95')
    assert r.status_code == 200, r.text

    for server, status, power in ((by_scheduler, 'ACTIVE', 1), (forced, 'ACTIVE', 1),
                                  (to_stop, 'SHUTOFF', 4)):
        sid = server['id']
        after = admin.wait_for_status(sid, {status, 'ERROR'})
        assert after['status'] == status, after.get('fault')
        assert after['OS-EXT-SRV-ATTR:host'] == dst
        assert after['OS-EXT-STS:power_state'] == power
        assert after['OS-EXT-STS:task_state'] is None
        migration = _wait_migration(admin, sid, 'done')
        assert migration['migration_type'] == 'evacuation'
        assert (migration['source_compute'], migration['dest_compute']) == (src, dst)
        # The server holds both allocations until the old host cleans up.
        assert _allocs(placement_base, sid) == {
            src_rp: {'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1},
            dst_rp: {'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}}
        actions = admin.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
        assert actions[0]['action'] == 'evacuate'
        assert _events_done(admin, sid, actions[0]['request_id']) == {
            'rebuild_server': 'Success', 'compute_rebuild_instance': 'Success'}
    # The dead host's hypervisor still has every guest: nothing ran there.
    assert {by_scheduler['id'], forced['id'], to_stop['id'], victim['id']} <= set(
        driver.list_instance_uuids())

    # The host comes back: the guests of the evacuated servers go, and only those.
    aio.add_compute(src, manager=service.manager)
    for server in (by_scheduler, forced, to_stop):
        sid = server['id']
        _wait_migration(admin, sid, 'completed')
        assert sid not in driver.list_instance_uuids()
        assert _allocs(placement_base, sid) == {
            dst_rp: {'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}}
    assert victim['id'] in driver.list_instance_uuids()
    assert _allocs(placement_base, victim['id']) == {
        src_rp: {'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}}
    _force_down(admin, src, False)
    after = admin.get(f"/servers/{victim['id']}").json()['server']
    assert (after['status'], after['OS-EXT-SRV-ATTR:host']) == ('ACTIVE', src)
    assert _migrations(admin, victim['id']) == []


def test_no_valid_host_leaves_the_server_in_error(aio, admin, placement_base, victim,
                                                  second_compute):
    """With the only other host disabled the scheduler finds nothing: the
    migration 'error', the server ERROR with a fault, its allocation only
    the source's, as Nova."""
    src, dst = second_compute, aio.host
    sid = victim['id']
    service = compute_service(aio, src)
    aio.remove_compute(service)
    _force_down(admin, src, True)
    dst_id = _service_id(admin, dst)
    assert admin.put(f'/os-services/{dst_id}', {'status': 'disabled'},
                     headers=SVC).status_code == 200
    try:
        r = _evacuate(admin, sid, {}, '2.94')
        assert r.status_code == 200, r.text
        after = admin.wait_for_status(sid, {'ERROR'})
        assert after['OS-EXT-SRV-ATTR:host'] == src
        assert 'No valid host' in after['fault']['message']
        assert _wait_migration(admin, sid, 'error')['migration_type'] == 'evacuation'
        assert list(_allocs(placement_base, sid)) == [_provider(placement_base, src)]
    finally:
        admin.put(f'/os-services/{dst_id}', {'status': 'enabled'}, headers=SVC)
        aio.add_compute(src, manager=service.manager)
        _force_down(admin, src, False)
    # An 'error' record is no evacuation to clean up: the guest stays.
    assert sid in service.manager.driver.list_instance_uuids()
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)


@pytest.fixture
def short_down_time() -> Iterator[None]:
    """A compute silent for 5 s is down (Nova's service_down_time; the live
    ones heartbeat every second)."""
    CONF.set_override('service_down_time', 5)
    yield
    CONF.clear_override('service_down_time')


def test_failed_rebuild_then_evacuate_again_from_error(aio, admin, placement_base,
                                                       second_compute, short_down_time):
    """The destination's rebuild fails: migration 'failed', the server ERROR
    with a fault on its old host, only its source allocation left. Evacuated
    again from ERROR it ends ACTIVE, even at 2.95, as in Nova."""
    src, dst = second_compute, aio.host
    src_rp, dst_rp = _provider(placement_base, src), _provider(placement_base, dst)
    server = _boot(admin, 'ev-fails', src)
    sid = server['id']
    service = compute_service(aio, src)
    # Not forced down this time: its compute stops and its heartbeats go stale.
    aio.remove_compute(service)
    _wait_service_state(admin, src, 'down')
    CONF.set_override('fail_spawn_names', ['ev-fails'], group='fake_driver')
    try:
        assert _evacuate(admin, sid, {}, '2.95').status_code == 200
        after = admin.wait_for_status(sid, {'ERROR'})
        assert after['OS-EXT-SRV-ATTR:host'] == src
        assert 'Fake rebuild failure' in after['fault']['message']
        assert _wait_migration(admin, sid, 'failed')['dest_compute'] == dst
        assert _allocs(placement_base, sid) == {
            src_rp: {'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}}
        assert sid not in compute_service(aio, dst).manager.driver.list_instance_uuids()
    finally:
        CONF.clear_override('fail_spawn_names', group='fake_driver')
    r = _evacuate(admin, sid, {}, '2.95')
    assert r.status_code == 200, r.text
    after = admin.wait_for_status(sid, {'ACTIVE'})
    assert after['OS-EXT-SRV-ATTR:host'] == dst
    assert [m['status'] for m in _migrations(admin, sid)] == ['done', 'failed']
    assert set(_allocs(placement_base, sid)) == {src_rp, dst_rp}
    # Back on its feet, the old host cleans up after the evacuation that worked.
    aio.add_compute(src, manager=service.manager)
    _wait_service_state(admin, src, 'up')
    deadline = time.monotonic() + 30
    while [m['status'] for m in _migrations(admin, sid)] != ['completed', 'failed']:
        assert time.monotonic() < deadline, _migrations(admin, sid)
        time.sleep(0.05)
    assert sid not in service.manager.driver.list_instance_uuids()
    assert set(_allocs(placement_base, sid)) == {dst_rp}
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
