"""pause/unpause, suspend/resume, lock/unlock, os-resetState and
trigger_crash_dump through the REST API on the all-in-one's fake driver:
states, instance actions, 409s from other states, locked-server refusal."""
from __future__ import annotations

import pytest
import requests

from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client


def _boot(client: Client, name: str, image: str = TINY_IMAGE_ID) -> str:
    r = client.post('/servers', {'server': {'name': name, 'flavorRef': 'tiny',
                                            'imageRef': image, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    server_id = r.json()['server']['id']
    assert client.wait_for_status(server_id, {'ACTIVE', 'ERROR'})['status'] == 'ACTIVE'
    return server_id


def _act(client: Client, server_id: str, body: dict) -> requests.Response:
    return client.post(f'/servers/{server_id}/action', body)


def _conflict(r: requests.Response) -> str:
    assert r.status_code == 409, r.text
    return r.json()['conflictingRequest']['message']


@pytest.fixture
def alice(api_base: str) -> Client:
    return Client(api_base, token='alice:project-a')


@pytest.fixture
def server(admin: Client, tiny_flavor: dict) -> object:
    server_id = _boot(admin, 'ops-vm')
    yield server_id
    admin.delete(f'/servers/{server_id}')
    admin.wait_gone(server_id)


def _actions(client: Client, server_id: str) -> list[str]:
    r = client.get(f'/servers/{server_id}/os-instance-actions')
    return [a['action'] for a in r.json()['instanceActions']]


def _events(client: Client, server_id: str, action: str) -> list[tuple[str, str]]:
    listed = client.get(f'/servers/{server_id}/os-instance-actions').json()
    req_id = next(a['request_id'] for a in listed['instanceActions']
                  if a['action'] == action)
    one = client.get(f'/servers/{server_id}/os-instance-actions/{req_id}').json()
    return [(e['event'], e['result']) for e in one['instanceAction']['events']]


def test_pause_unpause(admin: Client, server: str) -> None:
    assert _act(admin, server, {'pause': None}).status_code == 202
    s = admin.wait_for_status(server, {'PAUSED'})
    assert s['OS-EXT-STS:vm_state'] == 'paused' and s['OS-EXT-STS:power_state'] == 3
    assert s['OS-EXT-STS:task_state'] is None
    assert _conflict(_act(admin, server, {'pause': {}})) == (
        f"Cannot 'pause' instance {server} while it is in vm_state paused")
    assert _conflict(_act(admin, server, {'suspend': None})) == (
        f"Cannot 'suspend' instance {server} while it is in vm_state paused")
    assert _act(admin, server, {'unpause': None}).status_code == 202
    s = admin.wait_for_status(server, {'ACTIVE'})
    assert s['OS-EXT-STS:power_state'] == 1
    assert _conflict(_act(admin, server, {'unpause': None})) == (
        f"Cannot 'unpause' instance {server} while it is in vm_state active")
    assert _actions(admin, server)[:2] == ['unpause', 'pause']
    assert _events(admin, server, 'pause') == [('compute_pause_instance', 'Success')]


def test_suspend_resume(admin: Client, server: str) -> None:
    assert _act(admin, server, {'suspend': None}).status_code == 202
    s = admin.wait_for_status(server, {'SUSPENDED'})
    assert s['OS-EXT-STS:vm_state'] == 'suspended' and s['OS-EXT-STS:power_state'] == 7
    assert _conflict(_act(admin, server, {'os-stop': None})) == (
        f"Cannot 'stop' instance {server} while it is in vm_state suspended")
    assert _conflict(_act(admin, server, {'pause': None})).startswith("Cannot 'pause'")
    assert _act(admin, server, {'resume': None}).status_code == 202
    s = admin.wait_for_status(server, {'ACTIVE'})
    assert s['OS-EXT-STS:power_state'] == 1
    assert _conflict(_act(admin, server, {'resume': None})) == (
        f"Cannot 'resume' instance {server} while it is in vm_state active")
    assert _actions(admin, server)[:2] == ['resume', 'suspend']
    assert _events(admin, server, 'resume') == [('compute_resume_instance', 'Success')]


def test_trigger_crash_dump(admin: Client, server: str) -> None:
    old = Client(admin.base, microversion='2.16')
    assert _act(old, server, {'trigger_crash_dump': None}).status_code == 404
    assert _act(admin, server, {'trigger_crash_dump': {}}).status_code == 400
    assert _act(admin, server, {'trigger_crash_dump': None}).status_code == 202
    assert 'trigger_crash_dump' in _actions(admin, server)
    assert _act(admin, server, {'os-stop': None}).status_code == 202
    admin.wait_for_status(server, {'SHUTOFF'})
    assert _conflict(_act(admin, server, {'trigger_crash_dump': None})) == (
        f"Cannot 'trigger_crash_dump' instance {server} while it is in vm_state stopped")


def test_reset_state(admin: Client, alice: Client, tiny_flavor: dict) -> None:
    server = _boot(alice, 'alice-reset')
    try:
        r = _act(alice, server, {'os-resetState': {'state': 'error'}})
        assert r.status_code == 403, r.text
        assert _act(admin, server, {'os-resetState': {'state': 'paused'}}).status_code == 400
        assert _act(admin, server, {'os-resetState': {}}).status_code == 400
        assert _act(admin, server, {'os-resetState': {'state': 'error'}}).status_code == 202
        s = admin.get(f'/servers/{server}').json()['server']
        assert s['status'] == 'ERROR' and s['OS-EXT-STS:task_state'] is None
        assert _act(admin, server, {'os-resetState': {'state': 'active'}}).status_code == 202
        assert admin.get(f'/servers/{server}').json()['server']['status'] == 'ACTIVE'
        assert _actions(admin, server)[:2] == ['resetState', 'resetState']
    finally:
        admin.delete(f'/servers/{server}')
        admin.wait_gone(server)


def test_lock_refuses_non_admins(admin: Client, alice: Client, tiny_flavor: dict) -> None:
    server = _boot(alice, 'alice-lock')
    url = f'/servers/{server}'
    try:
        r = _act(alice, server, {'lock': {'locked_reason': 'maintenance'}})
        assert r.status_code == 202, r.text
        s = alice.get(url).json()['server']
        assert s['locked'] is True and s['locked_reason'] == 'maintenance'
        old = Client(alice.base, token='alice:project-a', microversion='2.72')
        shown = old.get(url).json()['server']
        assert shown['locked'] is True and 'locked_reason' not in shown
        assert 'locked' not in Client(alice.base, token='alice:project-a',
                                      microversion='2.8').get(url).json()['server']
        locked = f'Instance {server} is locked'
        for body in ({'pause': None}, {'suspend': None}, {'os-stop': None},
                     {'reboot': {'type': 'HARD'}}, {'trigger_crash_dump': None}):
            assert _conflict(_act(alice, server, body)) == locked, body
        assert _conflict(alice.delete(url)) == locked
        # The admin may still act on it.
        assert _act(admin, server, {'pause': None}).status_code == 202
        admin.wait_for_status(server, {'PAUSED'})
        assert _act(admin, server, {'unpause': None}).status_code == 202
        admin.wait_for_status(server, {'ACTIVE'})
        # The owner unlocks its own lock; an admin's lock needs the override.
        assert _act(alice, server, {'unlock': None}).status_code == 202
        s = alice.get(url).json()['server']
        assert s['locked'] is False and s['locked_reason'] is None
        assert _act(admin, server, {'lock': None}).status_code == 202
        r = _act(alice, server, {'unlock': None})
        assert r.status_code == 403, r.text
        assert 'os_compute_api:os-lock-server:unlock:unlock_override' in r.text
        assert _act(admin, server, {'unlock': None}).status_code == 202
        assert alice.get(url).json()['server']['locked'] is False
        acts = _actions(admin, server)
        assert acts.count('lock') == 2 and acts.count('unlock') == 2
        assert _events(admin, server, 'lock') == [('api_lock', 'Success')]
    finally:
        admin.delete(url)
        admin.wait_gone(server)


@pytest.mark.parametrize('body', [
    {'lock': {'locked_reason': ''}}, {'lock': {'locked_reason': 'x' * 256}},
    {'lock': {'reason': 'x'}}, {'lock': 'x'}])
def test_lock_schema_273(admin: Client, server: str, body: dict) -> None:
    assert _act(admin, server, body).status_code == 400
    # Below 2.73 Nova takes any value and ignores a reason.
    old = Client(admin.base, microversion='2.72')
    assert _act(old, server, body).status_code == 202
    assert admin.get(f'/servers/{server}').json()['server']['locked_reason'] is None
    assert _act(admin, server, {'unlock': None}).status_code == 202


def test_rescue_unrescue(admin: Client, server: str) -> None:
    r = _act(admin, server, {'rescue': {'adminPass': 's3cret'}})
    assert r.status_code == 200, r.text
    assert r.json() == {'adminPass': 's3cret'}
    s = admin.wait_for_status(server, {'RESCUE'})
    assert s['OS-EXT-STS:vm_state'] == 'rescued' and s['OS-EXT-STS:task_state'] is None
    assert s['OS-EXT-STS:power_state'] == 1
    for body in ({'rescue': None}, {'pause': None}, {'os-stop': None}):
        assert _conflict(_act(admin, server, body)).endswith('in vm_state rescued'), body
    assert _act(admin, server, {'unrescue': None}).status_code == 202
    s = admin.wait_for_status(server, {'ACTIVE'})
    assert s['OS-EXT-STS:task_state'] is None and s['OS-EXT-STS:power_state'] == 1
    assert _conflict(_act(admin, server, {'unrescue': None})) == (
        f"Cannot 'unrescue' instance {server} while it is in vm_state active")
    assert _actions(admin, server)[:2] == ['unrescue', 'rescue']
    assert _events(admin, server, 'rescue') == [('compute_rescue_instance', 'Success')]
    assert _events(admin, server, 'unrescue') == [('compute_unrescue_instance', 'Success')]
    # A null body: a generated password; a stopped server may be rescued too,
    # with an image of its choosing.
    assert _act(admin, server, {'os-stop': None}).status_code == 202
    admin.wait_for_status(server, {'SHUTOFF'})
    r = _act(admin, server, {'rescue': {'rescue_image_ref': TINY_IMAGE_ID}})
    assert r.status_code == 200, r.text
    assert len(r.json()['adminPass']) == 12
    admin.wait_for_status(server, {'RESCUE'})
    assert _act(admin, server, {'unrescue': {}}).status_code == 202
    assert admin.wait_for_status(server, {'ACTIVE'})['OS-EXT-STS:power_state'] == 1


def test_rescue_refused(admin: Client, alice: Client, server: str, tiny_flavor: dict) -> None:
    assert _act(admin, server, {'pause': None}).status_code == 202
    admin.wait_for_status(server, {'PAUSED'})
    assert _conflict(_act(admin, server, {'rescue': None})) == (
        f"Cannot 'rescue' instance {server} while it is in vm_state paused")
    assert _act(admin, server, {'unpause': None}).status_code == 202
    admin.wait_for_status(server, {'ACTIVE'})
    missing = '8f8a4b62-52f4-4a4f-a3f1-5d5b8c0e2b11'
    r = _act(admin, server, {'rescue': {'rescue_image_ref': missing}})
    assert r.status_code == 400, r.text
    assert f"Requested rescue image '{missing}' is not supported" in r.text
    for body in ({'rescue': {'rescue_image_ref': 'nope'}}, {'rescue': {'x': 1}},
                 {'rescue': {'adminPass': 1}}, {'rescue': 'x'}):
        assert _act(admin, server, body).status_code == 400, body
    assert admin.get(f'/servers/{server}').json()['server']['status'] == 'ACTIVE'
    # A locked server refuses a non-admin.
    mine = _boot(alice, 'alice-rescue')
    try:
        assert _act(admin, mine, {'lock': None}).status_code == 202
        assert _conflict(_act(alice, mine, {'rescue': None})) == f'Instance {mine} is locked'
        assert _act(admin, mine, {'rescue': None}).status_code == 200
        admin.wait_for_status(mine, {'RESCUE'})
        assert _conflict(_act(alice, mine, {'unrescue': None})) == (
            f'Instance {mine} is locked')
        assert _act(admin, mine, {'unlock': None}).status_code == 202
        assert _act(alice, mine, {'unrescue': None}).status_code == 202
        alice.wait_for_status(mine, {'ACTIVE'})
    finally:
        admin.delete(f'/servers/{mine}')
        admin.wait_gone(mine)


def test_rescue_without_instance_password(admin: Client, server: str) -> None:
    from minova.conf import CONF
    CONF.set_override('enable_instance_password', False, group='api')
    try:
        r = _act(admin, server, {'rescue': {}})
        assert r.status_code == 200 and r.json() == {}, r.text
        admin.wait_for_status(server, {'RESCUE'})
    finally:
        CONF.clear_override('enable_instance_password', group='api')
    # A rescued server is deleted as any other.
