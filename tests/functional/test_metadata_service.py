"""The metadata service (minova-api-metadata) of the all-in-one, for a server
booted on the fake driver: both layouts, the signed X-Instance-ID headers,
user data, public keys and the guest's password (issue 20)."""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from minova.image.builtin import TINY_IMAGE_ID
from minova.metadata import base
from minova.metadata.wsgi import sign
from tests.functional.conftest import Client

SECRET = 'metadata-test-secret'
USER_DATA = b'#!/bin/sh\necho hello from user data\n'
TEXT = 'text/plain; charset=utf-8'
PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoCr0zxkLkIWO0gAzPoRbuNRkl5UTbbJfRE'
              'jFpKbwYf md@test')


@pytest.fixture(scope='module')
def secret() -> Iterator[str]:
    CONF.set_override('metadata_proxy_shared_secret', SECRET, group='neutron')
    yield SECRET
    CONF.clear_override('metadata_proxy_shared_secret', group='neutron')


@pytest.fixture(scope='module')
def md_base(aio: AllInOne, secret: str) -> str:
    assert aio.metadata_port
    return f'http://127.0.0.1:{aio.metadata_port}'


def _boot(client: Client, name: str, **extra: Any) -> dict[str, Any]:
    r = client.post('/servers', {'server': {'name': name, 'flavorRef': 'tiny',
                                            'imageRef': TINY_IMAGE_ID, 'networks': 'none',
                                            **extra}})
    assert r.status_code == 202, r.text
    server = client.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE'
    return server


@pytest.fixture(scope='module')
def keypair(admin: Client) -> Iterator[dict[str, Any]]:
    r = admin.post('/os-keypairs', {'keypair': {'name': 'md-key', 'public_key': PUBLIC_KEY}})
    assert r.status_code in (200, 201), r.text
    yield r.json()['keypair']
    admin.delete('/os-keypairs/md-key')


@pytest.fixture(scope='module')
def server(admin: Client, tiny_flavor: dict[str, Any],
           keypair: dict[str, Any]) -> Iterator[dict[str, Any]]:
    server = _boot(admin, 'md1', key_name='md-key', metadata={'role': 'web'},
                   user_data=base64.b64encode(USER_DATA).decode())
    yield server
    admin.delete(f'/servers/{server["id"]}')


@pytest.fixture(scope='module')
def bare(admin: Client, tiny_flavor: dict[str, Any]) -> Iterator[dict[str, Any]]:
    server = _boot(admin, 'md2')
    yield server
    admin.delete(f'/servers/{server["id"]}')


def _headers(server: dict[str, Any], **override: str) -> dict[str, str]:
    h = {'X-Instance-ID': server['id'], 'X-Instance-ID-Signature': sign(server['id']),
         'X-Tenant-ID': server['tenant_id']}
    h.update(override)
    return {k: v for k, v in h.items() if v != ''}


def _get(md_base: str, path: str, server: dict[str, Any], **override: str) -> Any:
    return requests.get(md_base + path, headers=_headers(server, **override), timeout=10)


def test_openstack_listings(md_base: str, server: dict[str, Any]) -> None:
    r = requests.get(md_base + '/openstack', timeout=10)
    assert r.status_code == 200
    assert r.text.split('\n') == base.OPENSTACK_VERSIONS + ['latest']
    r = _get(md_base, '/openstack/latest', server)
    assert r.status_code == 200 and r.headers['Content-Type'] == TEXT
    assert r.text.split('\n') == ['meta_data.json', 'user_data', 'password',
                                  'vendor_data.json', 'network_data.json',
                                  'vendor_data2.json']
    assert _get(md_base, '/openstack/2012-08-10', server).text.split('\n') == [
        'meta_data.json', 'user_data']
    assert _get(md_base, '/openstack/2011-01-01', server).status_code == 404


def test_openstack_documents(md_base: str, server: dict[str, Any],
                             keypair: dict[str, Any]) -> None:
    r = _get(md_base, '/openstack/latest/meta_data.json', server)
    assert r.status_code == 200 and r.headers['Content-Type'] == 'application/json'
    md = r.json()
    assert md['uuid'] == server['id'] and md['name'] == 'md1'
    assert md['hostname'] == server['OS-EXT-SRV-ATTR:hostname']
    assert md['meta'] == {'role': 'web'} and md['project_id'] == server['tenant_id']
    assert md['availability_zone'] == server['OS-EXT-AZ:availability_zone']
    assert md['public_keys'] == {'md-key': keypair['public_key']}
    assert md['keys'] == [{'name': 'md-key', 'type': 'ssh', 'data': keypair['public_key']}]
    assert len(base64.b64decode(md['random_seed'])) == 512
    old = _get(md_base, '/openstack/2012-08-10/meta_data.json', server).json()
    assert 'keys' not in old and 'project_id' not in old and old['uuid'] == server['id']
    for name in ('vendor_data.json', 'vendor_data2.json'):
        r = _get(md_base, f'/openstack/2018-08-27/{name}', server)
        assert r.status_code == 200 and r.json() == {}
    nd = _get(md_base, '/openstack/latest/network_data.json', server).json()
    assert set(nd) == {'links', 'networks', 'services'}
    assert _get(md_base, '/openstack/2013-04-04/network_data.json', server).status_code == 404


