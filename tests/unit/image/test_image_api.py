"""The embedded Image service v2 API, through falcon's test client."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import falcon.testing
import pytest

from minova.image import wsgi
from minova.image.store import ImageStore

H = {'X-Auth-Token': 'demo:proj'}


@pytest.fixture
def client(tmp_path: Any) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(wsgi.make_app(ImageStore(str(tmp_path))))


def _create(client: falcon.testing.TestClient, **body: Any) -> dict[str, Any]:
    r = client.simulate_post('/v2/images', headers=H, json=dict(
        {'name': 'img', 'disk_format': 'raw', 'container_format': 'bare'}, **body))
    assert r.status_code == 201, r.text
    return r.json


def test_version_document_lists_v2(client: falcon.testing.TestClient) -> None:
    r = client.simulate_get('/')
    assert r.status_code == 300
    ids = [v['id'] for v in r.json['versions']]
    assert 'v2.0' in ids and all(i.startswith('v2.') for i in ids)
    assert r.headers['x-openstack-request-id'].startswith('req-')


def test_create_upload_download_delete(client: falcon.testing.TestClient) -> None:
    image = _create(client, min_disk=1, kernel_id='k-1')
    assert image['status'] == 'queued' and image['owner'] == 'proj'
    assert image['kernel_id'] == 'k-1' and image['file'].endswith('/file')
    data = b'x' * 4096
    r = client.simulate_put(f'/v2/images/{image["id"]}/file', headers=dict(
        H, **{'Content-Type': 'application/octet-stream'}), body=data)
    assert r.status_code == 204
    shown = client.simulate_get(f'/v2/images/{image["id"]}', headers=H).json
    assert shown['status'] == 'active' and shown['size'] == 4096
    assert shown['checksum'] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert shown['os_hash_value'] == hashlib.sha512(data).hexdigest()
    assert shown['virtual_size'] in (None, 4096)
    r = client.simulate_get(f'/v2/images/{image["id"]}/file', headers=H)
    assert r.status_code == 200 and r.content == data
    # A second upload is refused: the image is no longer queued.
    r = client.simulate_put(f'/v2/images/{image["id"]}/file', headers=dict(
        H, **{'Content-Type': 'application/octet-stream'}), body=b'y')
    assert r.status_code == 409
    # No import tasks (Glance 2.12's /tasks): an empty list, as for an uploaded image.
    assert client.simulate_get(f'/v2/images/{image["id"]}/tasks',
                               headers=H).json == {'tasks': []}
    assert client.simulate_delete(f'/v2/images/{image["id"]}', headers=H).status_code == 204
    assert client.simulate_get(f'/v2/images/{image["id"]}', headers=H).status_code == 404
    assert client.simulate_get(f'/v2/images/{image["id"]}/tasks', headers=H).status_code == 404


def test_list_filters_and_pages(client: falcon.testing.TestClient) -> None:
    ids = [_create(client, name=f'n{i}')['id'] for i in range(3)]
    r = client.simulate_get('/v2/images', headers=H, params={'name': 'n1'})
    assert [i['id'] for i in r.json['images']] == [ids[1]]
    page = client.simulate_get('/v2/images', headers=H, params={'limit': '2'}).json
    assert len(page['images']) == 2 and 'next' in page
    rest = client.simulate_get('/v2/images', headers=H, query_string=page['next'].split('?')[1])
    assert len(rest.json['images']) == 1 and 'next' not in rest.json


def test_private_images_are_hidden_from_other_projects(
        client: falcon.testing.TestClient) -> None:
    image = _create(client, visibility='private')
    other = {'X-Auth-Token': 'u2:other'}
    assert client.simulate_get(f'/v2/images/{image["id"]}', headers=other).status_code == 404
    assert client.simulate_get(f'/v2/images/{image["id"]}',
                               headers={'X-Auth-Token': 'admin'}).status_code == 200


def test_patch_updates_properties(client: falcon.testing.TestClient) -> None:
    image = _create(client)
    r = client.simulate_patch(
        f'/v2/images/{image["id"]}', headers=dict(
            H, **{'Content-Type': 'application/openstack-images-v2.1-json-patch'}),
        body=json.dumps([{'op': 'replace', 'path': '/name', 'value': 'renamed'},
                         {'op': 'add', 'path': '/os_distro', 'value': 'debian'}]))
    assert r.status_code == 200, r.text
    assert r.json['name'] == 'renamed' and r.json['os_distro'] == 'debian'
    r = client.simulate_patch(
        f'/v2/images/{image["id"]}', headers=dict(
            H, **{'Content-Type': 'application/openstack-images-v2.1-json-patch'}),
        body=json.dumps([{'op': 'replace', 'path': '/status', 'value': 'active'}]))
    assert r.status_code == 403


@pytest.mark.parametrize('body', [
    {'disk_format': 'floppy'}, {'container_format': 'zip'}, {'min_ram': -1},
    {'visibility': 'everyone'}, {'protected': 'yes'}, {'os_distro': 5}, {'id': 'nope'},
])
def test_bad_input_is_a_400(client: falcon.testing.TestClient, body: dict[str, Any]) -> None:
    r = client.simulate_post('/v2/images', headers=H, json=dict({'name': 'x'}, **body))
    assert r.status_code == 400, r.text


def test_read_only_fields_and_missing_formats(client: falcon.testing.TestClient) -> None:
    r = client.simulate_post('/v2/images', headers=H, json={'name': 'x', 'size': 5})
    assert r.status_code == 403
    image = client.simulate_post('/v2/images', headers=H, json={'name': 'x'}).json
    r = client.simulate_put(f'/v2/images/{image["id"]}/file', headers=dict(
        H, **{'Content-Type': 'application/octet-stream'}), body=b'data')
    assert r.status_code == 400


def test_schema_says_extra_properties_are_strings(client: falcon.testing.TestClient) -> None:
    schema = client.simulate_get('/v2/schemas/image', headers=H).json
    assert schema['name'] == 'image'
    assert schema['additionalProperties'] == {'type': 'string'}
    assert 'disk_format' in schema['properties']
