"""GET /v2/images with the filters openstackclient and openstacksdk send, as Glance answers."""
from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from minova.image import listing, wsgi
from minova.image.store import ImageStore

H = {'X-Auth-Token': 'demo:proj'}
OTHER = {'X-Auth-Token': 'bob:other'}
ADMIN = {'X-Auth-Token': 'admin:admin'}


@pytest.fixture
def client(tmp_path: Any) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(wsgi.make_app(ImageStore(str(tmp_path))))


def _create(client: falcon.testing.TestClient, headers: dict[str, str] = H,
            **body: Any) -> dict[str, Any]:
    r = client.simulate_post('/v2/images', headers=headers, json=dict(
        {'disk_format': 'raw', 'container_format': 'bare'}, **body))
    assert r.status_code == 201, r.text
    return r.json


def _ids(client: falcon.testing.TestClient, query: str = '', headers: dict[str, str] = H
         ) -> list[str]:
    r = client.simulate_get('/v2/images', headers=headers, query_string=query)
    assert r.status_code == 200, r.text
    return [i['id'] for i in r.json['images']]


def _400(client: falcon.testing.TestClient, query: str) -> str:
    r = client.simulate_get('/v2/images', headers=H, query_string=query)
    assert r.status_code == 400, (query, r.text)
    return r.json['description']


def test_id_in_lists_just_those_images(client: falcon.testing.TestClient) -> None:
    # What `openstack server list` asks to fill its Image column.
    a, b, c = (_create(client, name=n)['id'] for n in 'abc')
    assert sorted(_ids(client, f'id=in:{a},{c}')) == sorted([a, c])
    assert _ids(client, f'id=in:{b}') == [b]
    assert _ids(client, 'id=in:') == []
    assert _ids(client, f'id={a}') == [a]


def test_name_and_status_exact_in_and_eq(client: falcon.testing.TestClient) -> None:
    x = _create(client, name='x')['id']
    comma = _create(client, name='y,z')['id']
    assert _ids(client, 'name=x') == [x]
    assert _ids(client, 'name=eq:x') == [x]
    assert sorted(_ids(client, 'name=in:x,"y,z"')) == sorted([x, comma])
    assert sorted(_ids(client, 'status=queued')) == sorted([x, comma])
    assert _ids(client, 'status=active') == []
    assert sorted(_ids(client, 'status=in:active,queued')) == sorted([x, comma])
    assert 'quote is not closed' in _400(client, 'name=in:"x')


def test_visibility_owner_and_who_sees_what(client: falcon.testing.TestClient) -> None:
    public = _create(client, name='pub', visibility='public')['id']
    private = _create(client, name='priv', visibility='private')['id']
    shared = _create(client, name='sh')['id']          # Glance's default: shared
    community = _create(client, name='com', visibility='community')['id']
    theirs = _create(client, OTHER, name='theirs', visibility='private')['id']
    their_comm = _create(client, OTHER, name='c2', visibility='community')['id']
    # A project lists public images and its own, not others' community ones.
    assert sorted(_ids(client)) == sorted([public, private, shared, community])
    assert sorted(_ids(client, headers=OTHER)) == sorted([public, theirs, their_comm])
    assert _ids(client, 'visibility=public') == [public]
    assert _ids(client, 'visibility=private') == [private]
    assert _ids(client, 'visibility=shared') == [shared]
    assert sorted(_ids(client, 'visibility=community')) == sorted([community, their_comm])
    assert sorted(_ids(client, 'visibility=all')) == sorted(
        [public, private, shared, community, their_comm])
    assert sorted(_ids(client, 'owner=other', headers=ADMIN)) == sorted([theirs, their_comm])
    assert len(_ids(client, headers=ADMIN)) == 6
    # Another project's shared image (it has no members) is not found, as in Glance.
    assert client.simulate_get(f'/v2/images/{shared}', headers=OTHER).status_code == 404
    assert client.simulate_get(f'/v2/images/{their_comm}', headers=H).status_code == 200
    assert _400(client, 'visibility=everyone') == 'Invalid visibility value: everyone'
    assert _ids(client, 'visibility=shared&member_status=all') == [shared]
    assert _400(client, 'member_status=maybe') == 'Invalid status: maybe'


def test_tags_hidden_protected_sizes_and_properties(
        client: falcon.testing.TestClient) -> None:
    t1 = _create(client, name='t1', tags=['a', 'b'], os_distro='cirros')['id']
    t2 = _create(client, name='t2', tags=['a'], protected=True)['id']
    hidden = _create(client, name='h', os_hidden=True)['id']
    assert sorted(_ids(client, 'tag=a')) == sorted([t1, t2])
    assert _ids(client, 'tag=a&tag=b') == [t1]
    assert hidden not in _ids(client)
    assert _ids(client, 'os_hidden=true') == [hidden]
    assert 'os_hidden' in _400(client, 'os_hidden=perhaps')
    assert _ids(client, 'protected=true') == [t2]
    assert _ids(client, 'os_distro=cirros') == [t1]
    client.simulate_put(f'/v2/images/{t1}/file', body=b'x' * 10, headers=dict(
        H, **{'Content-Type': 'application/octet-stream'}))
    assert _ids(client, 'size_min=5') == [t1]
    assert _ids(client, 'size_max=5') == []
    assert _ids(client, 'created_at=gte:2000-01-01T00:00:00Z&name=t2') == [t2]
    assert _ids(client, 'created_at=lt:2000-01-01T00:00:00Z') == []


def test_sorting_and_paging(client: falcon.testing.TestClient) -> None:
    ids = {n: _create(client, name=n)['id'] for n in ('b', 'c', 'a')}
    assert _ids(client, 'sort_key=name&sort_dir=asc') == [ids['a'], ids['b'], ids['c']]
    assert _ids(client, 'sort=name:desc') == [ids['c'], ids['b'], ids['a']]
    assert _ids(client, 'sort=name:asc,status') == [ids['a'], ids['b'], ids['c']]
    assert _ids(client, 'sort_key=status&sort_key=name&sort_dir=asc&sort_dir=asc') == \
        [ids['a'], ids['b'], ids['c']]
    assert 'Invalid sort key: colour' in _400(client, 'sort_key=colour')
    assert _400(client, 'sort_dir=up') == 'Invalid sort direction: up'
    assert _400(client, 'sort=name&sort_key=name') == \
        'Old and new sorting syntax cannot be combined'
    assert 'does not match' in _400(
        client, 'sort_key=name&sort_key=id&sort_key=status&sort_dir=asc&sort_dir=desc')
    first = client.simulate_get('/v2/images', headers=H,
                                query_string='sort=name:asc&limit=2').json
    assert [i['name'] for i in first['images']] == ['a', 'b']
    second = client.simulate_get('/v2/images', headers=H,
                                 query_string=first['next'].split('?', 1)[1]).json
    assert [i['name'] for i in second['images']] == ['c'] and 'next' not in second
    assert _ids(client, f'sort=name:asc&marker={ids["b"]}') == [ids['c']]
    assert 'Invalid marker' in _400(client, 'marker=4f4a7b3e-0000-4000-8000-000000000000')
    assert _400(client, 'limit=-1') == 'limit param must be positive'
    assert _400(client, 'limit=x') == 'limit param must be an integer'


def test_split_in_quoting() -> None:
    assert listing.split_in('a, b,"c,d"') == ['a', 'b', 'c,d']
