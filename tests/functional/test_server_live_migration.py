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
                    timeout: float = 30, newer_than: int = 0) -> dict[str, Any]:
    """The server's newest live migration (newer than id newer_than: conductor
    writes it after the 202) once it is in one of statuses."""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = _migrations(admin, sid, migration_type='live-migration')
        if found and found[0]['id'] > newer_than and found[0]['status'] in statuses:
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
    listed = admin.get('/servers?status=MIGRATING').json()['servers']
    assert sid in [s['id'] for s in listed]
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
    assert sid not in [s['id'] for s in admin.get('/servers?status=MIGRATING').json()[
        'servers']]
    events = _events(admin, sid, 'live-migration')
    assert events == {'conductor_live_migrate_instance': 'Success',
                      'compute_check_can_live_migrate_destination': 'Success',
                      'compute_pre_live_migration': 'Success',
                      'compute_live_migration': 'Success',
                      'compute_post_live_migration_at_destination': 'Success'}
    # Back again: nothing left behind on either host.
    assert _live(admin, sid, source).status_code == 202
    back = _wait_migration(admin, sid, {'completed', 'failed', 'error'},
                           newer_than=migration['id'])
    assert back['status'] == 'completed' and back['id'] != migration['id']
    assert _host(_settled(admin, sid)) == source
    assert _allocs(placement_base, sid) == {src_rp: TINY}
    _delete(admin, sid)


def _other(server: dict[str, Any], second: str) -> str:
    return second if _host(server) != second else 'aio-host'


def test_force_complete_finishes_a_running_migration(admin, tiny_flavor, second_compute,
                                                     placement_base, slow):
    server = _boot(admin, 'lm-force')
    sid, dest = server['id'], _other(server, second_compute)
    assert _live(admin, sid, dest).status_code == 202
    migration = _wait_migration(admin, sid, {'running'})
    started = time.monotonic()
    path = f"/servers/{sid}/migrations/{migration['id']}/action"
    r = admin.post(path, {'force_complete': None}, headers=_v('2.21'))
    assert r.status_code == 404, r.text
    r = admin.post(path, {'force_complete': {}}, headers=_v('2.22'))
    assert r.status_code == 400, r.text
    r = admin.post(path, {'force_complete': None}, headers=_v('2.22'))
    assert r.status_code == 202, r.text
    migration = _wait_migration(admin, sid, {'completed', 'failed', 'error'})
    assert migration['status'] == 'completed'
    assert time.monotonic() - started < 5   # not the whole 6 s
    assert _host(_settled(admin, sid)) == dest
    assert _allocs(placement_base, sid) == {_rp(placement_base, dest): TINY}
    assert _events(admin, sid, 'live_migration_force_complete') == {
        'compute_live_migration_force_complete': 'Success'}
    # Over now: no running migration to complete, no migrating server.
    r = admin.post(path, {'force_complete': None})
    assert r.status_code == 409, r.text
    _delete(admin, sid)


def test_abort_cancels_and_keeps_the_server_on_its_source(admin, tiny_flavor,
                                                          second_compute, placement_base,
                                                          slow):
    server = _boot(admin, 'lm-abort')
    sid, source = server['id'], _host(server)
    dest = _other(server, second_compute)
    src_rp = _rp(placement_base, source)
    assert _live(admin, sid, dest).status_code == 202
    migration = _wait_migration(admin, sid, {'running'})
    path = f"/servers/{sid}/migrations/{migration['id']}"
    assert admin.delete(path, headers=_v('2.23')).status_code == 404
    r = admin.delete(path, headers=_v('2.24'))
    assert r.status_code == 202, r.text
    migration = _wait_migration(admin, sid, {'cancelled', 'completed', 'failed'})
    assert migration['status'] == 'cancelled'
    server = _settled(admin, sid)
    assert server['status'] == 'ACTIVE' and _host(server) == source
    assert _allocs(placement_base, sid) == {src_rp: TINY}
    assert _allocs(placement_base, migration['uuid']) == {}
    assert _events(admin, sid, 'live_migration_cancel') == {
        'compute_live_migration_abort': 'Success'}
    # A cancelled migration is not in progress: not shown, not abortable.
    r = admin.get(path, headers=_v('2.23'))
    assert r.status_code == 404
    assert r.json()['itemNotFound']['message'] == (
        f"Live migration {migration['id']} for server {sid} is not in progress.")
    r = admin.delete(path)
    assert r.status_code == 409, r.text   # the server is not migrating
    # The guest still runs where it was: it can move again.
    assert _live(admin, sid, dest).status_code == 202
    done = _wait_migration(admin, sid, {'completed', 'failed', 'error'},
                           newer_than=migration['id'])
    assert done['status'] == 'completed'
    _delete(admin, sid)


