"""mini-Nova's volume flows between hosts, against the real Cinder (on Ceph
RBD): an all-in-one with two compute services on the fake driver (no guests:
the driver records what it is given), so what is checked is what Cinder
sees, as Nova's fake-driver functional tests do:

- a multiattach volume (a Cinder volume type with `multiattach="<is> True"`)
  attaches to two servers from 2.60 (a 400 before), Cinder lists both
  attachments, a swap of it is a 400, and detaching it from one server keeps
  the other's attachment;
- a live migration moves a server's volume attachment to the destination
  host (a new attachment connected there, the source's deleted); a live
  migration that fails deletes the destination's and keeps the source's;
- an evacuation from a host that is down replaces the attachment by one of
  the new host.

After each test Cinder has no attachment and no volume left (`cinder_clean`).
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest

from minova.image.builtin import TINY_IMAGE_ID
from tests.integration.cinder.conftest import Cinder, NovaEvents, until
from tests.integration.cinder.test_servers import ProjectCloud, cinder_cloud

HOST = 'minova-cinder-fake'
HOST2 = f'{HOST}-2'
FAILS = 'lm-fails'      # [fake_driver] fail_live_migration_names


@pytest.fixture(scope='module')
def fcloud(cinder: Cinder, nova_events: NovaEvents) -> Iterator[ProjectCloud]:
    with cinder_cloud(cinder, nova_events, HOST, f"""
[DEFAULT]
compute_driver = fake.FakeDriver
all_in_one_computes = 2
[fake_driver]
fail_live_migration_names = {FAILS}
""", delete_timeout=60) as cloud:
        r = cloud.api('POST', '/flavors', json={'flavor': {
            'name': 'fake-tiny', 'id': 'fake-tiny', 'vcpus': 1, 'ram': 64, 'disk': 1}})
        assert r.status_code == 200, r.text
        yield cloud


def _boot(cloud: ProjectCloud, name: str, host: str) -> str:
    r = cloud.api('POST', '/servers', json={'server': {
        'name': name, 'flavorRef': 'fake-tiny', 'imageRef': TINY_IMAGE_ID,
        'networks': 'none', 'host': host}})
    assert r.status_code == 202, r.text
    uuid = str(r.json()['server']['id'])
    cloud.wait(uuid, 'ACTIVE', timeout=60)
    return uuid


def _delete(cloud: ProjectCloud, *uuids: str) -> None:
    for uuid in uuids:
        cloud.api('DELETE', f'/servers/{uuid}')
    for uuid in uuids:
        cloud.wait_gone(uuid, timeout=60)


def _attach(cloud: ProjectCloud, uuid: str, volume_id: str,
            version: str = 'latest') -> Any:
    return cloud.api('POST', f'/servers/{uuid}/os-volume_attachments',
                     json={'volumeAttachment': {'volumeId': volume_id}},
                     headers={'OpenStack-API-Version': f'compute {version}'})


_until = functools.partial(until, timeout=60.0, interval=0.3)


def _hosts(cinder: Cinder, volume_id: str) -> dict[str, str]:
    """server id -> the host Cinder's attachment of the volume is connected to."""
    volume = cinder.volume(volume_id).json()['volume']
    return {a['server_id']: a.get('host_name') for a in volume['attachments']}


def _attached(cinder: Cinder, volume_id: str) -> list[dict[str, Any]]:
    return [a for a in cinder.attachments() if a['volume_id'] == volume_id]


def test_a_multiattach_volume_on_two_servers(fcloud: ProjectCloud, cinder_clean: Cinder,
                                            multiattach_type: str) -> None:
    cloud, cinder = fcloud, cinder_clean
    volume = cinder.create_volume(size=1, name='shared', volume_type=multiattach_type)
    assert cinder.wait_volume(volume['id'], 'available')['multiattach'] is True
    other = cinder.create_volume(size=1, name='swap-target')
    cinder.wait_volume(other['id'], 'available')
    a, b = _boot(cloud, 'multi-a', HOST), _boot(cloud, 'multi-b', HOST2)
    try:
        r = _attach(cloud, a, volume['id'], version='2.59')
        assert r.status_code == 400, r.text
        assert r.json()['badRequest']['message'] == (
            'Multiattach volumes are only supported starting with compute API version '
            '2.60.')
        for uuid in (a, b):     # (Cinder reserves it again only once it is in-use)
            r = _attach(cloud, uuid, volume['id'], version='2.60')
            assert r.status_code == 200, r.text
            cinder.wait_volume(volume['id'], 'in-use')
        _until(lambda: len(_attached(cinder, volume['id'])) == 2 and all(
            x['status'] == 'attached' for x in _attached(cinder, volume['id'])),
            'two attached attachments')
        assert cinder.wait_volume(volume['id'], 'in-use')
        assert _hosts(cinder, volume['id']) == {a: HOST, b: HOST2}

        r = cloud.api('PUT', f"/servers/{a}/os-volume_attachments/{volume['id']}",
                      json={'volumeAttachment': {'volumeId': other['id']}})
        assert r.status_code == 400, r.text
        assert 'multi-attach' in r.json()['badRequest']['message']
        assert cinder.wait_volume(other['id'], 'available')['attachments'] == []

        # Detached from a: b keeps its attachment, the volume stays in-use.
        r = cloud.api('DELETE', f"/servers/{a}/os-volume_attachments/{volume['id']}")
        assert r.status_code == 202, r.text
        _until(lambda: _hosts(cinder, volume['id']) == {b: HOST2}, "a's detach")
        [left] = _attached(cinder, volume['id'])
        assert left['instance'] == b and left['status'] == 'attached'
        assert cinder.wait_volume(volume['id'], 'in-use')
        assert cloud.server(a)['os-extended-volumes:volumes_attached'] == []
        assert [v['id'] for v in cloud.server(b)['os-extended-volumes:volumes_attached']] \
            == [volume['id']]
    finally:
        _delete(cloud, a, b)
    assert cinder.wait_volume(volume['id'], 'available')['attachments'] == []


