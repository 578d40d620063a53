"""Multiattach volumes through the all-in-one (fake driver) and the fake Cinder,
as Nova: a volume Cinder marks multiattach attaches to two servers from 2.60
(a 400 before, at attach and at boot), each guest's disk is marked shareable
(connection_info multiattach), a host whose driver cannot share volumes
refuses it, a swap of a volume with two read/write attachments is a 400, and
detaching it from one server keeps the other's attachment."""
# ruff: noqa: F811  (the fake Cinder fixtures come from test_volumes)
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from minova.cmd.all_in_one import AllInOne
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client
from tests.functional.test_volumes import (  # noqa: F401
    _at,
    _attach,
    _driver,
    _error,
    _wait,
    cinder,
    clean,
)
from tests.unit.volume.fake_cinder import FakeCinder

OLD = 'Multiattach volumes are only supported starting with compute API version 2.60.'


def _boot(admin: Client, name: str) -> str:
    r = admin.post('/servers', {'server': {'name': name, 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    return str(server['id'])


@pytest.fixture
def two(admin: Client, tiny_flavor: Any, cinder: FakeCinder) -> Iterator[list[str]]:
    servers = [_boot(admin, 'multi-a'), _boot(admin, 'multi-b')]
    yield servers
    for sid in servers:
        admin.delete(f'/servers/{sid}')
    for sid in servers:
        admin.wait_gone(sid)


def test_a_multiattach_volume_attaches_to_two_servers(
        admin: Client, aio: AllInOne, two: list[str], clean: FakeCinder) -> None:
    a, b = two
    vol = clean.add_volume(multiattach=True)
    assert _error(_attach(_at(admin, '2.59'), a, vol['id']), 400) == OLD
    assert clean.status(vol['id']) == 'available' and not clean.live_attachments()
    for sid in (a, b):
        assert _attach(_at(admin, '2.60'), sid, vol['id']).status_code == 200
        _wait(lambda sid=sid: any(x['instance'] == sid and x['status'] == 'attached'
                                  for x in clean.live_attachments(vol['id'])))
    assert clean.status(vol['id']) == 'in-use'
    assert len(clean.live_attachments(vol['id'])) == 2
    for sid in (a, b):
        [info] = _driver(aio).guest_volumes(sid).values()
        assert info['serial'] == vol['id'] and info['multiattach'] is True
        assert [v['id'] for v in admin.get(f'/servers/{sid}').json()['server'][
            'os-extended-volumes:volumes_attached']] == [vol['id']]

    # Twice to the same server: no.
    assert 'already attached' in _error(_attach(admin, a, vol['id']), 400)
    # A swap of a volume two servers write to: Nova's 400.
    new = clean.add_volume()
    r = admin.put(f"/servers/{a}/os-volume_attachments/{vol['id']}",
                  {'volumeAttachment': {'volumeId': new['id']}})
    assert _error(r, 400) == ('Swapping multi-attach volumes with more than one read/write '
                              'attachment is not supported.')
    assert clean.status(new['id']) == 'available'

    # Detached from one server: the other keeps it.
    assert admin.delete(f"/servers/{a}/os-volume_attachments/{vol['id']}"
                        ).status_code == 202
    _wait(lambda: [x['instance'] for x in clean.live_attachments(vol['id'])] == [b])
    assert clean.status(vol['id']) == 'in-use'
    assert _driver(aio).guest_volumes(a) == {}
    assert list(_driver(aio).guest_volumes(b).values())[0]['serial'] == vol['id']
    assert admin.delete(f"/servers/{b}/os-volume_attachments/{vol['id']}"
                        ).status_code == 202
    _wait(lambda: clean.status(vol['id']) == 'available')
    assert not clean.live_attachments()


def test_boot_with_a_multiattach_volume_needs_2_60(
        admin: Client, tiny_flavor: Any, clean: FakeCinder) -> None:
    vol = clean.add_volume(multiattach=True)
    body = {'server': {'name': 'multi-boot', 'flavorRef': 'tiny', 'imageRef': '',
                       'networks': 'none', 'block_device_mapping_v2': [{
                           'boot_index': 0, 'source_type': 'volume', 'uuid': vol['id'],
                           'destination_type': 'volume'}]}}
    assert _error(_at(admin, '2.59').post('/servers', body), 400) == OLD
    r = _at(admin, '2.60').post('/servers', body)
    assert r.status_code == 202, r.text
    sid = r.json()['server']['id']
    server = admin.wait_for_status(sid, {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    assert clean.status(vol['id']) == 'in-use'
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
    assert clean.status(vol['id']) == 'available' and not clean.live_attachments()


def test_a_driver_that_cannot_share_volumes_refuses_them(
        admin: Client, aio: AllInOne, two: list[str], clean: FakeCinder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    driver = _driver(aio)
    monkeypatch.setattr(driver, 'capabilities',
                        dict(driver.capabilities, supports_multiattach=False))
    vol = clean.add_volume(multiattach=True)
    assert _error(_attach(admin, two[0], vol['id']), 400) == (
        f"Volume {vol['id']} has 'multiattach' set, which is not supported for this "
        'instance.')
    assert clean.status(vol['id']) == 'available' and not clean.live_attachments()
    assert admin.get(f'/servers/{two[0]}/os-volume_attachments').json()[
        'volumeAttachments'] == []