def test_user_data(md_base: str, server: dict[str, Any], bare: dict[str, Any]) -> None:
    for path in ('/openstack/latest/user_data', '/latest/user-data', '/2009-04-04/user-data'):
        r = _get(md_base, path, server)
        assert r.status_code == 200 and r.content == USER_DATA
        assert _get(md_base, path, bare).status_code == 404
    assert 'user_data' not in _get(md_base, '/openstack/latest', bare).text


def test_ec2_meta_data(md_base: str, server: dict[str, Any], keypair: dict[str, Any]) -> None:
    r = requests.get(md_base + '/', timeout=10)
    assert r.text.split('\n') == base.EC2_VERSIONS + ['latest']
    assert _get(md_base, '/latest', server).text.split('\n') == ['meta-data/', 'user-data']
    listing = _get(md_base, '/latest/meta-data/', server)
    assert listing.status_code == 200 and listing.headers['Content-Type'] == TEXT
    names = listing.text.split('\n')
    for name in ('instance-id', 'hostname', 'local-hostname', 'public-keys/', 'placement/',
                 'ami-id', 'instance-type', 'reservation-id', 'security-groups',
                 'local-ipv4'):
        assert name in names
    for version in ('latest', '2009-04-04'):
        def get(path: str, version: str = version) -> str:
            r = _get(md_base, f'/{version}/meta-data/{path}', server)
            assert r.status_code == 200, (path, r.text)
            assert r.headers['Content-Type'] == TEXT
            return str(r.text)
        assert get('instance-id').startswith('i-') and len(get('instance-id')) == 10
        assert get('hostname') == server['OS-EXT-SRV-ATTR:hostname']
        assert get('local-hostname') == get('hostname')
        assert get('placement/') == 'availability-zone'
        assert get('placement/availability-zone') == server['OS-EXT-AZ:availability_zone']
        assert get('instance-type') == 'tiny'
        assert get('reservation-id') == server['OS-EXT-SRV-ATTR:reservation_id']
        assert get('ami-id').startswith('ami-')
        assert get('security-groups') == 'default'
        assert get('public-keys/') == '0=md-key'
        assert get('public-keys/0/') == 'openssh-key'
        assert get('public-keys/0/openssh-key') == keypair['public_key']
    assert _get(md_base, '/latest/meta-data/nothing', server).status_code == 404


def test_identification(md_base: str, server: dict[str, Any], bare: dict[str, Any]) -> None:
    path = '/openstack/latest/meta_data.json'
    assert _get(md_base, path, server).json()['uuid'] == server['id']
    assert _get(md_base, path, bare).json()['uuid'] == bare['id']
    # another instance's id under this one's signature
    r = _get(md_base, path, server, **{'X-Instance-ID-Signature': sign(bare['id'])})
    assert r.status_code == 403
    r = _get(md_base, path, server, **{'X-Instance-ID-Signature': 'f' * 64})
    assert r.status_code == 403 and 'Invalid proxy request signature' in r.text
    # as Nova: a missing header is a bad request
    for header in ('X-Instance-ID-Signature', 'X-Instance-ID', 'X-Tenant-ID'):
        r = _get(md_base, path, server, **{header: ''})
        assert r.status_code == 400 and f'{header} header is missing' in r.text
    unknown = '00000000-0000-0000-0000-000000000042'
    r = _get(md_base, path, server, **{'X-Instance-ID': unknown,
                                       'X-Instance-ID-Signature': sign(unknown)})
    assert r.status_code == 404
    assert _get(md_base, path, server, **{'X-Tenant-ID': 'other'}).status_code == 404
    assert _get(md_base, '/latest/meta-data/', server,
                **{'X-Instance-ID-Signature': 'x'}).status_code == 403