def _live_migrate(cloud: ProjectCloud, uuid: str, host: str) -> None:
    r = cloud.api('POST', f'/servers/{uuid}/action', json={'os-migrateLive': {
        'host': host, 'block_migration': 'auto'}})
    assert r.status_code == 202, r.text


def test_live_migration_moves_the_attachment(fcloud: ProjectCloud,
                                             cinder_clean: Cinder) -> None:
    cloud, cinder = fcloud, cinder_clean
    volume = cinder.create_volume(size=1, name='lm-data')
    cinder.wait_volume(volume['id'], 'available')
    uuid = _boot(cloud, 'lm-vol', HOST)
    failing = _boot(cloud, FAILS, HOST)
    try:
        assert _attach(cloud, uuid, volume['id']).status_code == 200
        cinder.wait_volume(volume['id'], 'in-use')
        [before] = _attached(cinder, volume['id'])
        assert _hosts(cinder, volume['id']) == {uuid: HOST}

        _live_migrate(cloud, uuid, HOST2)
        _until(lambda: cloud.server(uuid)['OS-EXT-SRV-ATTR:host'] == HOST2 and
               cloud.server(uuid)['OS-EXT-STS:task_state'] is None, 'the move')
        [after] = _attached(cinder, volume['id'])
        assert after['id'] != before['id'] and after['status'] == 'attached'
        assert _hosts(cinder, volume['id']) == {uuid: HOST2}
        assert cinder.wait_volume(volume['id'], 'in-use')
        r = cloud.api('GET', f'/servers/{uuid}/os-volume_attachments',
                      headers={'OpenStack-API-Version': 'compute 2.89'})
        assert [v['attachment_id'] for v in r.json()['volumeAttachments']] == [after['id']]

        # A move that fails half way: the destination's attachment goes, the
        # source's stays as it was.
        second = cinder.create_volume(size=1, name='lm-fails-data')
        cinder.wait_volume(second['id'], 'available')
        assert _attach(cloud, failing, second['id']).status_code == 200
        cinder.wait_volume(second['id'], 'in-use')
        [kept] = _attached(cinder, second['id'])
        _live_migrate(cloud, failing, HOST2)
        server = _until(lambda: (lambda s: s if s['OS-EXT-STS:task_state'] is None and
                                 s['status'] in ('ACTIVE', 'ERROR') else None)(
            cloud.server(failing)), 'the failed move to end')
        assert server['OS-EXT-SRV-ATTR:host'] == HOST
        assert [x['id'] for x in _attached(cinder, second['id'])] == [kept['id']]
        assert _hosts(cinder, second['id']) == {failing: HOST}
        assert cinder.wait_volume(second['id'], 'in-use')
    finally:
        _delete(cloud, uuid, failing)
    for vid in (volume['id'], second['id']):
        assert cinder.wait_volume(vid, 'available')['attachments'] == []


def test_evacuation_reattaches_on_the_new_host(fcloud: ProjectCloud,
                                               cinder_clean: Cinder) -> None:
    cloud, cinder = fcloud, cinder_clean
    volume = cinder.create_volume(size=1, name='ev-data')
    cinder.wait_volume(volume['id'], 'available')
    uuid = _boot(cloud, 'ev-vol', HOST2)
    v253 = {'OpenStack-API-Version': 'compute 2.53'}
    [svc] = cloud.api('GET', f'/os-services?host={HOST2}&binary=nova-compute',
                      headers=v253).json()['services']
    try:
        assert _attach(cloud, uuid, volume['id']).status_code == 200
        cinder.wait_volume(volume['id'], 'in-use')
        [before] = _attached(cinder, volume['id'])
        # The host is down, as far as the API knows (forced down).
        r = cloud.api('PUT', f"/os-services/{svc['id']}", json={'forced_down': True},
                      headers=v253)
        assert r.status_code == 200, r.text
        r = cloud.api('POST', f'/servers/{uuid}/action', json={'evacuate': {}})
        assert r.status_code == 200, r.text
        server = _until(lambda: (lambda s: s if s['OS-EXT-STS:task_state'] is None and
                                 s['status'] in ('ACTIVE', 'SHUTOFF', 'ERROR') else None)(
            cloud.server(uuid)), 'the evacuation')
        assert server['status'] != 'ERROR', server.get('fault')
        assert server['OS-EXT-SRV-ATTR:host'] == HOST
        [after] = _attached(cinder, volume['id'])
        assert after['id'] != before['id'] and after['status'] == 'attached'
        assert _hosts(cinder, volume['id']) == {uuid: HOST}
    finally:
        cloud.api('PUT', f"/os-services/{svc['id']}", json={'forced_down': False},
                  headers=v253)
        _delete(cloud, uuid)
    assert cinder.wait_volume(volume['id'], 'available')['attachments'] == []
