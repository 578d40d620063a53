"""Flavors: CRUD, listing filters and paging, extra specs, access, policy."""
from __future__ import annotations

from typing import Any

import pytest

TINY = {'name': 'm1.tiny', 'ram': 512, 'vcpus': 1, 'disk': 1, 'id': '1'}


def make(admin: Any, **body: Any) -> dict[str, Any]:
    r = admin.post('/flavors', {'flavor': dict(TINY, **body)})
    assert r.status_code == 200, r.text
    return r.json['flavor']


def test_create_show_delete(admin: Any) -> None:
    f = make(admin, description='small one')
    assert f['id'] == '1' and f['ram'] == 512 and f['disk'] == 1 and f['swap'] == 0
    assert f['description'] == 'small one' and f['extra_specs'] == {}
    assert f['os-flavor-access:is_public'] is True
    assert 'rxtx_factor' not in f  # removed at 2.102
    assert f['links'][0]['rel'] == 'self' and f['links'][0]['href'].endswith('/v2.1/flavors/1')
    r = admin.get('/flavors/1', version='2.1')
    assert r.status_code == 200
    old = r.json['flavor']
    assert old['rxtx_factor'] == 1.0 and old['OS-FLV-DISABLED:disabled'] is False
    assert old['swap'] == '' and 'description' not in old and 'extra_specs' not in old
    assert admin.delete('/flavors/1').status_code == 202
    r = admin.get('/flavors/1')
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == 'Flavor 1 could not be found.'


def test_auto_id_when_absent_or_null(admin: Any) -> None:
    f = admin.post('/flavors', {'flavor': {'name': 'a', 'ram': 1, 'vcpus': 1, 'disk': 0,
                                           'id': None}}).json['flavor']
    assert len(f['id']) == 36
    f = admin.post('/flavors', {'flavor': {'name': 'b', 'ram': 1, 'vcpus': 1,
                                           'disk': 0}}).json['flavor']
    assert len(f['id']) == 36


def test_duplicates_are_409(admin: Any) -> None:
    make(admin)
    r = admin.post('/flavors', {'flavor': dict(TINY, id='2')})
    assert r.status_code == 409
    assert r.json['conflictingRequest']['message'] == \
        'Flavor with name m1.tiny already exists.'
    r = admin.post('/flavors', {'flavor': dict(TINY, name='other')})
    assert r.status_code == 409
    assert r.json['conflictingRequest']['message'] == 'Flavor with ID 1 already exists.'


@pytest.mark.parametrize('change', [
    {'ram': -1}, {'ram': 0}, {'vcpus': 'many'}, {'disk': -5}, {'name': ''},
    {'name': ' padded'}, {'swap': 1.5}, {'unknown': 1}, {'os-flavor-access:is_public': 'x'},
])
def test_bad_input_is_400(admin: Any, change: dict[str, Any]) -> None:
    r = admin.post('/flavors', {'flavor': dict(TINY, **change)})
    assert r.status_code == 400, r.text
    assert r.json['badRequest']['code'] == 400


def test_bad_input_message(admin: Any) -> None:
    r = admin.post('/flavors', {'flavor': dict(TINY, ram=-1)})
    msg = r.json['badRequest']['message']
    assert msg.startswith('Invalid input for field/attribute ram. Value: -1.')
    r = admin.post('/flavors', {'flavor': {'name': 'x'}})
    assert "'ram' is a required property" in r.json['badRequest']['message']


def test_description_needs_255(admin: Any) -> None:
    r = admin.post('/flavors', {'flavor': dict(TINY, description='d')}, version='2.54')
    assert r.status_code == 400
    make(admin)
    r = admin.put('/flavors/1', {'flavor': {'description': 'new'}})
    assert r.status_code == 200 and r.json['flavor']['description'] == 'new'
    assert admin.put('/flavors/1', {'flavor': {'description': 'x'}},
                     version='2.54').status_code == 404


def test_non_admin_cannot_manage(admin: Any, user: Any) -> None:
    r = user.post('/flavors', {'flavor': TINY})
    assert r.status_code == 403
    assert r.json['forbidden']['message'] == \
        "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed."
    make(admin)
    assert user.delete('/flavors/1').status_code == 403
    assert user.get('/flavors/1').status_code == 200


