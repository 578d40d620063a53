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


def test_regex_name_filter_does_not_stall_the_process(api_base, tiny_flavor):
    """`^(a+)+$` against `aaa...!` is exponential for a backtracking engine; the
    filter runs on RE2, and a request sent meanwhile is answered at once."""
    import threading
    import time

    import requests

    from tests.functional.conftest import Client
    member = Client(api_base, token='rx:project-rx')
    r = member.post('/servers', _server(name='a' * 28 + '!'))
    assert r.status_code == 202, r.text
    server_id = r.json()['server']['id']
    listed = {}

    def listing():
        start = time.monotonic()
        got = member.get('/servers/detail?name=^(a%2B)%2B$')
        listed.update(status=got.status_code, body=got.json(),
                      seconds=time.monotonic() - start)

    try:
        worker = threading.Thread(target=listing)
        worker.start()
        start = time.monotonic()
        root = requests.get(api_base.rsplit('/v2.1', 1)[0] + '/', timeout=60)
        root_seconds = time.monotonic() - start
        worker.join(60)
        assert root.status_code == 200 and root_seconds < 2, root_seconds
        assert listed['status'] == 200 and listed['body']['servers'] == []
        assert listed['seconds'] < 2, listed
        r = member.get('/servers?name=^a%2B!$')
        assert [s['id'] for s in r.json()['servers']] == [server_id]
    finally:
        member.delete(f'/servers/{server_id}')
        member.wait_gone(server_id)


def _raw_server(**over):
    import json
    return json.dumps(_server(**over))  # ASCII: "\ud800" stays an escape


@pytest.mark.parametrize('raw', [
    _raw_server(name='x\ud800'), '[' * 100000 + ']' * 100000, _raw_server(min_count='0'),
    _raw_server(metadata={'k': 'a\x00b'}),
])
def test_bad_bodies_over_http_are_400_and_listings_hold(admin, tiny_flavor, raw):
    r = admin.request('POST', '/servers', data=raw.encode(),
                      headers={'Content-Type': 'application/json'})
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['code'] == 400
    for path in ('/servers', '/servers/detail', '/servers/detail?all_tenants=1'):
        assert admin.get(path).status_code == 200


def test_placement_bad_bodies_over_http(placement_base):
    import requests
    headers = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.31',
               'Content-Type': 'application/json'}
    for raw in ('{"name": "\\ud800"}', '[' * 100000 + ']' * 100000):
        r = requests.post(placement_base + '/resource_providers', data=raw.encode(),
                          headers=headers, timeout=30)
        assert r.status_code == 400, r.text
        assert r.json()['errors'][0]['status'] == 400


def test_server_refused_targets_are_json(api_base):
    import socket
    from urllib.parse import urlparse
    port = urlparse(api_base).port
    with socket.create_connection(('127.0.0.1', port), timeout=10) as conn:
        conn.sendall(b'GET //v2.1//servers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        data = b''
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 400') and b'application/json' in head
    import json
    assert json.loads(body)['badRequest']['code'] == 400


def test_changes_since_with_offset(admin):
    r = admin.get('/servers?changes-since=2020-01-01T00:00:00-05:00'
                  '&changes-before=2021-01-01T00:00:00')
    assert r.status_code == 200, r.text