def test_failure_rolls_back_to_the_source(admin, tiny_flavor, second_compute,
                                          placement_base):
    CONF.set_override('fail_live_migration_names', ['lm-doomed'], group='fake_driver')
    try:
        server = _boot(admin, 'lm-doomed')
        sid, source = server['id'], _host(server)
        assert _live(admin, sid, None).status_code == 202
        migration = _wait_migration(admin, sid, {'failed', 'completed', 'error'})
    finally:
        CONF.clear_override('fail_live_migration_names', group='fake_driver')
    assert migration['status'] == 'failed'
    server = _settled(admin, sid)
    assert server['status'] == 'ACTIVE' and _host(server) == source
    assert server['OS-EXT-STS:power_state'] == 1
    assert _allocs(placement_base, sid) == {_rp(placement_base, source): TINY}
    assert _allocs(placement_base, migration['uuid']) == {}
    events = _events(admin, sid, 'live-migration')
    assert events['compute_live_migration'] == 'Error'
    assert events['compute_pre_live_migration'] == 'Success'
    assert events['compute_rollback_live_migration_at_destination'] == 'Success'
    _delete(admin, sid)


def test_bad_requests_and_nova_errors(admin, tiny_flavor, second_compute, placement_base):
    server = _boot(admin, 'lm-errors')
    sid, source = server['id'], _host(server)
    other = _other(server, second_compute)

    def post(body: Any, version: str) -> requests.Response:
        return admin.post(f'/servers/{sid}/action', {'os-migrateLive': body},
                          headers=_v(version))

    # Bodies per microversion.
    for body, version in (
            ({'host': None, 'block_migration': False}, '2.1'),            # disk_over_commit
            ({'host': None, 'block_migration': 'auto',
              'disk_over_commit': False}, '2.24'),                        # 'auto' too soon
            ({'host': None, 'block_migration': False,
              'disk_over_commit': False}, '2.25'),                        # gone in 2.25
            ({'host': None, 'block_migration': 'auto', 'force': True}, '2.29'),
            ({'host': None, 'block_migration': 'auto', 'force': True}, '2.30'),  # no host
            ({'host': other, 'block_migration': 'auto', 'force': False}, '2.68'),
            ({'host': 'bad host!', 'block_migration': 'auto'}, '2.68'),
            ({'block_migration': 'auto'}, '2.68'),                        # host required
            ({'host': None, 'block_migration': 'maybe'}, '2.68')):
        r = post(body, version)
        assert r.status_code == 400, (body, version, r.text)
        assert 'badRequest' in r.json()
    r = post({'host': None, 'block_migration': 'auto', 'force': True}, '2.30')
    assert r.json()['badRequest']['message'] == "Can't force to a non-provided destination"

    r = post({'host': 'no-such-host', 'block_migration': 'auto'}, 'latest')
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'Compute host no-such-host could not be found.'
    # Before 2.34 conductor's checks answer: the same host forced, or asked of the
    # scheduler (which never picks the source).
    r = post({'host': source, 'block_migration': 'auto', 'force': True}, '2.30')
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message'] == (
        f'Unable to migrate instance ({sid}) to current host ({source}).')
    r = post({'host': source, 'block_migration': False, 'disk_over_commit': False}, '2.1')
    assert r.status_code == 400, r.text
    r = post({'host': source, 'block_migration': 'auto'}, '2.33')
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message'].startswith('No valid host was found.')
    server = _settled(admin, sid)
    assert server['status'] == 'ACTIVE' and _host(server) == source
    failed = _migrations(admin, sid, migration_type='live-migration')
    assert [m['status'] for m in failed] == ['error'] * 3
    assert _allocs(placement_base, sid) == {_rp(placement_base, source): TINY}
    # From 2.34 the checks run after the 202: the same outcome, seen afterwards.
    r = post({'host': source, 'block_migration': 'auto'}, '2.34')
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 10
    while len(_migrations(admin, sid, migration_type='live-migration')) < 4:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert _wait_migration(admin, sid, {'error', 'completed'},
                           newer_than=failed[0]['id'])['status'] == 'error'
    server = _settled(admin, sid)
    assert server['status'] == 'ACTIVE' and _host(server) == source
    assert _events(admin, sid, 'live-migration') == {
        'conductor_live_migrate_instance': 'Error'}
    assert _allocs(placement_base, sid) == {_rp(placement_base, source): TINY}

    # A stopped server cannot live migrate (409); nor is it migrating.
    assert admin.post(f'/servers/{sid}/action', {'os-stop': None}).status_code == 202
    admin.wait_for_status(sid, {'SHUTOFF'})
    r = post({'host': None, 'block_migration': 'auto'}, 'latest')
    assert r.status_code == 409
    assert r.json()['conflictingRequest']['message'] == (
        f"Cannot 'os-migrateLive' instance {sid} while it is in vm_state stopped")
    mid = failed[0]['id']
    r = admin.post(f'/servers/{sid}/migrations/{mid}/action', {'force_complete': None})
    assert r.status_code == 409, r.text
    r = admin.delete(f'/servers/{sid}/migrations/{mid}')
    assert r.status_code == 409, r.text
    r = admin.get(f'/servers/{sid}/migrations/{mid}')
    assert r.status_code == 404
    assert r.json()['itemNotFound']['message'] == (
        f'Live migration {mid} for server {sid} is not in progress.')
    r = admin.get(f'/servers/{sid}/migrations/99999999')
    assert r.status_code == 404
    assert r.json()['itemNotFound']['message'] == (
        f'In-progress live migration 99999999 is not found for server {sid}.')
    assert admin.get(f'/servers/{sid}/migrations', headers=_v('2.22')).status_code == 404
    _delete(admin, sid)


