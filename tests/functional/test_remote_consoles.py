"""Remote consoles on the fake driver: URLs per microversion, Nova's errors,
tokens stored hashed with an expiry, the admin token lookup, and a deleted
server's tokens gone (issue 20)."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from minova.cells import lookup, mappings
from minova.conf import CONF
from minova.db import console_auth_tokens, engines
from minova.db.main_tables import console_auth_tokens as cat_table
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client


def _cell_url() -> str:
    cells = [c for c in mappings.cell_list() if not mappings.is_cell0(c)]
    return lookup.get(cells[0]['uuid'])['database_connection']


def _token_of(url: str) -> str:
    """The token in a console URL (noVNC's path=?token=..., or token=...)."""
    query = parse_qs(urlparse(url).query)
    if 'path' in query:
        query = parse_qs(urlparse(query['path'][0]).query)
    return query['token'][0]


@pytest.fixture(scope='module')
def server(admin: Client, tiny_flavor: dict[str, Any]) -> Iterator[dict[str, Any]]:
    r = admin.post('/servers', {'server': {'name': 'cons1', 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE'
    yield server
    admin.delete(f'/servers/{server["id"]}')


@pytest.fixture
def serial_enabled() -> Iterator[None]:
    CONF.set_override('enabled', True, group='serial_console')
    yield
    CONF.clear_override('enabled', group='serial_console')


def _remote(client: Client, server_id: str, protocol: str, type_: str) -> Any:
    return client.post(f'/servers/{server_id}/remote-consoles',
                       {'remote_console': {'protocol': protocol, 'type': type_}})


def test_novnc_url_and_token_stored_hashed(admin: Client, server: dict[str, Any]) -> None:
    before = time.time()
    r = _remote(admin, server['id'], 'vnc', 'novnc')
    assert r.status_code == 200, r.text
    body = r.json()['remote_console']
    assert (body['protocol'], body['type']) == ('vnc', 'novnc')
    assert body['url'].startswith('http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3D')
    token = _token_of(body['url'])
    assert len(token) >= 40
    with engines.reader(_cell_url()) as conn:
        rows = [dict(r) for r in conn.execute(
            cat_table.select().where(cat_table.c.instance_uuid == server['id'])).mappings()]
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = next(r for r in rows if r['token_hash'] == digest)
    assert token not in str(rows)        # only the hash is stored
    assert row['console_type'] == 'novnc'
    assert (row['host'], row['port']) == ('127.0.0.1', 5900)
    assert row['access_url_base'] == 'http://127.0.0.1:6080/vnc_auto.html'
    assert before + 600 - 5 <= row['expires'] <= time.time() + 600 + 1


def test_auth_token_lookup_admin_only_and_by_version(admin: Client, api_base: str,
                                                    server: dict[str, Any]) -> None:
    token = _token_of(_remote(admin, server['id'], 'vnc', 'novnc').json()
                      ['remote_console']['url'])
    expected = {'instance_uuid': server['id'], 'host': '127.0.0.1', 'port': 5900,
                'internal_access_path': None}
    r = Client(api_base, microversion='2.31').get(f'/os-console-auth-tokens/{token}')
    assert r.status_code == 200, r.text
    assert r.json() == {'console': expected}
    r = admin.get(f'/os-console-auth-tokens/{token}')     # 2.99+: tls_port
    assert r.json() == {'console': {**expected, 'tls_port': None}}
    # before 2.31 only an RDP token may be shown
    old = Client(api_base, microversion='2.30').get(f'/os-console-auth-tokens/{token}')
    assert old.status_code == 401, old.text
    assert admin.get('/os-console-auth-tokens/nosuchtoken').status_code == 404
    user = Client(api_base, token='demo:demo')
    assert user.get(f'/os-console-auth-tokens/{token}').status_code == 403


def test_serial_console(admin: Client, server: dict[str, Any], serial_enabled: None) -> None:
    r = _remote(admin, server['id'], 'serial', 'serial')
    assert r.status_code == 200, r.text
    url = r.json()['remote_console']['url']
    assert url.startswith('ws://127.0.0.1:6083/?token=')
    found = console_auth_tokens.validate(_cell_url(), _token_of(url))
    assert found is not None and found['port'] == 10000


def test_unavailable_and_invalid_types(admin: Client, api_base: str,
                                       server: dict[str, Any]) -> None:
    sid = server['id']
    r = _remote(admin, sid, 'serial', 'serial')      # [serial_console] enabled = false
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'Unavailable console type serial.'
    r = _remote(admin, sid, 'spice', 'spice-html5')
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'Unavailable console type spice-html5.'
    assert _remote(admin, sid, 'mks', 'webmks').status_code == 400
    r = _remote(admin, sid, 'spice', 'spice-direct')          # 2.99
    assert r.json()['badRequest']['message'] == 'Unavailable console type spice-direct.'
    assert _remote(Client(api_base, microversion='2.98'), sid, 'spice', 'spice-direct'
                   ).status_code == 400
    r = _remote(admin, sid, 'vnc', 'xvpvnc')
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'Invalid console type xvpvnc'
    assert _remote(admin, sid, 'vnc', 'bogus').status_code == 400
    # mks arrived in 2.8
    assert _remote(Client(api_base, microversion='2.7'), sid, 'mks', 'webmks'
                   ).status_code == 400
    # remote-consoles arrived in 2.6
    assert _remote(Client(api_base, microversion='2.5'), sid, 'vnc', 'novnc'
                   ).status_code == 404
    CONF.set_override('enabled', False, group='vnc')
    try:
        r = _remote(admin, sid, 'vnc', 'novnc')
    finally:
        CONF.clear_override('enabled', group='vnc')
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'Unavailable console type novnc.'


def test_legacy_actions(api_base: str, server: dict[str, Any],
                        serial_enabled: None) -> None:
    old = Client(api_base, microversion='2.5')
    url = f'/servers/{server["id"]}/action'
    r = old.post(url, {'os-getVNCConsole': {'type': 'novnc'}})
    assert r.status_code == 200, r.text
    assert r.json()['console']['type'] == 'novnc'
    assert 'vnc_auto.html?path=%3Ftoken%3D' in r.json()['console']['url']
    r = old.post(url, {'os-getSerialConsole': {'type': 'serial'}})
    assert r.status_code == 200, r.text
    assert r.json()['console']['url'].startswith('ws://127.0.0.1:6083/?token=')
    assert old.post(url, {'os-getVNCConsole': {'type': 'spice'}}).status_code == 400
    assert old.post(url, {'os-getVNCConsole': {'type': 'xvpvnc'}}).status_code == 400
    # gone from 2.6, as in Nova
    new = Client(api_base, microversion='2.6')
    assert new.post(url, {'os-getVNCConsole': {'type': 'novnc'}}).status_code == 404


def test_stopped_server_409_and_unknown_404(admin: Client, tiny_flavor: dict[str, Any]
                                           ) -> None:
    r = admin.post('/servers', {'server': {'name': 'cons2', 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    sid = r.json()['server']['id']
    admin.wait_for_status(sid, {'ACTIVE'})
    assert admin.post(f'/servers/{sid}/action', {'os-stop': None}).status_code == 202
    admin.wait_for_status(sid, {'SHUTOFF'})
    r = _remote(admin, sid, 'vnc', 'novnc')
    assert r.status_code == 409, r.text
    admin.delete(f'/servers/{sid}')
    r = _remote(admin, '7c5e7a2b-0000-4000-8000-000000000000', 'vnc', 'novnc')
    assert r.status_code == 404


def test_expired_and_deleted_server_tokens(admin: Client, tiny_flavor: dict[str, Any]
                                           ) -> None:
    r = admin.post('/servers', {'server': {'name': 'cons3', 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    sid = r.json()['server']['id']
    admin.wait_for_status(sid, {'ACTIVE'})
    CONF.set_override('token_ttl', 0, group='consoleauth')
    try:
        expired = _token_of(_remote(admin, sid, 'vnc', 'novnc').json()
                            ['remote_console']['url'])
    finally:
        CONF.clear_override('token_ttl', group='consoleauth')
    live = _token_of(_remote(admin, sid, 'vnc', 'novnc').json()['remote_console']['url'])
    url = _cell_url()
    assert console_auth_tokens.validate(url, expired) is None
    assert admin.get(f'/os-console-auth-tokens/{expired}').status_code == 404
    # the lookup of an expired token cleaned it away
    hashes = {t['token_hash'] for t in console_auth_tokens.get_for_instance(url, sid)}
    assert console_auth_tokens.token_hash(expired) not in hashes
    assert console_auth_tokens.token_hash(live) in hashes
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
    assert console_auth_tokens.get_for_instance(url, sid) == []
    assert admin.get(f'/os-console-auth-tokens/{live}').status_code == 404


def test_conductor_cleans_expired_tokens(aio: Any, admin: Client,
                                         server: dict[str, Any]) -> None:
    url = _cell_url()
    CONF.set_override('token_ttl', 0, group='consoleauth')
    try:
        expired = _token_of(_remote(admin, server['id'], 'vnc', 'novnc').json()
                            ['remote_console']['url'])
    finally:
        CONF.clear_override('token_ttl', group='consoleauth')
    hashes = {t['token_hash'] for t in console_auth_tokens.get_for_instance(url, server['id'])}
    assert console_auth_tokens.token_hash(expired) in hashes
    [conductor] = [s.manager for s in aio.services if s.binary == 'minova-conductor']
    conductor._clean_expired_console_tokens()
    hashes = {t['token_hash'] for t in console_auth_tokens.get_for_instance(url, server['id'])}
    assert console_auth_tokens.token_hash(expired) not in hashes
    assert hashes            # the live ones stay
