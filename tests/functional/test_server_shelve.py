"""shelve, shelveOffload and unshelve through the REST API on the all-in-one's
fake driver (issue 18): every transition with placement's allocations and the
project's quota usage checked after each step, the shelve image's life, 2.77
zones and 2.91 hosts (a second compute), bad input and policy."""
from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from minova.image.builtin import TINY_IMAGE_ID
from minova.virt import fake
from tests.functional.conftest import Client

PH = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.28'}
PROJECT = 'project-sh'
V = {'2.76': {'OpenStack-API-Version': 'compute 2.76'},
     '2.77': {'OpenStack-API-Version': 'compute 2.77'},
     '2.90': {'OpenStack-API-Version': 'compute 2.90'},
     '2.91': {'OpenStack-API-Version': 'compute 2.91'}}


@pytest.fixture(scope='module')
def member(api_base: str, tiny_flavor: dict[str, Any]) -> Client:
    return Client(api_base, token=f'shuser:{PROJECT}')


@pytest.fixture
def offload_time() -> Iterator[Any]:
    def set_time(seconds: int) -> None:
        CONF.set_override('shelved_offload_time', seconds)
    yield set_time
    CONF.clear_override('shelved_offload_time')


def _allocs(placement_base: str, consumer: str) -> list[dict[str, int]]:
    r = requests.get(f'{placement_base}/allocations/{consumer}', headers=PH, timeout=10)
    assert r.status_code == 200, r.text
    return [a['resources'] for a in r.json()['allocations'].values()]


def _images(aio: AllInOne, name: str) -> list[dict[str, Any]]:
    return requests.get(f'http://127.0.0.1:{aio.image_port}/v2/images',
                        params={'name': name}, headers={'X-Auth-Token': 'admin:admin'},
                        timeout=10).json()['images']


def _usage(member: Client) -> tuple[int, int, int]:
    absolute = member.get('/limits').json()['limits']['absolute']
    return (absolute['totalInstancesUsed'], absolute['totalCoresUsed'],
            absolute['totalRAMUsed'])