def test_paused_server_migrates_paused(admin, tiny_flavor, second_compute, placement_base):
    server = _boot(admin, 'lm-paused')
    sid, dest = server['id'], _other(server, second_compute)
    assert admin.post(f'/servers/{sid}/action', {'pause': None}).status_code == 202
    admin.wait_for_status(sid, {'PAUSED'})
    assert _live(admin, sid, dest).status_code == 202
    assert _wait_migration(admin, sid, {'completed', 'failed', 'error'})['status'] == \
        'completed'
    server = _settled(admin, sid)
    assert server['status'] == 'PAUSED' and _host(server) == dest
    assert server['OS-EXT-STS:power_state'] == 3
    assert admin.post(f'/servers/{sid}/action', {'unpause': None}).status_code == 202
    assert admin.wait_for_status(sid, {'ACTIVE'})['OS-EXT-STS:power_state'] == 1
    _delete(admin, sid)


def test_server_migrations_fields_per_microversion(admin, tiny_flavor, second_compute,
                                                  slow):
    server = _boot(admin, 'lm-fields')
    sid, dest = server['id'], _other(server, second_compute)
    assert _live(admin, sid, dest).status_code == 202
    migration = _wait_migration(admin, sid, {'running'})
    base = {'created_at', 'dest_compute', 'dest_host', 'dest_node', 'disk_processed_bytes',
            'disk_remaining_bytes', 'disk_total_bytes', 'id', 'memory_processed_bytes',
            'memory_remaining_bytes', 'memory_total_bytes', 'server_uuid',
            'source_compute', 'source_node', 'status', 'updated_at'}
    for version, keys in (('2.23', base), ('2.59', base | {'uuid'}),
                          ('2.80', base | {'uuid', 'user_id', 'project_id'})):
        listed = admin.get(f'/servers/{sid}/migrations', headers=_v(version)).json()
        assert [set(m) for m in listed['migrations']] == [keys], version
        shown = admin.get(f"/servers/{sid}/migrations/{migration['id']}",
                          headers=_v(version)).json()['migration']
        assert set(shown) == keys
        assert shown['id'] == migration['id'] and shown['dest_compute'] == dest
    # /os-migrations links an in-progress live migration to it (2.23).
    listed = _migrations(admin, sid, '2.23')
    assert listed[0]['links'][0]['href'].endswith(
        f"/servers/{sid}/migrations/{migration['id']}")
    assert _wait_migration(admin, sid, {'completed'})
    assert 'links' not in _migrations(admin, sid, '2.23')[0]
    _delete(admin, sid)