def test_no_secret_answers_no_instance(md_base: str, server: dict[str, Any]) -> None:
    headers = _headers(server)
    CONF.set_override('metadata_proxy_shared_secret', '', group='neutron')
    try:
        headers['X-Instance-ID-Signature'] = sign(server['id'])  # keyed with ''
        r = requests.get(md_base + '/openstack/latest/meta_data.json', headers=headers,
                         timeout=10)
        assert r.status_code == 403
    finally:
        CONF.set_override('metadata_proxy_shared_secret', SECRET, group='neutron')


def test_password_set_once(md_base: str, admin: Client, server: dict[str, Any]) -> None:
    url = md_base + '/openstack/latest/password'
    assert _get(md_base, '/openstack/latest/password', server).text == ''
    encrypted = base64.b64encode(b'x' * 300).decode()   # 400 characters: two chunks
    r = requests.post(url, data=encrypted, headers=_headers(server), timeout=10)
    assert r.status_code == 200, r.text
    assert _get(md_base, '/openstack/latest/password', server).text == encrypted
    assert admin.get(f'/servers/{server["id"]}/os-server-password').json() == {
        'password': encrypted}
    r = requests.post(url, data='other', headers=_headers(server), timeout=10)
    assert r.status_code == 409
    assert requests.put(url, data='x', headers=_headers(server), timeout=10).status_code == 400
    # once the API's DELETE clears it the guest may post again
    assert admin.delete(f'/servers/{server["id"]}/os-server-password').status_code == 204
    r = requests.post(url, data='z' * 1021, headers=_headers(server), timeout=10)
    assert r.status_code == 400 and 'too large' in r.text
    assert requests.post(url, data='again', headers=_headers(server),
                         timeout=10).status_code == 200
    assert _get(md_base, '/openstack/latest/password', server).text == 'again'
    assert requests.post(md_base + '/openstack/latest/meta_data.json', data='x',
                         headers=_headers(server), timeout=10).status_code == 405


def test_same_documents_as_config_drive(md_base: str, server: dict[str, Any],
                                        admin: Client) -> None:
    from minova.cells import lookup, mappings
    from minova.db import instances
    cells = [c for c in mappings.cell_list() if not mappings.is_cell0(c)]
    url = lookup.get(cells[0]['uuid'])['database_connection']
    inst = instances.get(url, server['id'])
    files = base.openstack_files(inst, base.ROCKY)
    served = _get(md_base, '/openstack/latest/meta_data.json', server).json()
    drive = json.loads(files['meta_data.json'])
    served.pop('random_seed'), drive.pop('random_seed')
    assert served == drive
    assert files['user_data'] == USER_DATA


def test_relay_adds_this_guests_headers(md_base: str, server: dict[str, Any],
                                        bare: dict[str, Any]) -> None:
    """The relay behind a guest's metadata socket: the guest's own
    X-Instance-ID is dropped, the relay's signed one used; requests follow one
    another on one stream (slirp's), each answered with its length."""
    import io

    from minova.metadata import relay

    def ask(request: bytes, target: dict[str, Any]) -> tuple[bytes, bool]:
        out = io.BytesIO()
        more = relay.relay_one(io.BytesIO(request), out, md_base, target['id'],
                               target['tenant_id'])
        return out.getvalue(), more

    forged = (f'GET /openstack/latest/meta_data.json HTTP/1.1\r\nHost: 169.254.169.254\r\n'
              f'X-Instance-ID: {server["id"]}\r\n'
              f'X-Instance-ID-Signature: {sign(server["id"])}\r\n\r\n').encode()
    answer, more = ask(forged, bare)
    head, _, body = answer.partition(b'\r\n\r\n')
    assert more and head.startswith(b'HTTP/1.0 200 OK')
    assert b'Content-Type: application/json' in head
    assert f'Content-Length: {len(body)}'.encode() in head
    assert json.loads(body)['uuid'] == bare['id']
    answer, _ = ask(b'GET /latest/meta-data/public-keys/0/openssh-key HTTP/1.0\r\n\r\n',
                    server)
    assert answer.endswith(PUBLIC_KEY.encode())
    answer, more = ask(b'nonsense\r\n\r\n', server)
    assert not more and answer.startswith(b'HTTP/1.0 400')
    assert ask(b'', server) == (b'', False)
    # Two requests on one stream: two answers, in order.
    stream = io.BytesIO(b'GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n'
                        b'GET /latest/meta-data/hostname HTTP/1.1\r\nHost: x\r\n\r\n')
    out = io.BytesIO()
    while relay.relay_one(stream, out, md_base, server['id'], server['tenant_id']):
        pass
    assert out.getvalue().count(b'HTTP/1.0 200 OK') == 2
    assert out.getvalue().endswith(server['OS-EXT-SRV-ATTR:hostname'].encode())
