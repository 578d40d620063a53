"""What the compute API refuses at the edge: text no database can store
(lone surrogates, NUL) and JSON nested too deep, as a 400 with Nova's body."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.api.conftest import FakeComputeAPI

IMAGE = '70a599e0-31e7-49b7-b260-868f441e862b'
BAD = '\ud800'


@pytest.fixture
def world(admin: Any, compute: FakeComputeAPI) -> dict[str, Any]:
    r = admin.post('/flavors', {'flavor': {'name': 'f1', 'ram': 64, 'vcpus': 1, 'disk': 1,
                                           'id': 'f1', 'os-flavor-access:is_public': False}})
    assert r.status_code == 200, r.text
    r = admin.post('/os-aggregates', {'aggregate': {'name': 'agg1'}})
    assert r.status_code == 200, r.text
    inst = compute.add(project_id='admin')
    return {'server': inst['uuid'], 'aggregate': r.json['aggregate']['id']}


def _server(**over: Any) -> dict[str, Any]:
    body = {'name': 'vm', 'imageRef': IMAGE, 'flavorRef': 'f1', 'networks': 'none'}
    body.update(over)
    return {'server': body}


def post_json(client: Any, method: str, path: str, body: Any) -> Any:
    """Send `body` as ASCII JSON: lone surrogates travel as \\ud800 escapes."""
    return client.request(method, path, body=json.dumps(body),
                          headers={'Content-Type': 'application/json'})


# (method, path, body, field named in the message); {server}/{aggregate} filled in.
CASES = [
    ('POST', '/servers', _server(name='x' + BAD), 'name'),
    ('POST', '/servers', _server(metadata={'k': BAD}), 'k'),
    ('POST', '/servers', _server(metadata={'k' + BAD: 'v'}), 'k\\ud800'),
    ('POST', '/servers', _server(description=BAD), 'description'),
    ('POST', '/servers', _server(flavorRef='f' + BAD), 'flavorRef'),
    ('POST', '/servers', _server(key_name='k' + BAD), 'key_name'),
    ('POST', '/servers', _server(name='a\x00b'), 'name'),
    ('PUT', '/servers/{server}', {'server': {'name': BAD}}, 'name'),
    ('PUT', '/servers/{server}', {'server': {'description': BAD}}, 'description'),
    ('POST', '/flavors', {'flavor': {'name': 'n' + BAD, 'ram': 1, 'vcpus': 1, 'disk': 0}},
     'name'),
    ('POST', '/flavors', {'flavor': {'name': 'n', 'ram': 1, 'vcpus': 1, 'disk': 0,
                                     'description': BAD}}, 'description'),
    ('PUT', '/flavors/f1', {'flavor': {'description': BAD}}, 'description'),
    ('POST', '/flavors/f1/os-extra_specs', {'extra_specs': {'k': BAD}}, 'k'),
    ('PUT', '/flavors/f1/os-extra_specs/k', {'k': BAD}, 'k'),
    ('POST', '/flavors/f1/action', {'addTenantAccess': {'tenant': BAD}}, 'tenant'),
    ('POST', '/os-aggregates', {'aggregate': {'name': BAD}}, 'name'),
    ('POST', '/os-aggregates', {'aggregate': {'name': 'a', 'availability_zone': BAD}},
     'availability_zone'),
    ('PUT', '/os-aggregates/{aggregate}', {'aggregate': {'name': BAD}}, 'name'),
    ('POST', '/os-aggregates/{aggregate}/action',
     {'set_metadata': {'metadata': {'k': BAD}}}, 'k'),
    ('POST', '/os-server-groups', {'server_group': {'name': BAD, 'policy': 'affinity'}},
     'name'),
    ('POST', '/os-keypairs', {'keypair': {'name': BAD}}, 'name'),
]


@pytest.mark.parametrize(('method', 'path', 'body', 'field'), CASES)
def test_unstorable_text_is_400(admin: Any, world: dict[str, Any], compute: FakeComputeAPI,
                                method: str, path: str, body: Any, field: str) -> None:
    r = post_json(admin, method, path.format(**world), body)
    assert r.status_code == 400, r.text
    message = r.json['badRequest']['message']
    assert message.startswith(f'Invalid input for field/attribute {field}. Value: '), message
    assert ('Lone surrogates' in message) or ('NUL characters' in message)
    assert compute.created == []


def test_surrogate_pairs_are_text(admin: Any, world: dict[str, Any],
                                  compute: FakeComputeAPI) -> None:
    # "\ud83d\ude00" is one character (U+1F600), not two lone surrogates.
    r = post_json(admin, 'POST', '/servers', _server(name='smile \U0001F600'))
    assert r.status_code == 202, r.text
    assert compute.created[0]['name'] == 'smile \U0001F600'


@pytest.mark.parametrize('path', ['/servers', '/flavors', '/os-aggregates',
                                  '/os-keypairs', '/servers/{server}/action'])
def test_deeply_nested_json_is_400(admin: Any, world: dict[str, Any], path: str) -> None:
    for depth in (100000, 900, 65):
        raw = '[' * depth + ']' * depth
        r = admin.request('POST', path.format(**world), body=raw,
                          headers={'Content-Type': 'application/json'})
        assert r.status_code == 400, (depth, r.text)
        assert r.json['badRequest']['message'] == (
            'Malformed request body: JSON nested deeper than 64 levels')


def test_nesting_within_the_limit_reaches_validation(admin: Any, world: dict[str, Any]
                                                      ) -> None:
    nested: Any = 'x'
    for _ in range(60):
        nested = {'k': nested}
    r = admin.post('/servers', _server(**{'os:scheduler_hints': nested}))
    assert r.status_code in (202, 400), r.text
    assert 'Malformed' not in r.text


def test_stored_surrogate_does_not_break_listing(user: Any, compute: FakeComputeAPI) -> None:
    # A server named before the API refused such names (its build request
    # stores JSON, which can hold "\ud800"): listings still answer, escaped.
    inst = compute.add(display_name='x' + BAD)
    for path in ('/servers', '/servers/detail', f"/servers/{inst['uuid']}"):
        r = user.get(path)
        assert r.status_code == 200, (path, r.text)
        assert '"x\\ud800"' in r.text
        assert json.loads(r.text)


def test_responses_are_ascii_json(admin: Any, compute: FakeComputeAPI) -> None:
    compute.add(display_name='caf\u00e9', project_id='admin')
    r = admin.get('/servers')
    assert '"caf\\u00e9"' in r.text and r.json['servers'][0]['name'] == 'caf\u00e9'


# ---- numbers past what a column holds, and counts below one ---------------------

HUGE = '99999999999999999999'


@pytest.mark.parametrize(('field', 'value'), [('ram', HUGE), ('disk', HUGE),
                                              ('vcpus', 2147483648), ('swap', HUGE),
                                              ('OS-FLV-EXT-DATA:ephemeral', HUGE)])
def test_flavor_numbers_are_bounded(admin: Any, dbs: dict[str, str], field: str,
                                    value: Any) -> None:
    flavor = {'name': 'big', 'ram': 64, 'vcpus': 1, 'disk': 1, field: value}
    r = admin.post('/flavors', {'flavor': flavor})
    assert r.status_code == 400, r.text
    assert r.json['badRequest']['message'] == (
        f'Invalid input for field/attribute {field}. Value: {value}. '
        f'{value!r} is greater than the maximum of 2147483647'.replace(f"'{value}'",
                                                                       str(value)))


def test_quota_values_are_bounded(admin: Any, dbs: dict[str, str]) -> None:
    r = admin.put('/os-quota-sets/p1', {'quota_set': {'instances': HUGE}})
    assert r.status_code == 400, r.text
    assert 'is greater than the maximum of 2147483647' in r.json['badRequest']['message']
    r = admin.put('/os-quota-sets/p1', {'quota_set': {'cores': '-2'}})
    assert r.status_code == 400, r.text
    assert admin.put('/os-quota-sets/p1', {'quota_set': {'cores': '7'}}).status_code == 200


@pytest.mark.parametrize(('method', 'suffix', 'body'), [
    ('GET', '', None), ('PUT', '', {'aggregate': {'name': 'x'}}), ('DELETE', '', None),
    ('POST', '/action', {'set_metadata': {'metadata': {'a': 'b'}}})])
def test_aggregate_id_past_any_row_is_404(admin: Any, dbs: dict[str, str], method: str,
                                          suffix: str, body: Any) -> None:
    r = admin.request(method, f'/os-aggregates/99999999999999999999999{suffix}', json=body)
    assert r.status_code == 404, r.text
    assert r.json['itemNotFound']['message'] == (
        'Aggregate 99999999999999999999999 could not be found.')


@pytest.mark.parametrize('path', [
    '/servers?limit=' + HUGE, '/servers/detail?limit=' + HUGE, '/flavors?limit=' + HUGE,
    '/flavors/detail?minRam=' + HUGE + '&minDisk=' + HUGE, '/os-keypairs?limit=' + HUGE,
    '/os-server-groups?limit=' + HUGE + '&offset=' + HUGE, '/os-hypervisors?limit=' + HUGE,
    '/os-server-groups?all_projects=1&limit=0'])
def test_huge_paging_values_answer(admin: Any, compute: FakeComputeAPI, path: str) -> None:
    r = admin.get(path)
    assert r.status_code == 200, r.text


def test_power_state_past_any_integer_matches_nothing(admin: Any, dbs: dict[str, str],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    # Not a cell failure (which would list the cell's servers as UNKNOWN).
    r = admin.get('/servers/detail?all_tenants=1&power_state=' + HUGE)
    assert r.status_code == 200 and r.json['servers'] == []
    assert not [rec for rec in caplog.records if 'failed' in rec.getMessage()]


def test_server_groups_limit_is_capped(admin: Any, dbs: dict[str, str]) -> None:
    for i in range(3):
        admin.post('/os-server-groups', {'server_group': {'name': f'g{i}',
                                                          'policy': 'affinity'}})
    assert len(admin.get('/os-server-groups?limit=' + HUGE).json['server_groups']) == 3
    assert admin.get('/os-server-groups?offset=' + HUGE).json['server_groups'] == []


@pytest.mark.parametrize('count', ['0', 0, '-1'])
def test_min_count_below_one_is_400(admin: Any, world: dict[str, Any],
                                    compute: FakeComputeAPI, count: Any) -> None:
    r = admin.post('/servers', _server(min_count=count))
    assert r.status_code == 400, r.text
    assert 'min_count' in r.json['badRequest']['message']
    r = admin.post('/servers', _server(max_count='0'))
    assert r.status_code == 400, r.text
    assert compute.created == []


# ---- times with offsets --------------------------------------------------------

def test_changes_since_with_an_offset(admin: Any, compute: FakeComputeAPI) -> None:
    r = admin.get('/servers?changes-since=2020-01-01T00:00:00-05:00'
                  '&changes-before=2021-01-01T00:00:00')
    assert r.status_code == 200, r.text
    filters = compute.get_all_calls[-1]['filters']
    import datetime
    assert filters['changes-since'] == datetime.datetime(2020, 1, 1, 5, 0)
    assert filters['changes-since'].tzinfo is None
    # 2020-01-01T02:00+05:00 is 2019-12-31T21:00 UTC, before changes-before.
    r = admin.get('/servers?changes-since=2020-01-01T02:00:00%2B05:00'
                  '&changes-before=2019-12-31T22:00:00')
    assert r.status_code == 200, r.text
    r = admin.get('/servers?changes-since=2020-01-01T00:00:00Z'
                  '&changes-before=2019-12-31T23:00:00%2B02:00')
    assert r.status_code == 400, r.text
    assert admin.get('/servers?changes-since=0001-01-01T00:00:00%2B05:00').status_code == 400


@pytest.mark.parametrize('path', ['/servers?name=a%00b', '/os-keypairs/k%00',
                                  '/flavors/f%00', '/servers/detail?a%00=1'])
def test_nul_in_the_url_is_400(admin: Any, dbs: dict[str, str], path: str) -> None:
    r = admin.get(path)
    assert r.status_code == 400, r.text
    assert r.json['badRequest']['message'].startswith('Invalid input in the URL: NUL')


def test_noauth_ids_longer_than_a_column_are_401(app: Any, dbs: dict[str, str]) -> None:
    from tests.unit.api.conftest import Client
    for token in ('u' * 256 + ':p', 'u:' + 'p' * 256):
        r = Client(app, token=token).post('/os-server-groups', {'server_group': {
            'name': 'g', 'policy': 'affinity'}})
        assert r.status_code == 401, r.text
        assert r.json['unauthorized']['code'] == 401
    r = Client(app, token='u' * 255 + ':' + 'p' * 255).post('/os-server-groups', {
        'server_group': {'name': 'g', 'policy': 'affinity'}})
    assert r.status_code == 200, r.text


def test_quota_set_for_a_project_id_no_column_holds(admin: Any, dbs: dict[str, str]) -> None:
    r = admin.put('/os-quota-sets/' + 'p' * 256, {'quota_set': {'instances': 5}})
    assert r.status_code == 400, r.text
    assert 'longer than 255 characters' in r.json['badRequest']['message']
