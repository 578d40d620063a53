"""Live migration between the all-in-one's host and a second fake compute
(issue 18): os-migrateLive with and without a host, force_complete, abort,
a failure that rolls back, the server's migrations and /os-migrations per
microversion, with placement's allocations checked after each step."""
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
V = 'OpenStack-API-Version'


def _v(version: str) -> dict[str, str]:
    return {V: f'compute {version}'}


@pytest.fixture
def slow() -> Iterator[None]:
    """A live migration long enough to be caught running."""
    CONF.set_override('live_migration_seconds', 6.0, group='fake_driver')
    yield
    CONF.clear_override('live_migration_seconds', group='fake_driver')


def _rp(placement_base: str, host: str) -> str:
    r = requests.get(f'{placement_base}/resource_providers?name={host}', headers=PH,
                     timeout=10)
    return str(r.json()['resource_providers'][0]['uuid'])


def _allocs(placement_base: str, consumer: str) -> dict[str, dict[str, int]]:
    r = requests.get(f'{placement_base}/allocations/{consumer}', headers=PH, timeout=10)
    assert r.status_code == 200, r.text
    return {rp: a['resources'] for rp, a in r.json()['allocations'].items()}


TINY = {'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}


def _boot(client: Client, name: str) -> dict[str, Any]:
    r = client.post('/servers', {'server': {'name': name, 'flavorRef': 'tiny',
                                            'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    server = client.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    return server


def _host(server: dict[str, Any]) -> str:
    return str(server['OS-EXT-SRV-ATTR:host'])


def _migrations(admin: Client, sid: str, version: str = '2.80', **filters: str
                ) -> list[dict[str, Any]]:
    query = '&'.join(f'{k}={v}' for k, v in {'instance_uuid': sid, **filters}.items())
    r = admin.get(f'/os-migrations?{query}', headers=_v(version))
    assert r.status_code == 200, r.text
    return list(r.json()['migrations'])


def _wait_migration(admin: Client, sid: str, statuses: set[str],
                    timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = _migrations(admin, sid, migration_type='live-migration')
        if found and found[0]['status'] in statuses:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f'live migration of {sid} is {found}, not {statuses}')


def _live(admin: Client, sid: str, host: str | None, version: str = 'latest',
          **extra: Any) -> requests.Response:
    body: dict[str, Any] = {'host': host, 'block_migration': 'auto', **extra}
    return admin.post(f'/servers/{sid}/action', {'os-migrateLive': body},
                      headers=_v(version))


def _settled(admin: Client, sid: str) -> dict[str, Any]:
    """The server once its task is over."""
    deadline = time.monotonic() + 30
    while True:
        server = admin.get(f'/servers/{sid}').json()['server']
        if server['OS-EXT-STS:task_state'] is None:
            return server
        assert time.monotonic() < deadline, server
        time.sleep(0.05)


def _events(admin: Client, sid: str, action: str) -> dict[str, str]:
    actions = admin.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
    found = [a for a in actions if a['action'] == action]
    assert found, actions
    r = admin.get(f"/servers/{sid}/os-instance-actions/{found[0]['request_id']}",
                  headers=_v('2.51'))
    return {e['event']: e['result'] for e in r.json()['instanceAction']['events']}


def _delete(admin: Client, sid: str) -> None:
    admin.delete(f'/servers/{sid}')
    admin.wait_gone(sid)


@pytest.mark.parametrize('named', [True, False], ids=['with-host', 'scheduler-picks'])
def test_live_migration_moves_the_server_with_exact_allocations(
        admin, tiny_flavor, second_compute, placement_base, slow, named):
    server = _boot(admin, f'lm-move-{named}')
    sid, source = server['id'], _host(server)
    dest = second_compute if source != second_compute else 'aio-host'
    src_rp, dst_rp = _rp(placement_base, source), _rp(placement_base, dest)
    assert _allocs(placement_base, sid) == {src_rp: TINY}

    r = _live(admin, sid, dest if named else None)
    assert r.status_code == 202, r.text
    assert r.text == ''
    migration = _wait_migration(admin, sid, {'running'})
    server = admin.get(f'/servers/{sid}').json()['server']
    assert server['status'] == 'MIGRATING'
    assert server['OS-EXT-STS:task_state'] == 'migrating'
    assert _host(server) == source
    assert migration['migration_type'] == 'live-migration'
    assert (migration['source_compute'], migration['dest_compute']) == (source, dest)
    # While it runs: the migration holds the source, the server the destination.
    assert _allocs(placement_base, migration['uuid']) == {src_rp: TINY}
    assert _allocs(placement_base, sid) == {dst_rp: TINY}
    # Its progress, as the server's in-progress migration.
    deadline = time.monotonic() + 10
    while True:
        shown = admin.get(f"/servers/{sid}/migrations/{migration['id']}",
                          headers=_v('2.80')).json()['migration']
        if shown['memory_processed_bytes']:
            break
        assert time.monotonic() < deadline, shown
        time.sleep(0.05)
    assert shown['memory_total_bytes'] == shown['memory_processed_bytes'] + \
        shown['memory_remaining_bytes'] > 0
    assert shown['status'] == 'running' and shown['server_uuid'] == sid
    assert shown['uuid'] == migration['uuid']

    migration = _wait_migration(admin, sid, {'completed', 'failed', 'error'})
    assert migration['status'] == 'completed'
    server = _settled(admin, sid)
    assert server['status'] == 'ACTIVE' and _host(server) == dest
    assert server['OS-EXT-SRV-ATTR:hypervisor_hostname'] == dest
    assert server['OS-EXT-STS:power_state'] == 1
    assert _allocs(placement_base, sid) == {dst_rp: TINY}
    assert _allocs(placement_base, migration['uuid']) == {}
    assert admin.get(f'/servers/{sid}/migrations').json() == {'migrations': []}
    events = _events(admin, sid, 'live-migration')
    assert events == {'conductor_live_migrate_instance': 'Success',
                      'compute_check_can_live_migrate_destination': 'Success',
                      'compute_pre_live_migration': 'Success',
                      'compute_live_migration': 'Success',
                      'compute_post_live_migration_at_destination': 'Success'}
    # Back again: nothing left behind on either host.
    assert _live(admin, sid, source).status_code == 202
    back = _wait_migration(admin, sid, {'completed', 'failed', 'error'})
    assert back['status'] == 'completed' and back['id'] != migration['id']
    assert _host(_settled(admin, sid)) == source
    assert _allocs(placement_base, sid) == {src_rp: TINY}
    _delete(admin, sid)
