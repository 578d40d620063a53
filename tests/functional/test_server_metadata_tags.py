"""/servers/{id}/metadata and /servers/{id}/tags on the all-in-one: Nova's
bodies, errors, the metadata_items quota, the lock and the 2.26 boundary."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.conftest import Client
from tests.functional.test_server_state_actions import _act, _boot, _conflict


@pytest.fixture
def alice(api_base: str) -> Client:
    return Client(api_base, token='alice:project-srvmeta')


@pytest.fixture
def server(admin: Client, alice: Client, tiny_flavor: dict) -> Iterator[str]:
    server_id = _boot(alice, 'meta-vm')
    yield server_id
    admin.delete(f'/servers/{server_id}')
    admin.wait_gone(server_id)


def test_metadata_crud(alice: Client, server: str) -> None:
    url = f'/servers/{server}/metadata'
    assert alice.get(url).json() == {'metadata': {}}
    r = alice.post(url, {'metadata': {'a': '1', 'b': '2'}})
    assert r.status_code == 200 and r.json() == {'metadata': {'a': '1', 'b': '2'}}
    r = alice.post(url, {'metadata': {'b': '3', 'c': '4'}})
    assert r.json() == {'metadata': {'a': '1', 'b': '3', 'c': '4'}}
    assert alice.get(f'{url}/b').json() == {'meta': {'b': '3'}}
    r = alice.put(f'{url}/d', {'meta': {'d': '5'}})
    assert r.status_code == 200 and r.json() == {'meta': {'d': '5'}}
    server_body = alice.get(f'/servers/{server}').json()['server']
    assert server_body['metadata'] == {'a': '1', 'b': '3', 'c': '4', 'd': '5'}
    r = alice.put(url, {'metadata': {'x': 'y'}})
    assert r.status_code == 200 and r.json() == {'metadata': {'x': 'y'}}
    assert alice.delete(f'{url}/x').status_code == 204
    assert alice.get(url).json() == {'metadata': {}}


def test_metadata_errors(alice: Client, server: str) -> None:
    url = f'/servers/{server}/metadata'
    for path in (f'{url}/nope',):
        for method in ('get', 'delete'):
            r = getattr(alice, method)(path)
            assert r.status_code == 404, r.text
            assert r.json()['itemNotFound']['message'] == 'Metadata item was not found'
    r = alice.put(f'{url}/a', {'meta': {'b': '1'}})
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'Request body and URI mismatch'
    for bad in ({'meta': {}}, {'meta': {'a': '1', 'b': '2'}}, {'meta': {'a': 1}}):
        assert alice.put(f'{url}/a', bad).status_code == 400, bad
    for bad in ({}, {'metadata': {'a/b': '1'}}, {'metadata': {'a': 'x' * 256}},
                {'metadata': []}):
        assert alice.post(url, bad).status_code == 400, bad
        assert alice.put(url, bad).status_code == 400, bad
    missing = '/servers/f1b7c8a2-0000-4000-8000-000000000000/metadata'
    assert alice.get(missing).status_code == 404


def test_metadata_quota(admin: Client, alice: Client, server: str) -> None:
    url = f'/servers/{server}/metadata'
    r = admin.put('/os-quota-sets/project-srvmeta', {'quota_set': {'metadata_items': 2}})
    assert r.status_code == 200, r.text
    try:
        assert alice.post(url, {'metadata': {'a': '1', 'b': '2'}}).status_code == 200
        r = alice.post(url, {'metadata': {'c': '3'}})
        assert r.status_code == 403, r.text
        assert r.json()['forbidden']['message'] == (
            'Maximum number of metadata items exceeds 2')
        assert alice.put(f'{url}/c', {'meta': {'c': '3'}}).status_code == 403
        # Replacing within the limit, and updating a key there already, are fine.
        assert alice.put(f'{url}/a', {'meta': {'a': '9'}}).status_code == 200
        assert alice.put(url, {'metadata': {'x': '1', 'y': '2'}}).status_code == 200
    finally:
        admin.put('/os-quota-sets/project-srvmeta', {'quota_set': {'metadata_items': 128}})


def test_metadata_of_a_locked_server(admin: Client, alice: Client, server: str) -> None:
    url = f'/servers/{server}/metadata'
    assert alice.post(url, {'metadata': {'a': '1'}}).status_code == 200
    assert _act(admin, server, {'lock': None}).status_code == 202
    locked = f'Instance {server} is locked'
    assert _conflict(alice.post(url, {'metadata': {'b': '1'}})) == locked
    assert _conflict(alice.put(url, {'metadata': {}})) == locked
    assert _conflict(alice.put(f'{url}/a', {'meta': {'a': '2'}})) == locked
    assert _conflict(alice.delete(f'{url}/a')) == locked
    assert alice.get(url).json() == {'metadata': {'a': '1'}}   # reads are fine
    assert admin.post(url, {'metadata': {'b': '2'}}).status_code == 200
    assert _act(admin, server, {'unlock': None}).status_code == 202


def test_metadata_and_tags_refused_in_error(admin: Client, alice: Client,
                                            server: str) -> None:
    assert _act(admin, server, {'os-resetState': {'state': 'error'}}).status_code == 202
    assert _conflict(alice.post(f'/servers/{server}/metadata', {'metadata': {'a': '1'}})) \
        == f"Cannot 'update metadata' instance {server} while it is in vm_state error"
    assert _conflict(alice.put(f'/servers/{server}/tags/t1')) == (
        f"Cannot 'update tag' instance {server} while it is in vm_state error")
    assert _conflict(alice.put(f'/servers/{server}/tags', {'tags': ['a']})) == (
        f"Cannot 'update tags' instance {server} while it is in vm_state error")


def test_tags(alice: Client, server: str) -> None:
    url = f'/servers/{server}/tags'
    old = Client(alice.base, token='alice:project-srvmeta', microversion='2.25')
    assert old.get(url).status_code == 404
    assert old.put(f'{url}/x').status_code == 404
    assert alice.get(url).json() == {'tags': []}
    r = alice.put(f'{url}/blue')
    assert r.status_code == 201, r.text
    assert r.headers['Location'].endswith(f'/servers/{server}/tags/blue')
    assert alice.put(f'{url}/blue').status_code == 204
    assert alice.get(f'{url}/blue').status_code == 204
    r = alice.get(f'{url}/red')
    assert r.status_code == 404
    assert r.json()['itemNotFound']['message'] == f"Server {server} has no tag 'red'"
    r = alice.put(url, {'tags': ['b', 'a', 'b']})
    assert r.status_code == 200 and r.json() == {'tags': ['a', 'b']}
    assert alice.get(f'/servers/{server}').json()['server']['tags'] == ['a', 'b']
    listed = alice.get('/servers?tags=a').json()['servers']
    assert server in [s['id'] for s in listed]
    assert alice.delete(f'{url}/a').status_code == 204
    r = alice.delete(f'{url}/a')
    assert r.status_code == 404
    assert r.json()['itemNotFound']['message'] == f"Instance {server} has no tag 'a'"
    assert alice.delete(url).status_code == 204
    assert alice.get(url).json() == {'tags': []}


def test_tag_limits(alice: Client, server: str) -> None:
    url = f'/servers/{server}/tags'
    assert alice.put(url, {'tags': ['x' * 61]}).status_code == 400
    assert alice.put(url, {'tags': ['a,b']}).status_code == 400
    assert alice.put(url, {'tags': ['a/b']}).status_code == 400
    assert alice.put(url, {'tags': ['']}).status_code == 400
    assert alice.put(url, {'tags': [str(i) for i in range(51)]}).status_code == 400
    r = alice.put(f'{url}/{"x" * 61}')
    assert r.status_code == 400
    assert r.json()['badRequest']['message'].startswith(
        f"Tag '{'x' * 61}' is invalid. It must be a non empty string without characters "
        "'/' and ','. Validation error message: ")
    assert alice.put(f'{url}/a%2Cb').status_code == 400
    assert alice.put(f'{url}/a', {}).status_code == 400   # the body must be null
    assert alice.put(url, {'tags': [str(i) for i in range(50)]}).status_code == 200
    r = alice.put(f'{url}/one-more')
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == (
        'The number of tags exceeded the per-server limit 50')


def test_server_password(alice: Client, server: str) -> None:
    from minova.cells import lookup, mappings
    from minova.db import instances
    url = f'/servers/{server}/os-server-password'
    assert alice.get(url).json() == {'password': ''}
    # What the metadata service stores when the guest posts its encrypted password.
    cell = lookup.get_by_id(mappings.instance_mapping_get(server)['cell_id'])
    db = cell['database_connection']
    sysmeta = dict(instances.get(db, server)['system_metadata'] or {})
    sysmeta.update({'password_0': 'a' * 255, 'password_1': 'b' * 10})
    instances.update(db, server, {'system_metadata': sysmeta})
    assert alice.get(url).json() == {'password': 'a' * 255 + 'b' * 10}
    assert alice.delete(url).status_code == 204
    assert alice.get(url).json() == {'password': ''}
    other = Client(alice.base, token='bob:project-other')
    assert other.get(url).status_code == 404
