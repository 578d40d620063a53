"""POST /servers/{id}/action: bodies as Nova validates them, unknown actions."""
from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.conftest import FakeComputeAPI


@pytest.mark.parametrize('value', [None, {}, {'anything': 1}, 'x', []])
@pytest.mark.parametrize('action, method', [
    ('os-stop', 'stop'), ('os-start', 'start'), ('pause', 'pause'), ('unpause', 'unpause'),
    ('suspend', 'suspend'), ('resume', 'resume'), ('unlock', 'unlock'),
    ('unrescue', 'unrescue')])
def test_bodyless_actions_accept_any_value(user: Any, compute: FakeComputeAPI, action: str,
                                          method: str, value: Any) -> None:
    """Nova's schema for os-stop/os-start has no constraint on the value."""
    inst = compute.add()
    r = user.post(f"/servers/{inst['uuid']}/action", {action: value})
    assert r.status_code == 202, r.text
    assert compute.calls == [(method, inst['uuid'], None)]


def test_unknown_action_is_400_before_the_lookup(user: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    for server in (inst['uuid'], 'f1b7c8a2-0000-4000-8000-000000000000'):
        r = user.post(f'/servers/{server}/action', {'os-fly': None})
        assert r.status_code == 400, r.text
        assert r.json == {'badRequest': {'code': 400,
                                         'message': 'There is no such action: os-fly'}}


@pytest.mark.parametrize('body', [{}, {'os-stop': None, 'os-start': None}, [1], 'x'])
def test_malformed_action_body(user: Any, compute: FakeComputeAPI, body: Any) -> None:
    inst = compute.add()
    r = user.post(f"/servers/{inst['uuid']}/action", body)
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == 'Malformed request body'


def test_reboot_schema(user: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    url = f"/servers/{inst['uuid']}/action"
    assert user.post(url, {'reboot': {'type': 'Soft'}}).status_code == 202
    assert compute.calls == [('reboot', inst['uuid'], 'SOFT')]
    for bad in ({'reboot': {}}, {'reboot': {'type': 'medium'}}, {'reboot': None},
                {'reboot': {'type': 'HARD', 'x': 1}}):
        assert user.post(url, bad).status_code == 400, bad


def test_console_output(user: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    url = f"/servers/{inst['uuid']}/action"
    r = user.post(url, {'os-getConsoleOutput': {'length': '2'}})
    assert r.status_code == 200
    assert r.json == {'output': 'FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE'}
    assert compute.calls[-1] == ('get_console_output', inst['uuid'], 2)
    assert user.post(url, {'os-getConsoleOutput': {'length': -1}}).status_code == 200
    assert compute.calls[-1][2] is None
    assert user.post(url, {'os-getConsoleOutput': {}}).status_code == 200
    assert user.post(url, {'os-getConsoleOutput': {'length': -2}}).status_code == 400
    assert user.post(url, {'os-getConsoleOutput': None}).status_code == 400


def test_unknown_flavor_and_aggregate_actions_are_400(admin: Any, dbs: Any) -> None:
    for path in ('/flavors/1/action', '/os-aggregates/1/action'):
        r = admin.post(path, {'bogus': {}})
        assert r.status_code == 400, path
        assert r.json['badRequest']['message'] == 'There is no such action: bogus'


def test_lock_reason_from_273(user: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    url = f"/servers/{inst['uuid']}/action"
    r = user.post(url, {'lock': {'locked_reason': 'maint'}},
                  headers={'OpenStack-API-Version': 'compute 2.73'})
    assert r.status_code == 202, r.text
    r = user.post(url, {'lock': {'locked_reason': 'maint'}},
                  headers={'OpenStack-API-Version': 'compute 2.72'})
    assert r.status_code == 202, r.text
    assert user.post(url, {'lock': None}).status_code == 202
    assert [c[2] for c in compute.calls] == ['maint', None, None]


def test_trigger_crash_dump_from_217(user: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    url = f"/servers/{inst['uuid']}/action"
    r = user.post(url, {'trigger_crash_dump': None},
                  headers={'OpenStack-API-Version': 'compute 2.16'})
    assert r.status_code == 404, r.text
    for bad in ({}, 'x', 1):
        r = user.post(url, {'trigger_crash_dump': bad},
                      headers={'OpenStack-API-Version': 'compute 2.17'})
        assert r.status_code == 400, bad
    r = user.post(url, {'trigger_crash_dump': None},
                  headers={'OpenStack-API-Version': 'compute 2.17'})
    assert r.status_code == 202, r.text
    assert compute.calls == [('trigger_crash_dump', inst['uuid'], None)]


def test_reset_state_is_admin_only(user: Any, admin: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    url = f"/servers/{inst['uuid']}/action"
    r = user.post(url, {'os-resetState': {'state': 'error'}})
    assert r.status_code == 403, r.text
    assert r.json['forbidden']['message'] == (
        "Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed.")
    assert admin.post(url, {'os-resetState': {'state': 'active'}}).status_code == 202
    assert compute.calls == [('reset_state', inst['uuid'], 'active')]


def test_rescue_schema(user: Any, compute: FakeComputeAPI) -> None:
    """Nova's: null or an object with adminPass and a uuid rescue_image_ref; 200."""
    inst = compute.add()
    url = f"/servers/{inst['uuid']}/action"
    image = '70a599e0-31e7-49b7-b260-868f441e862b'
    r = user.post(url, {'rescue': {'adminPass': 'pw', 'rescue_image_ref': image}})
    assert r.status_code == 200, r.text
    assert r.json == {'adminPass': 'pw'}
    assert compute.calls[-1] == ('rescue', inst['uuid'], ('pw', image))
    for body in ({'rescue': None}, {'rescue': {}}):
        r = user.post(url, body)
        assert r.status_code == 200, r.text
        password = r.json['adminPass']
        assert len(password) == 12
        assert compute.calls[-1] == ('rescue', inst['uuid'], (password, None))
    calls = len(compute.calls)
    for bad in ({'rescue': 'x'}, {'rescue': []}, {'rescue': {'adminPass': 1}},
                {'rescue': {'rescue_image_ref': 'not-a-uuid'}},
                {'rescue': {'rescue_image_ref': None}}, {'rescue': {'x': 1}}):
        assert user.post(url, bad).status_code == 400, bad
    assert len(compute.calls) == calls
