"""The rebuild action through the REST API on the all-in-one's fake driver:
the new image and attributes, states, the instance action, 409s and 400s,
and the fields of 2.54 (key_name), 2.57 (user_data) and 2.90 (hostname)."""
from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from minova.cmd.all_in_one import AllInOne
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client
from tests.functional.test_server_state_actions import _act, _actions, _boot, _conflict

_made: list[str] = []


@pytest.fixture(scope='module', autouse=True)
def _remove_images(aio: AllInOne) -> Any:
    """Other tests list the images: the ones made here go at the end."""
    yield
    for image_id in _made:
        requests.delete(f'http://127.0.0.1:{aio.image_port}/v2/images/{image_id}',
                        headers={'X-Auth-Token': 'admin:admin'}, timeout=10)


def _image(aio: AllInOne, name: str, **props: Any) -> str:
    """An active image (a few bytes of raw data) in the embedded image service."""
    glance = f'http://127.0.0.1:{aio.image_port}/v2/images'
    headers = {'X-Auth-Token': 'admin:admin'}
    r = requests.post(glance, headers=headers, timeout=10,
                      json={'name': name, 'disk_format': 'raw', 'container_format': 'bare',
                            'visibility': 'public', **props})
    assert r.status_code == 201, r.text
    image_id = r.json()['id']
    _made.append(image_id)
    r = requests.put(f'{glance}/{image_id}/file', data=b'x' * 16, timeout=10,
                     headers={**headers, 'Content-Type': 'application/octet-stream'})
    assert r.status_code == 204, r.text
    return image_id


@pytest.fixture(scope='module')
def other_image(aio: AllInOne) -> str:
    return _image(aio, 'rebuild-other', os_distro='otheros')


@pytest.fixture
def server(admin: Client, tiny_flavor: dict) -> Any:
    server_id = _boot(admin, 'rebuild-vm')
    yield server_id
    admin.delete(f'/servers/{server_id}')
    admin.wait_gone(server_id)


def _events(client: Client, server_id: str) -> list[tuple[str, str]]:
    listed = client.get(f'/servers/{server_id}/os-instance-actions').json()
    req_id = next(a['request_id'] for a in listed['instanceActions']
                  if a['action'] == 'rebuild')
    one = client.get(f'/servers/{server_id}/os-instance-actions/{req_id}').json()
    return [(e['event'], e['result']) for e in one['instanceAction']['events']]


def test_rebuild_to_another_image(admin: Client, server: str, other_image: str) -> None:
    v21 = Client(admin.base, microversion='2.1')
    r = _act(v21, server, {'rebuild': {'imageRef': other_image, 'name': 'rebuilt',
                                         'metadata': {'role': 'web'},
                                         'adminPass': 's3cret'}})
    assert r.status_code == 202, r.text
    body = r.json()['server']
    assert body['adminPass'] == 's3cret'
    assert body['name'] == 'rebuilt' and body['metadata'] == {'role': 'web'}
    assert body['image']['id'] == other_image
    assert body['status'] in ('REBUILD', 'ACTIVE')
    assert 'OS-EXT-STS:vm_state' not in body   # the smaller body before 2.75
    s = admin.wait_for_status(server, {'ACTIVE', 'ERROR'})
    assert s['status'] == 'ACTIVE' and s['OS-EXT-STS:task_state'] is None
    assert s['image']['id'] == other_image and s['name'] == 'rebuilt'
    assert s['OS-EXT-STS:power_state'] == 1
    assert _actions(admin, server)[0] == 'rebuild'
    assert _events(admin, server) == [('compute_rebuild_instance', 'Success')]
    # 2.98: the new image's properties
    s = Client(admin.base, microversion='2.98').get(f'/servers/{server}').json()['server']
    assert s['image']['properties']['os_distro'] == 'otheros'


def test_rebuild_a_stopped_server_stays_stopped(admin: Client, server: str,
                                                 other_image: str) -> None:
    assert _act(admin, server, {'os-stop': None}).status_code == 202
    admin.wait_for_status(server, {'SHUTOFF'})
    r = _act(admin, server, {'rebuild': {'imageRef': other_image}})
    assert r.status_code == 202, r.text
    assert len(r.json()['server']['adminPass']) == 12   # generated
    s = admin.wait_for_status(server, {'SHUTOFF', 'ERROR'})
    assert s['status'] == 'SHUTOFF' and s['OS-EXT-STS:task_state'] is None
    assert s['OS-EXT-STS:power_state'] == 4 and s['image']['id'] == other_image


