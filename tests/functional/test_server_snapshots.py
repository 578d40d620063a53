"""createImage and createBackup on the all-in-one's fake driver: the image made
in the image service with Nova's properties and uploaded (queued -> active),
Location before 2.45 and image_id from 2.45, a server booted from the
snapshot, backup rotation, 409 from other states, the metadata quota (below
2.39), and a locked server (snapshots are allowed, as in Nova)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from minova.image.builtin import TINY_IMAGE_ID
from minova.virt.fake import FAKE_SNAPSHOT_DATA
from tests.functional.conftest import Client
from tests.functional.test_server_state_actions import _act, _boot


class Images:
    """The image service as its administrator."""

    def __init__(self, port: int) -> None:
        self.base = f'http://127.0.0.1:{port}'

    def get(self, image_id: str) -> requests.Response:
        return requests.get(f'{self.base}/v2/images/{image_id}',
                            headers={'X-Auth-Token': 'admin:admin'}, timeout=10)

    def wait_active(self, image_id: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        image: dict[str, Any] = {}
        while time.monotonic() < deadline:
            image = self.get(image_id).json()
            if image['status'] == 'active':
                return image
            time.sleep(0.05)
        raise AssertionError(f'image {image_id} stuck in {image.get("status")}')

    def data(self, image_id: str) -> bytes:
        return requests.get(f'{self.base}/v2/images/{image_id}/file',
                            headers={'X-Auth-Token': 'admin:admin'}, timeout=10).content

    def list(self, **filters: str) -> list[dict[str, Any]]:
        return requests.get(f'{self.base}/v2/images', params=filters,
                            headers={'X-Auth-Token': 'admin:admin'},
                            timeout=10).json()['images']

    def delete(self, image_id: str) -> None:
        requests.delete(f'{self.base}/v2/images/{image_id}',
                        headers={'X-Auth-Token': 'admin:admin'}, timeout=10)


@pytest.fixture
def images(aio: AllInOne) -> Images:
    return Images(aio.image_port)


@pytest.fixture
def alice(api_base: str) -> Client:
    return Client(api_base, token='alice:project-snap')


@pytest.fixture
def server(alice: Client, admin: Client, tiny_flavor: dict[str, Any]) -> Iterator[str]:
    server_id = _boot(alice, 'snap-vm')
    yield server_id
    admin.delete(f'/servers/{server_id}')
    admin.wait_gone(server_id)


def _wait_idle(client: Client, server_id: str, status: str = 'ACTIVE') -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        s = client.get(f'/servers/{server_id}').json()['server']
        if s['OS-EXT-STS:task_state'] is None and s['status'] == status:
            return s
        time.sleep(0.05)
    raise AssertionError(f'server {server_id} stays busy')


def test_create_image_245_and_boot_from_it(alice: Client, admin: Client, images: Images,
                                           server: str) -> None:
    r = _act(alice, server, {'createImage': {'name': 'snap1',
                                             'metadata': {'purpose': 'test'}}})
    assert r.status_code == 202, r.text
    assert 'Location' not in r.headers
    image_id = r.json()['image_id']
    image = images.wait_active(image_id)
    assert image['name'] == 'snap1'
    assert image['owner'] == 'project-snap' and image['visibility'] == 'private'
    assert (image['image_type'], image['instance_uuid'], image['user_id']) == (
        'snapshot', server, 'alice')
    assert image['base_image_ref'] == TINY_IMAGE_ID
    assert image['purpose'] == 'test'
    assert (image['disk_format'], image['container_format']) == ('raw', 'bare')
    assert images.data(image_id) == FAKE_SNAPSHOT_DATA
    s = _wait_idle(alice, server)
    assert s['OS-EXT-STS:task_state'] is None
    acts = alice.get(f'/servers/{server}/os-instance-actions').json()['instanceActions']
    assert acts[0]['action'] == 'createImage'
    one = alice.get(f'/servers/{server}/os-instance-actions/{acts[0]["request_id"]}').json()
    assert [(e['event'], e['result']) for e in one['instanceAction']['events']] == [
        ('compute_snapshot_instance', 'Success')]
    # A server booted from the snapshot comes up.
    second = _boot(alice, 'from-snap', image_id)
    assert alice.get(f'/servers/{second}').json()['server']['image']['id'] == image_id
    admin.delete(f'/servers/{second}')
    admin.wait_gone(second)
    images.delete(image_id)


def test_create_image_244_answers_location(api_base: str, images: Images,
                                           server: str) -> None:
    old = Client(api_base, token='alice:project-snap', microversion='2.44')
    r = _act(old, server, {'createImage': {'name': 'snap-old'}})
    assert r.status_code == 202, r.text
    assert not r.content
    location = r.headers['Location']
    image_id = location.rsplit('/', 1)[1]
    assert location == f'{images.base}/images/{image_id}'
    assert images.wait_active(image_id)['image_type'] == 'snapshot'
    _wait_idle(old, server)
    images.delete(image_id)


def test_snapshot_of_a_stopped_server(alice: Client, images: Images, server: str) -> None:
    assert _act(alice, server, {'os-stop': None}).status_code == 202
    alice.wait_for_status(server, {'SHUTOFF'})
    r = _act(alice, server, {'createImage': {'name': 'snap-off'}})
    assert r.status_code == 202, r.text
    images.wait_active(r.json()['image_id'])
    _wait_idle(alice, server, 'SHUTOFF')
    images.delete(r.json()['image_id'])


def test_backup_rotation(alice: Client, api_base: str, images: Images,
                         server: str) -> None:
    made = []
    for n in range(3):
        r = _act(alice, server, {'createBackup': {'name': f'bk{n}', 'backup_type': 'daily',
                                                  'rotation': 2}})
        assert r.status_code == 202, r.text
        made.append(r.json()['image_id'])
        image = images.wait_active(made[-1])
        assert (image['image_type'], image['backup_type']) == ('backup', 'daily')
        _wait_idle(alice, server)
        time.sleep(1.05)   # created_at has second resolution, as Glance's
    kept = {i['id'] for i in images.list(instance_uuid=server, image_type='backup')}
    assert kept == set(made[1:])
    acts = alice.get(f'/servers/{server}/os-instance-actions').json()['instanceActions']
    assert acts[0]['action'] == 'createBackup'
    # Another type is rotated on its own; 2.44 answers a Location here (rotation > 0).
    old = Client(api_base, token='alice:project-snap', microversion='2.44')
    r = _act(old, server, {'createBackup': {'name': 'wk', 'backup_type': 'weekly',
                                            'rotation': '1'}})
    assert r.status_code == 202, r.text
    weekly = r.headers['Location'].rsplit('/', 1)[1]
    assert r.headers['Location'].endswith(f'/v2.1/images/{weekly}')
    images.wait_active(weekly)
    _wait_idle(alice, server)
    # Rotation 0: as Nova, the new backup itself is rotated out.
    r = _act(alice, server, {'createBackup': {'name': 'none', 'backup_type': 'daily',
                                              'rotation': 0}})
    assert r.status_code == 202, r.text
    _wait_idle(alice, server)
    deadline = time.monotonic() + 10
    while images.list(instance_uuid=server, backup_type='daily') and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert images.list(instance_uuid=server, backup_type='daily') == []
    assert [i['id'] for i in images.list(instance_uuid=server,
                                         backup_type='weekly')] == [weekly]
    images.delete(weekly)


def test_wrong_state_and_bad_bodies(alice: Client, images: Images, server: str) -> None:
    assert _act(alice, server, {'os-stop': None}).status_code == 202
    alice.wait_for_status(server, {'SHUTOFF'})
    assert _act(alice, server, {'os-resetState': {'state': 'error'}}).status_code == 403
    admin = Client(alice.base)
    assert _act(admin, server, {'os-resetState': {'state': 'error'}}).status_code == 202
    for body in ({'createImage': {'name': 'x'}},
                 {'createBackup': {'name': 'x', 'backup_type': 'daily', 'rotation': 1}}):
        r = _act(alice, server, body)
        assert r.status_code == 409, r.text
        action = next(iter(body))
        assert r.json()['conflictingRequest']['message'] == (
            f"Cannot '{action}' instance {server} while it is in vm_state error")
    assert images.list(instance_uuid=server) == []
    for body in ({'createImage': {}}, {'createImage': {'name': ''}},
                 {'createImage': {'name': 'x', 'extra': 1}},
                 {'createBackup': {'name': 'x', 'backup_type': 'daily'}},
                 {'createBackup': {'name': 'x', 'backup_type': 'daily', 'rotation': -1}}):
        assert _act(alice, server, body).status_code == 400, body


def test_metadata_quota_below_239(admin: Client, api_base: str, images: Images,
                                  server: str) -> None:
    old = Client(api_base, token='alice:project-snap', microversion='2.38')
    new = Client(api_base, token='alice:project-snap', microversion='2.39')
    meta = {'a': '1', 'b': '2', 'c': '3'}
    r = admin.put('/os-quota-sets/project-snap', {'quota_set': {'metadata_items': 2}})
    assert r.status_code == 200, r.text
    try:
        for body in ({'createImage': {'name': 'q', 'metadata': meta}},
                     {'createBackup': {'name': 'q', 'backup_type': 'd', 'rotation': 1,
                                       'metadata': meta}}):
            r = _act(old, server, body)
            assert r.status_code == 403, r.text
            assert r.json()['forbidden']['message'] == 'Image metadata limit exceeded'
        assert images.list(instance_uuid=server) == []
        # From 2.39 the quota is not checked.
        r = _act(new, server, {'createImage': {'name': 'q', 'metadata': meta}})
        assert r.status_code == 202, r.text
        image_id = r.headers['Location'].rsplit('/', 1)[1]
        assert images.wait_active(image_id)['c'] == '3'
        _wait_idle(new, server)
        images.delete(image_id)
    finally:
        admin.put('/os-quota-sets/project-snap', {'quota_set': {'metadata_items': 128}})


def test_locked_server_can_be_snapshotted(admin: Client, alice: Client, images: Images,
                                          server: str) -> None:
    """As Nova: a lock guards against change and delete, not snapshots."""
    assert _act(admin, server, {'lock': None}).status_code == 202
    try:
        r = _act(alice, server, {'createImage': {'name': 'locked-snap'}})
        assert r.status_code == 202, r.text
        images.wait_active(r.json()['image_id'])
        _wait_idle(alice, server)
        images.delete(r.json()['image_id'])
    finally:
        assert _act(admin, server, {'unlock': None}).status_code == 202


def test_admin_snapshot_of_another_projects_server(admin: Client, images: Images,
                                                   server: str) -> None:
    r = _act(admin, server, {'createImage': {'name': 'admin-snap'}})
    assert r.status_code == 202, r.text
    image = images.wait_active(r.json()['image_id'])
    assert image['visibility'] == 'shared' and image['instance_owner'] == 'project-snap'
    _wait_idle(admin, server)
    images.delete(image['id'])


def test_snapshot_skips_non_inheritable_properties(alice: Client, admin: Client,
                                                   images: Images) -> None:
    """Nova's [DEFAULT] non_inheritable_image_properties: cache_in_nova and
    bittorrent by default, the operator's own when set; other properties of
    the server's image are inherited by its snapshot."""
    h = {'X-Auth-Token': 'admin:admin'}
    r = requests.post(f'{images.base}/v2/images', headers=h, timeout=10, json={
        'name': 'props-base', 'disk_format': 'qcow2', 'container_format': 'bare',
        'visibility': 'public', 'cache_in_nova': 'True', 'site_tag': 'x1',
        'owner_note': 'keep'})
    assert r.status_code == 201, r.text
    base = r.json()['id']
    r = requests.put(f'{images.base}/v2/images/{base}/file', data=images.data(TINY_IMAGE_ID),
                     headers=dict(h, **{'Content-Type': 'application/octet-stream'}),
                     timeout=10)
    assert r.status_code == 204, r.text
    server_id = _boot(alice, 'props-vm', image=base)
    snaps = []
    try:
        snap = _act(alice, server_id, {'createImage': {'name': 'props-1'}})
        assert snap.status_code == 202, snap.text
        snaps.append(snap.json()['image_id'])
        image = images.wait_active(snaps[-1])
        assert image['site_tag'] == 'x1' and image['owner_note'] == 'keep'
        assert 'cache_in_nova' not in image

        CONF.set_override('non_inheritable_image_properties', ['site_tag'])
        try:
            _wait_idle(alice, server_id)
            snap = _act(alice, server_id, {'createImage': {'name': 'props-2'}})
            assert snap.status_code == 202, snap.text
            snaps.append(snap.json()['image_id'])
        finally:
            CONF.clear_override('non_inheritable_image_properties')
        image = images.wait_active(snaps[-1])
        assert 'site_tag' not in image and image['owner_note'] == 'keep'
        assert image['cache_in_nova'] == 'True'
    finally:
        admin.delete(f'/servers/{server_id}')
        admin.wait_gone(server_id)
        for image_id in [*snaps, base]:
            images.delete(image_id)