def test_os_migrations_filters_and_paging(admin, tiny_flavor, second_compute):
    server = _boot(admin, 'lm-list')
    sid = server['id']
    first = _host(server)
    last = 0
    for host in (_other(server, second_compute), first):
        assert _live(admin, sid, host).status_code == 202
        last = _wait_migration(admin, sid, {'completed'}, newer_than=last)['id']
        _settled(admin, sid)
    both = _migrations(admin, sid, migration_type='live-migration')
    assert [m['status'] for m in both] == ['completed', 'completed']
    assert both[0]['source_compute'] != first and both[1]['source_compute'] == first
    assert _migrations(admin, sid, migration_type='resize') == []
    assert _migrations(admin, sid, status='completed') == both
    assert _migrations(admin, sid, source_compute=first) == [both[1]]
    assert _migrations(admin, sid, host=first) == both
    assert _migrations(admin, sid, hidden='0') == both
    assert _migrations(admin, sid, '2.80', project_id='admin', user_id='admin') == both
    assert _migrations(admin, sid, '2.80', user_id='nobody') == []
    # 2.59: newest first, a page and a link to the next one.
    r = admin.get(f'/os-migrations?instance_uuid={sid}&limit=1', headers=_v('2.59'))
    page = r.json()
    assert [m['uuid'] for m in page['migrations']] == [both[0]['uuid']]
    assert f"marker={both[0]['uuid']}" in page['migrations_links'][0]['href']
    r = admin.get(f"/os-migrations?instance_uuid={sid}&limit=1&marker={both[0]['uuid']}",
                  headers=_v('2.59'))
    assert [m['uuid'] for m in r.json()['migrations']] == [both[1]['uuid']]
    since = both[0]['updated_at']
    r = admin.get(f'/os-migrations?instance_uuid={sid}&changes-since={since}',
                  headers=_v('2.59'))
    assert [m['uuid'] for m in r.json()['migrations']] == [both[0]['uuid']]
    r = admin.get(f'/os-migrations?instance_uuid={sid}&changes-before={since}',
                  headers=_v('2.66'))
    assert both[0]['uuid'] in [m['uuid'] for m in r.json()['migrations']]
    r = admin.get(f'/os-migrations?changes-before={since}', headers=_v('2.65'))
    assert r.status_code == 400
    r = admin.get('/os-migrations?limit=1&marker=no-such', headers=_v('2.59'))
    assert r.status_code == 400
    _delete(admin, sid)


def test_policy_live_migration_is_for_admins(admin, api_base, tiny_flavor,
                                             second_compute, slow):
    member = Client(api_base, token='lm-member:lm-project')
    server = _boot(member, 'lm-policy')
    sid = server['id']
    r = member.post(f'/servers/{sid}/action',
                    {'os-migrateLive': {'host': None, 'block_migration': 'auto'}})
    assert r.status_code == 403, r.text
    for method, path, body in (
            ('GET', f'/servers/{sid}/migrations', None),
            ('GET', f'/servers/{sid}/migrations/1', None),
            ('DELETE', f'/servers/{sid}/migrations/1', None),
            ('POST', f'/servers/{sid}/migrations/1/action', {'force_complete': None})):
        r = member.request(method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)
    # A project manager may move it, only an admin names the host.
    manager = Client(api_base, token='lm-manager:lm-project')
    manager.session.headers['X-Roles'] = 'manager,member,reader'
    r = manager.post(f'/servers/{sid}/action', {'os-migrateLive': {
        'host': second_compute, 'block_migration': 'auto'}})
    assert r.status_code == 403, r.text
    r = manager.post(f'/servers/{sid}/action', {'os-migrateLive': {
        'host': None, 'block_migration': 'auto'}})
    assert r.status_code == 202, r.text
    migration = _wait_migration(admin, sid, {'running'})
    # The manager lists it without its hosts, cannot show it, may abort it.
    [seen] = manager.get(f'/servers/{sid}/migrations').json()['migrations']
    assert seen['id'] == migration['id'] and seen['status'] == 'running'
    assert seen['source_compute'] is seen['dest_compute'] is seen['dest_host'] is None
    [full] = admin.get(f'/servers/{sid}/migrations').json()['migrations']
    assert full['source_compute'] == migration['source_compute']
    r = manager.get(f"/servers/{sid}/migrations/{migration['id']}")
    assert r.status_code == 403, r.text
    assert member.delete(f"/servers/{sid}/migrations/{migration['id']}").status_code == 403
    assert manager.delete(f"/servers/{sid}/migrations/{migration['id']}").status_code == 202
    assert _wait_migration(admin, sid, {'cancelled', 'completed'})['status'] == 'cancelled'
    _settled(admin, sid)
    _delete(member, sid)


def _boot_on(admin: Client, name: str, host: str) -> dict[str, Any]:
    r = admin.post('/servers', {'server': {
        'name': name, 'flavorRef': 'tiny', 'imageRef': TINY_IMAGE_ID, 'networks': 'none',
        'host': host}}, headers=_v('2.74'))
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE' and _host(server) == host, server
    return server


