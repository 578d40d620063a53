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