def test_list_filters_sort_and_paging(admin: Any) -> None:
    for i, ram in enumerate([512, 1024, 2048, 4096], start=1):
        make(admin, id=str(i), name=f'f{i}', ram=ram, disk=i * 10)
    r = admin.get('/flavors/detail?minRam=1024&minDisk=30')
    assert [f['id'] for f in r.json['flavors']] == ['3', '4']
    r = admin.get('/flavors?sort_key=memory_mb&sort_dir=desc')
    assert [f['id'] for f in r.json['flavors']] == ['4', '3', '2', '1']
    r = admin.get('/flavors?limit=2')
    assert [f['id'] for f in r.json['flavors']] == ['1', '2']
    nxt = r.json['flavors_links'][0]
    assert nxt['rel'] == 'next' and 'marker=2' in nxt['href'] and 'limit=2' in nxt['href']
    r = admin.get('/flavors?limit=2&marker=2')
    assert [f['id'] for f in r.json['flavors']] == ['3', '4']
    r = admin.get('/flavors?marker=nope')
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == 'marker [nope] not found'
    assert admin.get('/flavors?minRam=abc').status_code == 400
    assert admin.get('/flavors?name=f2').json['flavors'][0]['id'] == '2'
    r = admin.get('/flavors?bogus=1')
    assert r.status_code == 400
    assert admin.get('/flavors?bogus=1', version='2.74').status_code == 200


def test_private_flavors_and_access(admin: Any, user: Any, other: Any) -> None:
    make(admin, id='p', name='private', **{'os-flavor-access:is_public': False})
    assert user.get('/flavors/p').status_code == 404
    assert [f['id'] for f in user.get('/flavors').json['flavors']] == []
    r = admin.post('/flavors/p/action', {'addTenantAccess': {'tenant': 'proj-a'}})
    assert r.status_code == 200
    assert r.json == {'flavor_access': [{'flavor_id': 'p', 'tenant_id': 'proj-a'}]}
    assert user.get('/flavors/p').status_code == 200
    assert [f['id'] for f in user.get('/flavors').json['flavors']] == ['p']
    assert other.get('/flavors/p').status_code == 404
    assert admin.get('/flavors/p/os-flavor-access').json['flavor_access'][0]['tenant_id'] \
        == 'proj-a'
    assert admin.get('/flavors?is_public=none').json['flavors'][0]['id'] == 'p'
    r = admin.post('/flavors/p/action', {'removeTenantAccess': {'tenant': 'proj-a'}})
    assert r.json == {'flavor_access': []}
    make(admin)
    r = admin.post('/flavors/1/action', {'addTenantAccess': {'tenant': 'proj-a'}})
    assert r.status_code == 409


def test_extra_specs(admin: Any, user: Any) -> None:
    make(admin)
    r = admin.post('/flavors/1/os-extra_specs',
                   {'extra_specs': {'hw:cpu_policy': 'shared', 'hw:numa_nodes': 1}})
    assert r.status_code == 200
    assert r.json == {'extra_specs': {'hw:cpu_policy': 'shared', 'hw:numa_nodes': '1'}}
    assert user.get('/flavors/1/os-extra_specs').json['extra_specs']['hw:numa_nodes'] == '1'
    assert admin.get('/flavors/1/os-extra_specs/hw:cpu_policy').json == \
        {'hw:cpu_policy': 'shared'}
    r = admin.put('/flavors/1/os-extra_specs/hw:cpu_policy', {'hw:cpu_policy': 'dedicated'})
    assert r.status_code == 200 and r.json == {'hw:cpu_policy': 'dedicated'}
    r = admin.put('/flavors/1/os-extra_specs/a', {'b': 'c'})
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == 'Request body and URI mismatch'
    assert admin.get('/flavors/1').json['flavor']['extra_specs'] == {
        'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '1'}
    assert 'extra_specs' not in admin.get('/flavors/1', version='2.60').json['flavor']
    assert admin.delete('/flavors/1/os-extra_specs/hw:numa_nodes').status_code == 200
    r = admin.get('/flavors/1/os-extra_specs/hw:numa_nodes')
    assert r.status_code == 404
    assert user.post('/flavors/1/os-extra_specs',
                     {'extra_specs': {'a': 'b'}}).status_code == 403
    r = admin.post('/flavors/1/os-extra_specs', {'extra_specs': {'bad/key': 'x'}})
    assert r.status_code == 400
