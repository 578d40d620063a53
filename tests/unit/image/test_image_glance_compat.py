"""What Cinder's glanceclient reads from the image endpoint to make a volume
from an image: the version document, the image schema, the image and its
bytes, with no token at all when Cinder runs under noauth."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from minova.conf import CONF
from minova.conf import api as api_conf
from minova.image import wsgi
from minova.image.store import ImageStore

OWNER = {'X-Auth-Token': 'demo:proj'}
OTHER = {'X-Auth-Token': 'eve:other'}
DATA = b'\x01\x02' * 2048


def _private_image(client: falcon.testing.TestClient) -> dict[str, Any]:
    r = client.simulate_post('/v2/images', headers=OWNER, json={
        'name': 'p', 'disk_format': 'raw', 'container_format': 'bare',
        'visibility': 'private'})
    assert r.status_code == 201, r.text
    image: dict[str, Any] = r.json
    r = client.simulate_put(f'/v2/images/{image["id"]}/file', body=DATA, headers=dict(
        OWNER, **{'Content-Type': 'application/octet-stream'}))
    assert r.status_code == 204, r.text
    return image


@pytest.fixture
def noauth(tmp_path: Any) -> falcon.testing.TestClient:
    """The app as make_service_app serves it without Keystone."""
    return falcon.testing.TestClient(wsgi.make_app(ImageStore(str(tmp_path)),
                                                   anonymous_reads=True))


def test_versions_and_schema_without_a_token(noauth: falcon.testing.TestClient) -> None:
    for path in ('/', '/versions'):
        r = noauth.simulate_get(path)
        assert r.status_code in (200, 300)
        assert 'v2.0' in [v['id'] for v in r.json['versions']]
    r = noauth.simulate_get('/v2/schemas/image')
    assert r.status_code == 200
    props = r.json['properties']
    for base in ('id', 'name', 'status', 'disk_format', 'container_format', 'size',
                 'virtual_size', 'min_disk', 'min_ram', 'visibility', 'checksum', 'owner',
                 'protected', 'created_at', 'updated_at', 'tags'):
        assert base in props, base
    assert r.json['additionalProperties'] == {'type': 'string'}


def test_tokenless_reads_see_a_projects_private_image(
        noauth: falcon.testing.TestClient) -> None:
    image = _private_image(noauth)
    r = noauth.simulate_get(f'/v2/images/{image["id"]}')
    assert r.status_code == 200 and r.json['owner'] == 'proj'
    assert r.json['status'] == 'active' and r.json['size'] == len(DATA)
    r = noauth.simulate_get(f'/v2/images/{image["id"]}/file')
    assert r.status_code == 200 and r.content == DATA
    listed = noauth.simulate_get('/v2/images').json['images']
    assert image['id'] in [i['id'] for i in listed]


def test_a_token_still_sees_only_what_its_project_may(
        noauth: falcon.testing.TestClient) -> None:
    image = _private_image(noauth)
    assert noauth.simulate_get(f'/v2/images/{image["id"]}', headers=OTHER).status_code == 404
    r = noauth.simulate_get(f'/v2/images/{image["id"]}/file', headers=OTHER)
    assert r.status_code == 404
    listed = noauth.simulate_get('/v2/images', headers=OTHER).json['images']
    assert image['id'] not in [i['id'] for i in listed]
    assert noauth.simulate_get(f'/v2/images/{image["id"]}', headers=OWNER).status_code == 200


def test_tokenless_writes_are_not_an_administrators(
        noauth: falcon.testing.TestClient) -> None:
    image = _private_image(noauth)
    r = noauth.simulate_delete(f'/v2/images/{image["id"]}')
    assert r.status_code == 404
    r = noauth.simulate_patch(
        f'/v2/images/{image["id"]}',
        body=json.dumps([{'op': 'replace', 'path': '/name', 'value': 'x'}]),
        headers={'Content-Type': wsgi.PATCH_TYPE})
    assert r.status_code == 404
    assert noauth.simulate_get(f'/v2/images/{image["id"]}').json['name'] == 'p'


def test_without_anonymous_reads_a_tokenless_read_is_nobodys(tmp_path: Any) -> None:
    client = falcon.testing.TestClient(wsgi.make_app(ImageStore(str(tmp_path))))
    image = _private_image(client)
    assert client.simulate_get(f'/v2/images/{image["id"]}').status_code == 404
    assert client.simulate_get('/v2/schemas/image').status_code == 200


@pytest.fixture
def keystone_conf() -> Iterator[None]:
    api_conf.register_authtoken_opts(CONF)
    CONF.set_override('auth_strategy', 'keystone', group='api')
    CONF.set_override('www_authenticate_uri', 'http://keystone.example:5000/',
                      group='keystone_authtoken')
    yield
    CONF.clear_override('auth_strategy', group='api')
    CONF.clear_override('www_authenticate_uri', group='keystone_authtoken')


def test_service_app_behind_keystone_refuses_tokenless_reads(
        tmp_path: Any, keystone_conf: None) -> None:
    store = ImageStore(str(tmp_path))
    image = store.create({'name': 'p', 'visibility': 'private', 'disk_format': 'raw',
                          'container_format': 'bare'}, owner='proj')
    client = falcon.testing.TestClient(wsgi.make_service_app(store))
    for path in (f'/v2/images/{image["id"]}', '/v2/images', '/v2/schemas/image'):
        assert client.simulate_get(path).status_code == 401, path
    assert client.simulate_get('/versions').status_code == 200


def test_service_app_without_keystone_serves_tokenless_reads(tmp_path: Any) -> None:
    store = ImageStore(str(tmp_path))
    image = store.create({'name': 'p', 'visibility': 'private', 'disk_format': 'raw',
                          'container_format': 'bare'}, owner='proj')
    client = falcon.testing.TestClient(wsgi.make_service_app(store))
    assert client.simulate_get(f'/v2/images/{image["id"]}').status_code == 200
