"""Bad requests get a clear 4xx with Nova's error body, never a 500."""
from __future__ import annotations

import pytest

from minova.image.builtin import TINY_IMAGE_ID

IMAGE = TINY_IMAGE_ID   # the all-in-one's built-in image (minova-tiny)


def _server(**over):
    body = {'name': 'x', 'flavorRef': 'tiny', 'imageRef': IMAGE, 'networks': 'none'}
    body.update(over)
    return {'server': body}


def test_malformed_json(admin, tiny_flavor):
    r = admin.request('POST', '/servers', data='{"server": ',
                      headers={'Content-Type': 'application/json'})
    assert r.status_code == 400
    assert r.json()['badRequest']['code'] == 400


@pytest.mark.parametrize('body', [
    _server(flavorRef='no-such-flavor'),
    _server(imageRef='not-a-uuid'),
    _server(name=5),
    _server(min_count='many'),
    {'server': {'flavorRef': 'tiny', 'imageRef': IMAGE, 'networks': 'none'}},
    {'nothing': {}},
])
def test_bad_server_bodies(admin, tiny_flavor, body):
    r = admin.post('/servers', body)
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message']


def test_unknown_server_is_404(admin):
    r = admin.get('/servers/7d8d0c3c-0d0c-4b4c-9b4e-2d7c2b0c2a11')
    assert r.status_code == 404
    assert r.json()['itemNotFound']['code'] == 404
    assert admin.get('/servers/not-a-uuid').status_code == 404


def test_unsupported_microversion(api_base):
    from tests.functional.conftest import Client
    r = Client(api_base, microversion='2.999').get('/servers')
    assert r.status_code == 406
    r = Client(api_base, microversion='1.1').get('/servers')
    assert r.status_code == 406


def test_missing_token_is_401(api_base):
    import requests
    assert requests.get(api_base + '/servers', timeout=10).status_code == 401


def test_over_quota(api_base, admin, tiny_flavor):
    from tests.functional.conftest import Client
    greedy = Client(api_base, token='greedy:project-q')
    r = greedy.post('/servers', _server(min_count=50, max_count=50))
    assert r.status_code == 403, r.text
    msg = r.json()['forbidden']['message']
    assert msg.startswith('Quota exceeded for ') and 'instances' in msg


def test_non_admin_cannot_create_flavor(api_base):
    from tests.functional.conftest import Client
    r = Client(api_base, token='carol:project-c').post(
        '/flavors', {'flavor': {'name': 'f', 'vcpus': 1, 'ram': 1, 'disk': 0}})
    assert r.status_code == 403
    assert r.json()['forbidden']['code'] == 403