def test_rebuild_refusals(admin: Client, server: str, other_image: str) -> None:
    missing = '7b0a5c55-7a8e-4d9d-9d6f-3b1b8f1f0c11'
    r = _act(admin, server, {'rebuild': {'imageRef': missing}})
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'Cannot find image for rebuild'
    assert _act(admin, server, {'rebuild': {'imageRef': 'not-a-uuid'}}).status_code == 400
    assert _act(admin, server, {'rebuild': {}}).status_code == 400   # imageRef required
    v253 = Client(admin.base, microversion='2.53')
    assert _act(v253, server, {'rebuild': {'imageRef': other_image,
                                           'key_name': None}}).status_code == 400
    assert _act(admin, server, {'pause': None}).status_code == 202
    admin.wait_for_status(server, {'PAUSED'})
    assert _conflict(_act(admin, server, {'rebuild': {'imageRef': other_image}})) == (
        f"Cannot 'rebuild' instance {server} while it is in vm_state paused")
    assert _act(admin, server, {'unpause': None}).status_code == 202
    admin.wait_for_status(server, {'ACTIVE'})
    # a locked server refuses non-admins
    alice = Client(admin.base, token='alice:project-a')
    r = alice.post('/servers', {'server': {'name': 'alice-vm', 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    mine = r.json()['server']['id']
    try:
        alice.wait_for_status(mine, {'ACTIVE'})
        assert _act(alice, mine, {'lock': None}).status_code == 202
        assert _conflict(_act(alice, mine, {'rebuild': {'imageRef': other_image}})) == (
            f'Instance {mine} is locked')
    finally:
        admin.delete(f'/servers/{mine}')
        admin.wait_gone(mine)


def test_rebuild_refuses_an_image_above_the_flavor(aio: AllInOne, admin: Client,
                                                   server: str) -> None:
    big = _image(aio, 'rebuild-big', min_disk=50)
    r = _act(admin, server, {'rebuild': {'imageRef': big}})
    assert r.status_code == 400
    assert 'too small' in r.json()['badRequest']['message']
    hungry = _image(aio, 'rebuild-hungry', min_ram=100000)
    r = _act(admin, server, {'rebuild': {'imageRef': hungry}})
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == (
        "Flavor's memory is too small for requested image.")


def test_rebuild_fields_of_later_microversions(admin: Client, server: str,
                                               other_image: str) -> None:
    v = Client(admin.base, microversion='2.90')
    key = v.post('/os-keypairs', {'keypair': {'name': 'rebuild-key'}})
    assert key.status_code in (200, 201), key.text
    try:
        data = base64.b64encode(b'#!/bin/sh\necho hi\n').decode()
        r = _act(v, server, {'rebuild': {'imageRef': other_image, 'key_name': 'rebuild-key',
                                         'user_data': data, 'hostname': 'new-host',
                                         'description': 'rebuilt one'}})
        assert r.status_code == 202, r.text
        body = r.json()['server']
        assert body['key_name'] == 'rebuild-key' and body['user_data'] == data
        assert body['OS-EXT-STS:vm_state'] in ('active',)   # the full body from 2.75
        assert body['description'] == 'rebuilt one'
        s = v.wait_for_status(server, {'ACTIVE', 'ERROR'})
        assert s['status'] == 'ACTIVE'
        assert s['key_name'] == 'rebuild-key' and s['OS-EXT-SRV-ATTR:hostname'] == 'new-host'
        r = _act(v, server, {'rebuild': {'imageRef': other_image, 'key_name': 'nope'}})
        assert r.status_code == 400
        assert r.json()['badRequest']['message'] == 'Invalid key_name provided.'
        # null unsets them
        r = _act(v, server, {'rebuild': {'imageRef': TINY_IMAGE_ID, 'key_name': None,
                                         'user_data': None}})
        assert r.status_code == 202, r.text
        assert r.json()['server']['key_name'] is None
        assert r.json()['server']['user_data'] is None
        s = v.wait_for_status(server, {'ACTIVE', 'ERROR'})
        assert s['key_name'] is None and s['image']['id'] == TINY_IMAGE_ID
        # before 2.57 user_data is not a rebuild field; before 2.90 hostname is not
        r = _act(Client(admin.base, microversion='2.56'), server,
                 {'rebuild': {'imageRef': TINY_IMAGE_ID, 'user_data': data}})
        assert r.status_code == 400
        r = _act(Client(admin.base, microversion='2.89'), server,
                 {'rebuild': {'imageRef': TINY_IMAGE_ID, 'hostname': 'x1'}})
        assert r.status_code == 400
    finally:
        v.delete('/os-keypairs/rebuild-key')


def test_no_admin_pass_when_instance_passwords_are_off(admin: Client, server: str) -> None:
    from minova.conf import CONF
    CONF.set_override('enable_instance_password', False, group='api')
    try:
        r = _act(admin, server, {'rebuild': {'imageRef': TINY_IMAGE_ID}})
        assert r.status_code == 202, r.text
        assert 'adminPass' not in r.json()['server']
    finally:
        CONF.clear_override('enable_instance_password', group='api')
    admin.wait_for_status(server, {'ACTIVE'})


def test_a_slow_rebuild_shows_rebuild_status(admin: Client, server: str) -> None:
    from minova.conf import CONF
    CONF.set_override('spawn_delay', 1.0, group='fake_driver')
    try:
        r = _act(admin, server, {'rebuild': {'imageRef': TINY_IMAGE_ID}})
        assert r.status_code == 202, r.text
        s = admin.get(f'/servers/{server}').json()['server']
        assert s['status'] == 'REBUILD'
        assert s['OS-EXT-STS:task_state'] in ('rebuilding', 'rebuild_block_device_mapping',
                                              'rebuild_spawning')
        listed = admin.get('/servers?status=REBUILD').json()['servers']
        assert server in {x['id'] for x in listed}
        assert server not in {x['id'] for x in
                              admin.get('/servers?status=SHUTOFF').json()['servers']}
        assert _conflict(_act(admin, server, {'rebuild': {'imageRef': TINY_IMAGE_ID}})) \
            .startswith(f"Cannot 'rebuild' instance {server} while it is in task_state ")
    finally:
        CONF.clear_override('spawn_delay', group='fake_driver')
    assert admin.wait_for_status(server, {'ACTIVE', 'ERROR'})['status'] == 'ACTIVE'