def test_queued_migration_aborted_from_265(admin, tiny_flavor, second_compute,
                                           placement_base, slow):
    """One live migration at a time per host ([DEFAULT] max_concurrent_live_migrations
    1, Nova's default): the second waits queued; 2.65 may abort it there."""
    first = _boot_on(admin, 'lm-queue-1', 'aio-host')['id']
    second = _boot_on(admin, 'lm-queue-2', 'aio-host')['id']
    src_rp = _rp(placement_base, 'aio-host')
    assert _live(admin, first, second_compute).status_code == 202
    running = _wait_migration(admin, first, {'running'})
    assert _live(admin, second, second_compute).status_code == 202
    queued = _wait_migration(admin, second, {'queued'})
    listed = admin.get(f'/servers/{second}/migrations').json()['migrations']
    assert [m['status'] for m in listed] == ['queued']
    path = f"/servers/{second}/migrations/{queued['id']}"
    r = admin.delete(path, headers=_v('2.64'))
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message'] == (
        f"Migration {queued['id']} state of instance {second} is queued. Cannot abort "
        'live migration while the migration is in this state.')
    r = admin.post(f'{path}/action', {'force_complete': None})
    assert r.status_code == 400, r.text   # only a running one
    assert admin.delete(path, headers=_v('2.65')).status_code == 202
    assert _wait_migration(admin, second, {'cancelled'})['status'] == 'cancelled'
    assert _host(_settled(admin, second)) == 'aio-host'
    assert _allocs(placement_base, second) == {src_rp: TINY}
    assert admin.delete(f"/servers/{first}/migrations/{running['id']}").status_code == 202
    assert _wait_migration(admin, first, {'cancelled'})['status'] == 'cancelled'
    assert _host(_settled(admin, first)) == 'aio-host'
    assert _allocs(placement_base, first) == {src_rp: TINY}
    _delete(admin, first)
    _delete(admin, second)


def test_a_destination_that_refuses_is_retried_then_no_host(
        admin, tiny_flavor, second_compute, placement_base, monkeypatch):
    from minova.virt.fake import FakeDriver
    real = FakeDriver.check_can_live_migrate_destination

    def refuse(self: FakeDriver, *args: Any) -> dict[str, Any]:
        from minova import exception
        if self.host == second_compute:
            raise exception.MigrationPreCheckError(reason='not today')
        return real(self, *args)
    monkeypatch.setattr(FakeDriver, 'check_can_live_migrate_destination', refuse)
    sid = _boot_on(admin, 'lm-refused', 'aio-host')['id']
    r = _live(admin, sid, None, '2.33')
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message'].startswith('No valid host was found.')
    CONF.set_override('migrate_max_retries', 0)
    try:
        r = _live(admin, sid, None, '2.33')
    finally:
        CONF.clear_override('migrate_max_retries')
    assert r.json()['badRequest']['message'] == (
        'Exceeded maximum number of retries. Exceeded max scheduling retries 0 for '
        f'instance {sid} during live migration')
    # Forced there, its own check answers.
    r = _live(admin, sid, second_compute, '2.30', force=True)
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message'] == 'Migration pre-check error: not today'
    server = _settled(admin, sid)
    assert server['status'] == 'ACTIVE' and _host(server) == 'aio-host'
    assert _allocs(placement_base, sid) == {_rp(placement_base, 'aio-host'): TINY}
    assert [m['status'] for m in _migrations(admin, sid)] == ['error'] * 3
    _delete(admin, sid)


@pytest.mark.parametrize('fail', [False, True], ids=['then-completes', 'then-fails'])
def test_deleted_while_migrating_leaves_no_allocation(admin, tiny_flavor, second_compute,
                                                      placement_base, slow, fail):
    """A server deleted mid-move: whether the move then completes or rolls back,
    neither the server nor the migration keeps an allocation."""
    server = _boot(admin, f'lm-deleted-{fail}')
    sid = server['id']
    assert _live(admin, sid, _other(server, second_compute)).status_code == 202
    migration = _wait_migration(admin, sid, {'running'})
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
    if fail:   # the move fails and rolls back
        CONF.set_override('fail_live_migration_names', [f'lm-deleted-{fail}'],
                          group='fake_driver')
    try:
        deadline = time.monotonic() + 30
        while _migrations(admin, sid)[0]['status'] in ('running', 'preparing', 'queued'):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        CONF.clear_override('fail_live_migration_names', group='fake_driver')
    assert _allocs(placement_base, sid) == {}
    assert _allocs(placement_base, migration['uuid']) == {}
