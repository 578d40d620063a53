"""Cell DB functions: instance listing (filters, keyset paging), service liveness, actions."""
from __future__ import annotations

import datetime
import functools
from typing import Any

import pytest

from minova import utils
from minova.db import actions, services
from minova.db import instances as inst_db
from tests.unit.backbone.fakes import make_instance

T0 = datetime.datetime(2024, 1, 1, 12, 0, 0)


def _at(minutes: int | None) -> datetime.datetime | None:
    return None if minutes is None else T0 + datetime.timedelta(minutes=minutes)


# (display_name, created_at minute, host, launched_at minute)
ROWS = [
    ('alpha', 1, 'h1', 5), (None, 1, 'h2', None), ('beta', 2, 'h1', None),
    ('alpha', 3, None, 7), (None, 4, 'h1', 5), ('gamma', 4, 'h2', 9),
    ('beta', 5, None, None), ('alpha', 6, 'h2', 5), ('delta', 7, 'h1', 7),
]


@pytest.fixture
def listed(empty_dbs: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    url = empty_dbs['cell']
    made = [make_instance(url, display_name=n, created_at=_at(c), host=h,
                          launched_at=_at(launched))
            for n, c, h, launched in ROWS]
    return url, made


def _expected(rows: list[dict[str, Any]], keys: list[str], dirs: list[str]) -> list[str]:
    """Nova's order: NULL is the smallest value; uuid breaks ties in the last direction."""
    keys, dirs = [*keys, 'uuid'], [*dirs, dirs[-1]]

    def cmp(a: dict[str, Any], b: dict[str, Any]) -> int:
        for k, d in zip(keys, dirs, strict=True):
            x, y = a[k], b[k]
            if x == y:
                continue
            less = x is None or (y is not None and x < y)
            r = -1 if less else 1
            return r if d == 'asc' else -r
        return 0
    return [r['uuid'] for r in sorted(rows, key=functools.cmp_to_key(cmp))]


@pytest.mark.parametrize('keys, dirs, limit', [
    (['display_name'], ['asc'], 2),
    (['display_name', 'created_at'], ['desc', 'asc'], 3),
    (['host', 'launched_at'], ['asc', 'desc'], 2),
    (['launched_at', 'host'], ['desc', 'desc'], 4),
    (['created_at'], ['desc'], 1),
])
def test_pages_walk_every_server_once_in_sort_order(listed: Any, keys: list[str],
                                                     dirs: list[str], limit: int) -> None:
    url, made = listed
    expected = _expected(made, keys, dirs)
    whole = inst_db.get_all(url, {}, sort_keys=keys, sort_dirs=dirs)
    assert [i['uuid'] for i in whole] == expected
    seen: list[str] = []
    marker = None
    for _ in range(len(made) + 1):
        page = inst_db.get_all(url, {}, limit=limit, sort_keys=keys, sort_dirs=dirs,
                               marker=marker)
        if not page:
            break
        assert len(page) <= limit
        seen += [i['uuid'] for i in page]
        marker = page[-1]
    assert seen == expected


def test_default_order_is_newest_first(listed: Any) -> None:
    url, made = listed
    got = [i['uuid'] for i in inst_db.get_all(url, {})]
    assert got == _expected(made, ['created_at'], ['desc'])


def test_null_sorts_first_ascending_and_last_descending(listed: Any) -> None:
    url, _ = listed
    asc = inst_db.get_all(url, {}, sort_keys=['display_name'], sort_dirs=['asc'])
    desc = inst_db.get_all(url, {}, sort_keys=['display_name'], sort_dirs=['desc'])
    assert [i['display_name'] for i in asc[:2]] == [None, None]
    assert [i['display_name'] for i in desc[-2:]] == [None, None]


def test_name_filter_is_a_regex_and_falls_back_to_exact_match(empty_dbs: Any) -> None:
    url = empty_dbs['cell']
    for name in ('web-1', 'web-22', 'db-1', 'webby', 'a[b'):
        make_instance(url, display_name=name)
    got = inst_db.get_all(url, {'name': r'^web-\d+$'}, sort_keys=['display_name'],
                          sort_dirs=['asc'])
    assert [i['display_name'] for i in got] == ['web-1', 'web-22']
    assert [i['display_name'] for i in inst_db.get_all(url, {'name': 'a[b'})] == ['a[b']


def test_vm_state_list_and_project_filters(empty_dbs: Any) -> None:
    url = empty_dbs['cell']
    a = make_instance(url, vm_state='active', project_id='p1')
    e = make_instance(url, vm_state='error', project_id='p1')
    make_instance(url, vm_state='stopped', project_id='p1')
    make_instance(url, vm_state='active', project_id='p2')
    got = inst_db.get_all(url, {'vm_state': ['active', 'error'], 'project_id': 'p1'})
    assert {i['uuid'] for i in got} == {a['uuid'], e['uuid']}


def test_changes_since_includes_deleted_servers(empty_dbs: Any) -> None:
    url = empty_dbs['cell']
    long_ago = utils.utcnow() - datetime.timedelta(days=2)
    old = make_instance(url, updated_at=long_ago, vm_state='active')
    recent = make_instance(url, updated_at=utils.utcnow(), vm_state='active')
    gone = make_instance(url, updated_at=long_ago, vm_state='active')
    inst_db.destroy(url, gone['uuid'])
    assert {i['uuid'] for i in inst_db.get_all(url, {})} == {old['uuid'], recent['uuid']}
    since = (utils.utcnow() - datetime.timedelta(hours=1)).isoformat() + 'Z'
    got = {i['uuid']: i for i in inst_db.get_all(url, {'changes-since': since})}
    assert set(got) == {recent['uuid'], gone['uuid']}
    assert got[gone['uuid']]['vm_state'] == 'deleted'
    assert [i['uuid'] for i in inst_db.get_all(url, {'deleted': True})] == [gone['uuid']]


def test_error_listing_carries_latest_fault(empty_dbs: Any) -> None:
    url = empty_dbs['cell']
    bad = make_instance(url, vm_state='error')
    inst_db.fault_create(url, bad['uuid'], 500, 'first')
    inst_db.fault_create(url, bad['uuid'], 500, 'No valid host was found. ' + 'x' * 300)
    [got] = inst_db.get_all(url, {}, with_fault=True)
    assert got['fault']['message'].startswith('No valid host was found.')
    assert len(got['fault']['message']) == 255


# -- services.is_up ----------------------------------------------------------------

def _ago(seconds: float) -> datetime.datetime:
    return utils.utcnow() - datetime.timedelta(seconds=seconds)


def test_service_is_up_within_service_down_time(flags: Any) -> None:
    assert services.is_up({'last_seen_up': _ago(5), 'forced_down': False})
    assert not services.is_up({'last_seen_up': _ago(120), 'forced_down': False})
    flags('service_down_time', 300)
    assert services.is_up({'last_seen_up': _ago(120), 'forced_down': False})
    # A heartbeat that crossed RPC as an ISO string counts the same.
    assert services.is_up({'last_seen_up': _ago(10).isoformat(), 'forced_down': False})


def test_forced_down_or_never_seen_service_is_down() -> None:
    assert not services.is_up({'last_seen_up': utils.utcnow(), 'forced_down': True})
    assert not services.is_up({'last_seen_up': None, 'updated_at': None,
                               'created_at': None, 'forced_down': False})
    assert services.is_up({'last_seen_up': None, 'updated_at': _ago(1),
                           'forced_down': False})


def test_heartbeat_brings_a_stale_service_back_up(empty_dbs: Any) -> None:
    url = empty_dbs['cell']
    svc = services.get_or_create(url, 'h1', 'minova-compute', 'compute')
    services.update(url, svc['id'], {'last_seen_up': _ago(3600)})
    assert not services.is_up(services.get_by_id(url, svc['id']))
    services.heartbeat(url, svc['id'])
    row = services.get_by_id(url, svc['id'])
    assert services.is_up(row) and row['report_count'] == 1


# -- instance actions --------------------------------------------------------------

def test_event_success_leaves_action_message_empty(empty_dbs: Any) -> None:
    url = empty_dbs['cell']
    inst = make_instance(url)
    action_id = actions.action_start(url, inst['uuid'], 'reboot', 'req-1', 'u', 'p')
    actions.event_start(url, inst['uuid'], 'req-1', 'compute_reboot_instance', 'h1')
    [ev] = actions.events_get(url, action_id)
    assert ev['finish_time'] is None and ev['result'] is None and ev['host'] == 'h1'
    actions.event_finish(url, inst['uuid'], 'req-1', 'compute_reboot_instance')
    [ev] = actions.events_get(url, action_id)
    assert ev['result'] == 'Success' and ev['finish_time'] is not None
    assert actions.action_get_by_request_id(url, inst['uuid'], 'req-1')['message'] is None


def test_event_error_marks_the_action_and_keeps_traceback(empty_dbs: Any) -> None:
    url = empty_dbs['cell']
    inst = make_instance(url)
    actions.action_start(url, inst['uuid'], 'create', 'req-1', 'u', 'p')
    other = actions.action_start(url, inst['uuid'], 'stop', 'req-2', 'u', 'p')
    actions.event_start(url, inst['uuid'], 'req-1', 'compute_build_and_run_instance')
    actions.event_finish(url, inst['uuid'], 'req-1', 'compute_build_and_run_instance',
                         result='Error', exc_tb='Traceback: boom')
    action = actions.action_get_by_request_id(url, inst['uuid'], 'req-1')
    assert action['message'] == 'Error'
    [ev] = actions.events_get(url, action['id'])
    assert (ev['result'], ev['traceback']) == ('Error', 'Traceback: boom')
    assert actions.action_get_by_request_id(url, inst['uuid'], 'req-2')['message'] is None
    assert actions.events_get(url, other) == []


def test_event_finished_without_start_is_still_recorded(empty_dbs: Any) -> None:
    url = empty_dbs['cell']
    inst = make_instance(url)
    action_id = actions.action_start(url, inst['uuid'], 'create', 'req-1', 'u', 'p')
    actions.event_finish(url, inst['uuid'], 'req-1', 'conductor_schedule_and_build_instances',
                         result='Error', exc_tb='No valid host')
    [ev] = actions.events_get(url, action_id)
    assert ev['start_time'] is not None and ev['finish_time'] is not None
    assert ev['result'] == 'Error'


@pytest.mark.parametrize('flt, expected', [
    ({'tags': ['a']}, {'ab', 'a', 'abc'}),
    ({'tags': ['a', 'b']}, {'ab', 'abc'}),
    ({'tags-any': ['c', 'b']}, {'ab', 'abc'}),
    ({'not-tags': ['a', 'b']}, {'a', 'none', 'empty', 'c%', 'quote'}),
    ({'not-tags-any': ['a', 'c']}, {'none', 'empty', 'c%', 'quote'}),
    ({'tags': ['c%']}, {'c%'}),           # LIKE wildcards are literal
    ({'tags': ['c']}, {'abc'}),           # 'c' is not 'c%'
    ({'tags': ['x"y']}, {'quote'}),
    ({'tags': ['y']}, set()),             # no partial element match
])
def test_tag_filters(empty_dbs: Any, flt: dict[str, Any], expected: set[str]) -> None:
    url = empty_dbs['cell']
    for name, tags in (('ab', ['a', 'b']), ('a', ['a']), ('abc', ['c', 'b', 'a']),
                       ('none', None), ('empty', []), ('c%', ['c%']),
                       ('quote', ['x"y', 'z'])):
        make_instance(url, display_name=name, tags=tags)
    assert {i['display_name'] for i in inst_db.get_all(url, flt)} == expected


def test_regex_filters_match_the_column_text(empty_dbs: Any) -> None:
    """Nova matches the non-exact list filters as regexes on the column's text,
    numbers and timestamps included (2.83 filters)."""
    url = empty_dbs['cell']
    a = make_instance(url, config_drive='True', power_state=1, progress=100,
                      availability_zone='az-one', key_name='k1',
                      launched_at=datetime.datetime(2026, 3, 4, 5, 6, 7))
    b = make_instance(url, config_drive='', power_state=4, progress=0,
                      availability_zone='az-two', key_name='key2', launched_at=None)

    def got(regex: dict[str, str]) -> set[str]:
        return {i['uuid'] for i in inst_db.get_all(url, {'regex': regex})}

    assert got({'config_drive': 'True'}) == {a['uuid']}
    assert got({'power_state': '4'}) == {b['uuid']}
    assert got({'progress': '^100$'}) == {a['uuid']}
    assert got({'availability_zone': 'az-'}) == {a['uuid'], b['uuid']}
    assert got({'key_name': '^k1$', 'availability_zone': 'one'}) == {a['uuid']}
    assert got({'launched_at': '2026-03-04'}) == {a['uuid']}
    assert got({'launched_at': '2027'}) == set()
    assert got({'key_name': 'k[1'}) == set()           # bad pattern: exact text
    assert got({'no_such_column': 'x'}) == {a['uuid'], b['uuid']}