def _boot(client: Client, name: str) -> str:
    r = client.post('/servers', {'server': {'name': name, 'flavorRef': 'tiny',
                                            'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    sid: str = r.json()['server']['id']
    server = client.wait_for_status(sid, {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    return sid


def _act(client: Client, sid: str, body: Any, **kw: Any) -> requests.Response:
    return client.post(f'/servers/{sid}/action', body, **kw)


def _show(admin: Client, sid: str) -> dict[str, Any]:
    server: dict[str, Any] = admin.get(f'/servers/{sid}').json()['server']
    return server


def _wait_idle(admin: Client, sid: str, status: str) -> dict[str, Any]:
    """The server in status with no task running (a status alone can show
    before the task state that follows it is cleared)."""
    deadline = time.monotonic() + 30
    server: dict[str, Any] = {}
    while time.monotonic() < deadline:
        server = _show(admin, sid)
        if server['status'] == status and server['OS-EXT-STS:task_state'] is None:
            return server
        time.sleep(0.05)
    raise AssertionError(f"{sid} is {server.get('status')}/"
                         f"{server.get('OS-EXT-STS:task_state')}, not {status}")


def _events(admin: Client, sid: str, action: str) -> dict[str, str]:
    actions = admin.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
    found = [a for a in actions if a['action'] == action]
    assert found, actions
    detail = admin.get(f"/servers/{sid}/os-instance-actions/{found[0]['request_id']}",
                       headers={'OpenStack-API-Version': 'compute 2.51'}).json()
    return {e['event']: e['result'] for e in detail['instanceAction']['events']}


def _delete(admin: Client, sid: str) -> None:
    admin.delete(f'/servers/{sid}')
    admin.wait_gone(sid)


def _offloaded(admin: Client, placement_base: str, sid: str) -> dict[str, Any]:
    server = _wait_idle(admin, sid, 'SHELVED_OFFLOADED')
    assert server['OS-EXT-STS:vm_state'] == 'shelved_offloaded'
    assert server['OS-EXT-STS:power_state'] == 4
    assert server['OS-EXT-SRV-ATTR:host'] is None
    assert server['OS-EXT-SRV-ATTR:hypervisor_hostname'] is None
    assert _allocs(placement_base, sid) == []
    return server


def test_shelve_offloads_at_once_and_unshelve_spawns_from_the_image(
        admin, member, aio, placement_base):
    sid = _boot(member, 'sh-one')
    usage = _usage(member)
    assert _allocs(placement_base, sid) == [{'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}]
    r = _act(member, sid, {'shelve': None})
    assert r.status_code == 202, r.text
    assert r.content == b''
    _offloaded(admin, placement_base, sid)
    # Nova's default quota counting: an offloaded server still counts.
    assert _usage(member) == usage
    images = _images(aio, 'sh-one-shelved')
    assert len(images) == 1 and images[0]['status'] == 'active'
    image = images[0]
    assert image['image_type'] == 'snapshot' and image['instance_uuid'] == sid
    assert image['owner'] == PROJECT and image['visibility'] == 'private'
    # Its owner finds it by name through the compute API's image proxy, as Tempest does.
    listed = member.get('/images?name=sh-one-shelved',
                        headers={'OpenStack-API-Version': 'compute 2.35'}).json()['images']
    assert [i['id'] for i in listed] == [image['id']]
    assert _events(admin, sid, 'shelve') == {'compute_shelve_instance': 'Success'}
    assert not fake_guest(aio, sid)

    r = _act(member, sid, {'unshelve': None})
    assert r.status_code == 202, r.text
    server = _wait_idle(admin, sid, 'ACTIVE')
    assert server['OS-EXT-STS:power_state'] == 1
    assert server['OS-EXT-SRV-ATTR:host'] == 'aio-host'
    assert server['image']['id'] == TINY_IMAGE_ID   # its own image again
    assert _allocs(placement_base, sid) == [{'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}]
    assert _usage(member) == usage
    assert _images(aio, 'sh-one-shelved') == []
    assert _events(admin, sid, 'unshelve') == {
        'get_image_info': 'Success', 'schedule_instances': 'Success',
        'compute_unshelve_instance': 'Success'}
    assert fake_guest(aio, sid)['state'] == 1
    actions = member.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
    assert [a['action'] for a in actions] == ['unshelve', 'shelve', 'create']
    _delete(admin, sid)


def fake_guest(aio: AllInOne, sid: str) -> dict[str, Any]:
    """The fake hypervisor's guest of a server on any host ({}: none)."""
    for svc in aio.services:
        driver = getattr(svc.manager, 'driver', None)
        if isinstance(driver, fake.FakeDriver) and sid in driver.list_instance_uuids():
            guest: dict[str, Any] = driver._guests[sid]
            return guest
    return {}


def compute_manager(aio: AllInOne, host: str) -> Any:
    return next(s.manager for s in aio.services
                if s.binary == 'minova-compute' and s.host == host)


def test_shelved_kept_then_offload_and_unshelve_in_place(
        admin, member, aio, placement_base, offload_time):
    offload_time(-1)
    sid = _boot(member, 'sh-keep')
    usage = _usage(member)
    assert _act(member, sid, {'shelve': {}}).status_code == 202
    server = _wait_idle(admin, sid, 'SHELVED')
    assert server['OS-EXT-STS:power_state'] == 4
    assert server['OS-EXT-SRV-ATTR:host'] == 'aio-host'
    # Still on its host: its guest (off) and its allocation stay.
    assert fake_guest(aio, sid)['state'] == 4
    assert _allocs(placement_base, sid) == [{'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}]
    assert len(_images(aio, 'sh-keep-shelved')) == 1

    # shelveOffload is an admin's.
    r = _act(member, sid, {'shelveOffload': None})
    assert r.status_code == 403, r.text
    assert _act(admin, sid, {'shelveOffload': None}).status_code == 202
    _offloaded(admin, placement_base, sid)
    assert _events(admin, sid, 'shelveOffload') == {
        'compute_shelve_offload_instance': 'Success'}
    assert not fake_guest(aio, sid)
    assert _usage(member) == usage
    r = _act(admin, sid, {'shelveOffload': None})
    assert r.status_code == 409, r.text
    assert _act(member, sid, {'unshelve': None}).status_code == 202
    _wait_idle(admin, sid, 'ACTIVE')

    # Unshelved from SHELVED: powered on where it is, the image deleted.
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _wait_idle(admin, sid, 'SHELVED')
    assert len(_images(aio, 'sh-keep-shelved')) == 1
    assert _act(member, sid, {'unshelve': None}).status_code == 202
    server = _wait_idle(admin, sid, 'ACTIVE')
    assert server['OS-EXT-STS:power_state'] == 1
    assert fake_guest(aio, sid)['state'] == 1
    assert _events(admin, sid, 'unshelve') == {'compute_start_instance': 'Success'}
    assert _images(aio, 'sh-keep-shelved') == []
    assert _allocs(placement_base, sid) == [{'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}]
    _delete(admin, sid)


def test_periodic_task_offloads_after_shelved_offload_time(
        admin, member, aio, placement_base, offload_time):
    offload_time(1)
    sid = _boot(member, 'sh-later')
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _wait_idle(admin, sid, 'SHELVED')
    manager = compute_manager(aio, 'aio-host')
    manager._poll_shelved_instances()     # too soon: it stays
    assert _show(admin, sid)['status'] == 'SHELVED'
    assert _allocs(placement_base, sid)
    time.sleep(1.1)
    manager._poll_shelved_instances()
    _offloaded(admin, placement_base, sid)
    # A shelved-offloaded server is deleted with its shelve image.
    assert len(_images(aio, 'sh-later-shelved')) == 1
    _delete(admin, sid)
    assert _images(aio, 'sh-later-shelved') == []


@pytest.mark.parametrize('action, status', [('os-stop', 'SHUTOFF'), ('pause', 'PAUSED'),
                                            ('suspend', 'SUSPENDED')])
def test_shelve_from_shutoff_paused_suspended(admin, member, aio, placement_base,
                                              action, status):
    sid = _boot(member, f'sh-from-{status.lower()}')
    assert _act(member, sid, {action: None}).status_code == 202
    _wait_idle(admin, sid, status)
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _offloaded(admin, placement_base, sid)
    assert _act(member, sid, {'unshelve': None}).status_code == 202
    _wait_idle(admin, sid, 'ACTIVE')
    _delete(admin, sid)


def test_states_locks_and_policy(admin, member, api_base, placement_base):
    sid = _boot(member, 'sh-states')
    for body in ({'unshelve': None}, {'shelveOffload': None}):
        r = _act(admin, sid, body)
        assert r.status_code == 409, r.text
        name = list(body)[0]
        assert r.json()['conflictingRequest']['message'] == \
            f"Cannot '{name}' instance {sid} while it is in vm_state active"
    other = Client(api_base, token='eve:project-other')
    assert _act(other, sid, {'shelve': None}).status_code == 404
    assert _act(admin, sid, {'lock': None}).status_code == 202
    r = _act(member, sid, {'shelve': None})
    assert r.status_code == 409, r.text
    assert 'locked' in r.json()['conflictingRequest']['message']
    assert _act(admin, sid, {'unlock': None}).status_code == 202
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _offloaded(admin, placement_base, sid)
    r = _act(member, sid, {'shelve': None})
    assert r.status_code == 409, r.text
    assert r.json()['conflictingRequest']['message'] == \
        f"Cannot 'shelve' instance {sid} while it is in vm_state shelved_offloaded"
    _delete(admin, sid)


def test_image_upload_failure_puts_the_server_back(admin, member, aio, placement_base,
                                                   monkeypatch):
    sid = _boot(member, 'sh-upload-fails')

    def snapshot(self: Any, context: Any, instance: Any, image_id: str,
                 update_task_state: Any) -> None:
        update_task_state(fake.states.IMAGE_PENDING_UPLOAD)
        raise RuntimeError('upload refused')
    monkeypatch.setattr(fake.FakeDriver, 'snapshot', snapshot)
    assert _act(member, sid, {'shelve': None}).status_code == 202
    deadline = time.monotonic() + 30
    while _events(admin, sid, 'shelve').get('compute_shelve_instance') != 'Error':
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server = _wait_idle(admin, sid, 'ACTIVE')
    assert server['OS-EXT-STS:power_state'] == 1
    assert fake_guest(aio, sid)['state'] == 1
    assert _images(aio, 'sh-upload-fails-shelved') == []
    assert _allocs(placement_base, sid) == [{'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}]
    detail = admin.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
    assert detail[0]['action'] == 'shelve'
    _delete(admin, sid)


def test_unshelve_with_no_valid_host_stays_offloaded(admin, member, placement_base):
    sid = _boot(member, 'sh-nohost')
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _offloaded(admin, placement_base, sid)
    h = {'OpenStack-API-Version': 'compute 2.53'}
    computes = [s for s in admin.get('/os-services?binary=nova-compute', headers=h
                                     ).json()['services'] if s['status'] == 'enabled']
    for svc in computes:
        admin.put(f"/os-services/{svc['id']}", {'status': 'disabled'}, headers=h)
    try:
        assert _act(member, sid, {'unshelve': None}).status_code == 202
        deadline = time.monotonic() + 30
        while _events(admin, sid, 'unshelve').get('schedule_instances') != 'Error':
            assert time.monotonic() < deadline
            time.sleep(0.05)
        _offloaded(admin, placement_base, sid)
    finally:
        for svc in computes:
            admin.put(f"/os-services/{svc['id']}", {'status': 'enabled'}, headers=h)
    assert _act(member, sid, {'unshelve': None}).status_code == 202
    _wait_idle(admin, sid, 'ACTIVE')
    _delete(admin, sid)


def test_unshelve_spawn_failure_stays_offloaded(admin, member, placement_base):
    sid = _boot(member, 'sh-spawn-fails')
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _offloaded(admin, placement_base, sid)
    CONF.set_override('fail_spawn_names', ['sh-spawn-fails'], group='fake_driver')
    try:
        assert _act(member, sid, {'unshelve': None}).status_code == 202
        deadline = time.monotonic() + 30
        while _events(admin, sid, 'unshelve').get('compute_unshelve_instance') != 'Error':
            assert time.monotonic() < deadline
            time.sleep(0.05)
        _offloaded(admin, placement_base, sid)
    finally:
        CONF.clear_override('fail_spawn_names', group='fake_driver')
    _delete(admin, sid)


def test_bad_unshelve_bodies(admin, member, placement_base):
    sid = _boot(member, 'sh-bad')
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _offloaded(admin, placement_base, sid)
    for version, body in (('2.77', {'unshelve': {}}),
                          ('2.77', {'unshelve': {'availability_zone': None}}),
                          ('2.77', {'unshelve': {'host': 'aio-host'}}),
                          ('2.91', {'unshelve': {'foo': 'x'}}),
                          ('2.91', {'unshelve': {'host': 1}}),
                          ('2.91', {'unshelve': {'availability_zone': 3}}),
                          ('2.91', {'unshelve': 'now'})):
        r = _act(admin, sid, body, headers=V[version])
        assert r.status_code == 400, (version, body, r.text)
        assert r.json()['badRequest']['code'] == 400
    r = _act(admin, sid, {'unshelve': {'availability_zone': 'no-such-zone'}},
             headers=V['2.77'])
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message'] == \
        'The requested availability zone is not available'
    r = _act(admin, sid, {'unshelve': {'host': 'no-such-host'}}, headers=V['2.91'])
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message'] == \
        'Compute host no-such-host could not be found.'
    # Before 2.91 a host is not a field; before 2.77 nor is a zone (both ignored).
    r = _act(member, sid, {'unshelve': {'availability_zone': 'no-such-zone'}},
             headers=V['2.76'])
    assert r.status_code == 202, r.text
    _wait_idle(admin, sid, 'ACTIVE')
    _delete(admin, sid)


def test_unshelve_to_host_and_zone(admin, member, placement_base, second_compute,
                                   offload_time):
    host2 = second_compute
    sid = _boot(member, 'sh-move')
    h1 = _show(admin, sid)['OS-EXT-SRV-ATTR:host']
    other = 'aio-host' if h1 == host2 else host2
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _offloaded(admin, placement_base, sid)

    # A zone or host only for an offloaded server; a host only for an admin.
    r = _act(member, sid, {'unshelve': {'host': other}}, headers=V['2.91'])
    assert r.status_code == 403, r.text
    r = _act(admin, sid, {'unshelve': {'host': other}}, headers=V['2.91'])
    assert r.status_code == 202, r.text
    server = _wait_idle(admin, sid, 'ACTIVE')
    assert server['OS-EXT-SRV-ATTR:host'] == other
    rps = requests.get(f'{placement_base}/resource_providers?name={other}', headers=PH,
                       timeout=10).json()['resource_providers']
    r2 = requests.get(f'{placement_base}/allocations/{sid}', headers=PH, timeout=10).json()
    assert list(r2['allocations']) == [rps[0]['uuid']]

    assert _act(member, sid, {'shelve': None}).status_code == 202
    _offloaded(admin, placement_base, sid)
    # A zone of the second host's aggregate.
    agg = admin.post('/os-aggregates', {'aggregate': {'name': 'sh-agg',
                                                      'availability_zone': 'sh-zone'}}
                     ).json()['aggregate']
    action = f"/os-aggregates/{agg['id']}/action"
    try:
        assert admin.post(action, {'add_host': {'host': host2}}).status_code == 200
        r = _act(member, sid, {'unshelve': {'availability_zone': 'sh-zone'}},
                 headers=V['2.77'])
        assert r.status_code == 202, r.text
        server = _wait_idle(admin, sid, 'ACTIVE')
        assert server['OS-EXT-SRV-ATTR:host'] == host2
        assert server['OS-EXT-AZ:availability_zone'] == 'sh-zone'

        # Its zone given only to a SHELVED_OFFLOADED server.
        r = _act(member, sid, {'unshelve': {'availability_zone': 'sh-zone'}},
                 headers=V['2.77'])
        assert r.status_code == 409, r.text
        assert _act(member, sid, {'shelve': None}).status_code == 202
        _offloaded(admin, placement_base, sid)
        # Pinned to sh-zone now: a host outside it is refused...
        r = _act(admin, sid, {'unshelve': {'host': 'aio-host'}}, headers=V['2.91'])
        assert r.status_code == 409, r.text
        assert r.json()['conflictingRequest']['message'] == \
            'Host "aio-host" is not in the availability zone "sh-zone".'
        # ...unless the zone is unpinned in the same request (2.91).
        r = _act(admin, sid, {'unshelve': {'availability_zone': None, 'host': 'aio-host'}},
                 headers=V['2.91'])
        assert r.status_code == 202, r.text
        server = _wait_idle(admin, sid, 'ACTIVE')
        assert server['OS-EXT-SRV-ATTR:host'] == 'aio-host'
        assert server['OS-EXT-AZ:availability_zone'] == 'nova'
        offload_time(-1)
        assert _act(member, sid, {'shelve': None}).status_code == 202
        _wait_idle(admin, sid, 'SHELVED')
        r = _act(admin, sid, {'unshelve': {'host': 'aio-host'}}, headers=V['2.91'])
        assert r.status_code == 409, r.text
        assert r.json()['conflictingRequest']['message'] == (
            f'Specifying an availability zone or a host when unshelving server "{sid}" '
            'with status "shelved" is not supported. The server status must be '
            'SHELVED_OFFLOADED.')
    finally:
        _delete(admin, sid)
        admin.post(action, {'remove_host': {'host': host2}})
        admin.delete(f"/os-aggregates/{agg['id']}")


def test_unshelve_without_its_image_is_an_error(admin, member, aio, placement_base):
    sid = _boot(member, 'sh-image-gone')
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _offloaded(admin, placement_base, sid)
    [image] = _images(aio, 'sh-image-gone-shelved')
    requests.delete(f"http://127.0.0.1:{aio.image_port}/v2/images/{image['id']}",
                    headers={'X-Auth-Token': 'admin:admin'}, timeout=10)
    assert _act(member, sid, {'unshelve': None}).status_code == 202
    server = _wait_idle(admin, sid, 'ERROR')
    assert server['fault']['message'] == \
        f"Unshelve attempted but the image {image['id']} cannot be found."
    assert _events(admin, sid, 'unshelve') == {'get_image_info': 'Error'}
    assert _allocs(placement_base, sid) == []
    _delete(admin, sid)


def test_delete_of_a_shelved_server_deletes_its_image(admin, member, aio, placement_base,
                                                      offload_time):
    offload_time(-1)
    sid = _boot(member, 'sh-delete')
    assert _act(member, sid, {'shelve': None}).status_code == 202
    _wait_idle(admin, sid, 'SHELVED')
    assert len(_images(aio, 'sh-delete-shelved')) == 1
    _delete(admin, sid)
    assert _images(aio, 'sh-delete-shelved') == []
    assert _allocs(placement_base, sid) == []


@pytest.mark.skipif(not shutil.which('openstack'),
                    reason="python-openstackclient (pip install -e '.[test]')")
def test_openstackclient_shelve_and_unshelve(aio, admin, placement_base, second_compute,
                                             tiny_flavor,
                                             tmp_path: Path):
    """The issue's commands: `openstack server shelve`, `server unshelve
    --availability-zone` (2.77), `--host` (2.91), through the real client."""
    from tests.functional.test_clients import _env, _osc, _run
    env = _env(aio, tmp_path)
    server = _osc(env, 'server', 'create', '--flavor', 'tiny', '--image', TINY_IMAGE_ID,
                  '--nic', 'none', '--wait', 'sh-osc')
    sid = server['id']
    agg = admin.post('/os-aggregates', {'aggregate': {'name': 'sh-osc-agg',
                                                      'availability_zone': 'sh-osc-zone'}}
                     ).json()['aggregate']
    action = f"/os-aggregates/{agg['id']}/action"
    try:
        assert admin.post(action, {'add_host': {'host': second_compute}}).status_code == 200
        _run(env, 'openstack', 'server', 'shelve', '--wait', sid)
        _offloaded(admin, placement_base, sid)
        _run(env, 'openstack', 'server', 'unshelve', '--availability-zone', 'sh-osc-zone',
             '--wait', sid)
        server = _wait_idle(admin, sid, 'ACTIVE')
        assert server['OS-EXT-SRV-ATTR:host'] == second_compute
        _run(env, 'openstack', 'server', 'shelve', '--wait', sid)
        _offloaded(admin, placement_base, sid)
        _run(env, 'openstack', 'server', 'unshelve', '--no-availability-zone',
             '--host', 'aio-host', '--wait', sid)
        server = _wait_idle(admin, sid, 'ACTIVE')
        assert server['OS-EXT-SRV-ATTR:host'] == 'aio-host'
    finally:
        _delete(admin, sid)
        admin.post(action, {'remove_host': {'host': second_compute}})
        admin.delete(f"/os-aggregates/{agg['id']}")
