"""Resize with confirm and revert through the REST API (all-in-one, one
compute: the resize stays on its host with [DEFAULT] allow_resize_to_same_host),
with placement's allocations checked after each step (issue 18)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from minova.conf import CONF
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client

PH = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.28'}


@pytest.fixture
def same_host() -> Iterator[None]:
    CONF.set_override('allow_resize_to_same_host', True)
    yield
    CONF.clear_override('allow_resize_to_same_host')


@pytest.fixture(scope='module')
def flavors(admin: Client, tiny_flavor: dict[str, Any]) -> dict[str, str]:
    made = {}
    for name, vcpus, ram, disk in (('rs-big', 2, 128, 2), ('rs-zero', 1, 96, 0)):
        r = admin.get(f'/flavors/{name}')
        if r.status_code != 200:
            r = admin.post('/flavors', {'flavor': {'name': name, 'id': name, 'vcpus': vcpus,
                                                   'ram': ram, 'disk': disk}})
            assert r.status_code == 200, r.text
        made[name] = name
    return made


def _allocs(placement_base: str, consumer: str) -> dict[str, dict[str, int]]:
    r = requests.get(f'{placement_base}/allocations/{consumer}', headers=PH, timeout=10)
    assert r.status_code == 200, r.text
    return {rp: a['resources'] for rp, a in r.json()['allocations'].items()}


def _boot(admin: Client, name: str) -> dict[str, Any]:
    r = admin.post('/servers', {'server': {'name': name, 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    return server


def _migrations(admin: Client, server_id: str) -> list[dict[str, Any]]:
    r = admin.get(f'/os-migrations?instance_uuid={server_id}',
                  headers={'OpenStack-API-Version': 'compute 2.80'})
    assert r.status_code == 200, r.text
    return r.json()['migrations']


def _migration(admin: Client, server_id: str) -> dict[str, Any]:
    found = _migrations(admin, server_id)
    assert len(found) == 1, found
    return found[0]


def _resize(admin: Client, server_id: str, flavor: str) -> dict[str, Any]:
    r = admin.post(f'/servers/{server_id}/action', {'resize': {'flavorRef': flavor}})
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(server_id, {'VERIFY_RESIZE', 'ERROR', 'ACTIVE'})
    assert server['status'] == 'VERIFY_RESIZE', server.get('fault')
    return server


def test_resize_confirm(admin, flavors, placement_base, same_host):
    server = _boot(admin, 'rs-confirm')
    sid = server['id']
    assert _allocs(placement_base, sid) and list(
        _allocs(placement_base, sid).values())[0]['MEMORY_MB'] == 64
    server = _resize(admin, sid, 'rs-big')
    assert server['flavor']['vcpus'] == 2 and server['flavor']['ram'] == 128
    assert server['OS-EXT-STS:vm_state'] == 'resized'
    migration = _migration(admin, sid)
    assert migration['status'] == 'finished'
    assert migration['migration_type'] == 'resize'
    assert migration['source_compute'] == migration['dest_compute'] == 'aio-host'
    assert migration['old_instance_type_id'] != migration['new_instance_type_id']
    # Both allocations while it waits: the server's new flavor, the migration's old one.
    assert list(_allocs(placement_base, sid).values())[0] == {
        'VCPU': 2, 'MEMORY_MB': 128, 'DISK_GB': 2}
    assert list(_allocs(placement_base, migration['uuid']).values())[0] == {
        'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}

    r = admin.post(f'/servers/{sid}/action', {'confirmResize': None})
    assert r.status_code == 204, r.text
    server = admin.wait_for_status(sid, {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE' and server['flavor']['ram'] == 128
    migration = _wait_migration(admin, sid, 'confirmed')
    assert _allocs(placement_base, migration['uuid']) == {}
    assert list(_allocs(placement_base, sid).values())[0]['MEMORY_MB'] == 128
    actions = admin.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
    assert [a['action'] for a in actions][:2] == ['confirmResize', 'resize']
    r = admin.post(f'/servers/{sid}/action', {'confirmResize': None})
    assert r.status_code == 409, r.text
    admin.delete(f'/servers/{sid}')
    admin.wait_gone(sid)


def _wait_migration(admin: Client, sid: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        # (conductor writes the record after the API's 202)
        found = _migrations(admin, sid)
        assert len(found) <= 1, found
        if found and found[0]['status'] == status:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f'migration of {sid} is {found}, not {status}')


def test_resize_revert(admin, flavors, placement_base, same_host):
    server = _boot(admin, 'rs-revert')
    sid = server['id']
    _resize(admin, sid, 'rs-big')
    r = admin.post(f'/servers/{sid}/action', {'revertResize': None})
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(sid, {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    assert server['flavor']['vcpus'] == 1 and server['flavor']['ram'] == 64
    migration = _wait_migration(admin, sid, 'reverted')
    assert _allocs(placement_base, migration['uuid']) == {}
    assert list(_allocs(placement_base, sid).values())[0] == {
        'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}
    admin.delete(f'/servers/{sid}')
    admin.wait_gone(sid)


def test_resize_stopped_server_stays_stopped(admin, flavors, placement_base, same_host):
    sid = _boot(admin, 'rs-stopped')['id']
    assert admin.post(f'/servers/{sid}/action', {'os-stop': None}).status_code == 202
    admin.wait_for_status(sid, {'SHUTOFF'})
    _resize(admin, sid, 'rs-big')
    assert admin.post(f'/servers/{sid}/action', {'confirmResize': None}).status_code == 204
    server = admin.wait_for_status(sid, {'SHUTOFF', 'ERROR', 'ACTIVE'})
    assert server['status'] == 'SHUTOFF'
    admin.delete(f'/servers/{sid}')
    admin.wait_gone(sid)


def test_resize_refusals(admin, flavors, placement_base):
    sid = _boot(admin, 'rs-errors')['id']
    url = f'/servers/{sid}/action'
    r = admin.post(url, {'resize': {'flavorRef': 'tiny'}})
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'When resizing, instances must change flavor!'
    r = admin.post(url, {'resize': {'flavorRef': 'rs-zero'}})
    assert r.status_code == 400 and 'Resizing to zero disk' in r.text
    r = admin.post(url, {'resize': {'flavorRef': 'nope'}})
    assert r.status_code == 400
    r = admin.post(url, {'resize': {}})
    assert r.status_code == 400
    assert admin.post(url, {'confirmResize': None}).status_code == 409
    assert admin.post(url, {'revertResize': None}).status_code == 409
    r = admin.post(url, {'migrate': {'host': 'aio-host'}})
    assert r.status_code == 400 and 'Cannot migrate to the host' in r.text
    # One compute and no same-host resize: no valid host; the server stays ACTIVE.
    r = admin.post(url, {'resize': {'flavorRef': 'rs-big'}})
    assert r.status_code == 202
    migration = _wait_migration(admin, sid, 'error')
    server = admin.wait_for_status(sid, {'ACTIVE'})
    assert server['OS-EXT-STS:task_state'] is None
    assert list(_allocs(placement_base, sid).values())[0]['MEMORY_MB'] == 64
    assert _allocs(placement_base, migration['uuid']) == {}
    admin.delete(f'/servers/{sid}')
    admin.wait_gone(sid)


def test_delete_in_verify_resize_frees_both_allocations(admin, flavors, placement_base,
                                                        same_host):
    sid = _boot(admin, 'rs-delete')['id']
    _resize(admin, sid, 'rs-big')
    migration = _migration(admin, sid)
    assert _allocs(placement_base, migration['uuid'])
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
    _wait_migration(admin, sid, 'confirmed')
    assert _allocs(placement_base, migration['uuid']) == {}
    assert _allocs(placement_base, sid) == {}


def test_locked_server_refuses_a_member_resize(api_base, admin, flavors):
    member = Client(api_base, token='rsuser:project-rs')
    sid = _boot(member, 'rs-locked')['id']
    assert member.post(f'/servers/{sid}/action', {'lock': None}).status_code == 202
    r = member.post(f'/servers/{sid}/action', {'resize': {'flavorRef': 'rs-big'}})
    assert r.status_code == 409 and 'is locked' in r.text
    assert member.post(f'/servers/{sid}/action', {'unlock': None}).status_code == 202
    assert member.delete(f'/servers/{sid}').status_code == 204
    member.wait_gone(sid)


def test_cold_migrate_then_confirm(api_base, admin, flavors, placement_base, same_host):
    sid = _boot(admin, 'rs-migrate')['id']
    url = f'/servers/{sid}/action'
    r = admin.post(url, {'migrate': {'host': 'no-such-host'}})
    assert r.status_code == 400 and 'no-such-host' in r.text
    member = Client(api_base, token='rsuser:project-rs')
    mine = _boot(member, 'rs-migrate-member')['id']
    assert member.post(f'/servers/{mine}/action', {'migrate': None}).status_code == 403
    assert admin.post(url, {'migrate': {'host': 'aio-host'}}).status_code == 202
    server = admin.wait_for_status(sid, {'VERIFY_RESIZE', 'ERROR', 'ACTIVE'})
    assert server['status'] == 'VERIFY_RESIZE', server.get('fault')
    assert server['flavor']['vcpus'] == 1
    migration = _migration(admin, sid)
    assert (migration['migration_type'], migration['status']) == ('migration', 'finished')
    assert list(_allocs(placement_base, migration['uuid']).values())[0]['MEMORY_MB'] == 64
    assert admin.post(url, {'confirmResize': None}).status_code == 204
    _wait_migration(admin, sid, 'confirmed')
    assert admin.wait_for_status(sid, {'ACTIVE', 'ERROR'})['status'] == 'ACTIVE'
    assert _allocs(placement_base, migration['uuid']) == {}
    actions = admin.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
    assert [a['action'] for a in actions][:2] == ['confirmResize', 'migrate']
    for server_id, client in ((sid, admin), (mine, member)):
        assert client.delete(f'/servers/{server_id}').status_code == 204
        client.wait_gone(server_id)
