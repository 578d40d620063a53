"""Boot from volume through the all-in-one (fake driver) and the fake Cinder:
volumes made from an image, a snapshot or nothing, an existing volume as the
root, Nova's errors for bad mappings, builds whose volume fails, createImage of
a volume-backed server and booting that image."""
# ruff: noqa: F811  (the fake Cinder fixtures come from test_volumes)
from __future__ import annotations

import json
from typing import Any

from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client
from tests.functional.test_volumes import (  # noqa: F401
    MISSING,
    _at,
    _driver,
    _error,
    cinder,
    clean,
)
from tests.unit.volume.fake_cinder import FakeCinder


def _allocated(placement_base: str, sid: str) -> dict[str, int]:
    import requests
    headers = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.28'}
    allocs = requests.get(f'{placement_base}/allocations/{sid}', headers=headers,
                          timeout=10).json()['allocations']
    return {rc: n for a in allocs.values() for rc, n in a['resources'].items()}


def _boot_bfv(client: Client, name: str, bdms: list[dict[str, Any]],
              wait: str = 'ACTIVE', **extra: Any) -> dict[str, Any]:
    r = client.post('/servers', {'server': {'name': name, 'flavorRef': 'tiny',
                                            'imageRef': '', 'networks': 'none',
                                            'block_device_mapping_v2': bdms, **extra}})
    assert r.status_code == 202, r.text
    server = client.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == wait, server.get('fault')
    return server


def test_boot_from_a_volume_made_from_the_image(admin: Client, aio: AllInOne,
                                                placement_base: str, tiny_flavor: Any,
                                                clean: FakeCinder) -> None:
    server = _boot_bfv(admin, 'bfv-image', [{
        'boot_index': 0, 'source_type': 'image', 'uuid': TINY_IMAGE_ID,
        'destination_type': 'volume', 'volume_size': 1, 'delete_on_termination': True}])
    sid = server['id']
    assert server['image'] == ''
    [vol] = server['os-extended-volumes:volumes_attached']
    assert vol['delete_on_termination'] is True
    made = clean.volumes[vol['id']]
    assert made['image_id'] == TINY_IMAGE_ID and made['size'] == 1
    assert made['status'] == 'in-use'
    # The guest's root disk is the volume; the flavor's disk is not claimed locally.
    assert _driver(aio).guest_volumes(sid)['/dev/vda']['serial'] == vol['id']
    assert 'DISK_GB' not in _allocated(placement_base, sid)
    [att] = admin.get(f'/servers/{sid}/os-volume_attachments').json()['volumeAttachments']
    assert att['device'] == '/dev/vda'
    assert 'root device' in _error(admin.delete(
        f"/servers/{sid}/os-volume_attachments/{vol['id']}"), 400)
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
    assert vol['id'] not in clean.volumes
    assert not clean.live_attachments()


def test_boot_from_an_existing_volume_keeps_it(admin: Client, tiny_flavor: Any,
                                               clean: FakeCinder) -> None:
    boot = clean.add_volume(size=1, name='boot-vol')
    server = _boot_bfv(admin, 'bfv-volume', [{
        'boot_index': 0, 'source_type': 'volume', 'uuid': boot['id'],
        'destination_type': 'volume'}])
    assert server['os-extended-volumes:volumes_attached'] == [
        {'id': boot['id'], 'delete_on_termination': False}]
    assert clean.status(boot['id']) == 'in-use'
    # A volume in use cannot boot a second server.
    r = admin.post('/servers', {'server': {
        'name': 'bfv-2', 'flavorRef': 'tiny', 'imageRef': '', 'networks': 'none',
        'block_device_mapping_v2': [{'boot_index': 0, 'source_type': 'volume',
                                     'uuid': boot['id'], 'destination_type': 'volume'}]}})
    assert "status must be 'available'" in _error(r, 400)
    assert admin.delete(f"/servers/{server['id']}").status_code == 204
    admin.wait_gone(server['id'])
    assert clean.status(boot['id']) == 'available'
    assert not clean.live_attachments()


def test_boot_bdm_errors(admin: Client, tiny_flavor: Any, clean: FakeCinder) -> None:
    def boot(bdms: list[dict[str, Any]]) -> Any:
        return admin.post('/servers', {'server': {
            'name': 'bfv-bad', 'flavorRef': 'tiny', 'imageRef': '', 'networks': 'none',
            'block_device_mapping_v2': bdms}})
    assert _error(boot([{'boot_index': 0, 'source_type': 'volume', 'uuid': MISSING,
                         'destination_type': 'volume'}]), 400) == \
        f'Block Device Mapping is Invalid: failed to get volume {MISSING}.'
    assert _error(boot([{'boot_index': 0, 'source_type': 'snapshot', 'uuid': MISSING,
                         'destination_type': 'volume'}]), 400) == \
        f'Block Device Mapping is Invalid: failed to get snapshot {MISSING}.'
    assert 'non-zero size' in _error(boot([{
        'boot_index': 0, 'source_type': 'image', 'uuid': TINY_IMAGE_ID,
        'destination_type': 'volume'}]), 400)
    r = _at(admin, '2.66').post('/servers', {'server': {
        'name': 'bfv-bad', 'flavorRef': 'tiny', 'imageRef': '', 'networks': 'none',
        'block_device_mapping_v2': [{'boot_index': 0, 'source_type': 'blank',
                                     'destination_type': 'volume', 'volume_size': 1,
                                     'volume_type': 'fast'}]}})
    assert 'volume_type' in _error(r, 400)


def test_build_whose_volume_fails_ends_in_error_and_leaves_nothing(
        admin: Client, tiny_flavor: Any, clean: FakeCinder) -> None:
    clean.fail.add('volume_create_error')
    before = set(clean.volumes)
    server = _boot_bfv(admin, 'bfv-fail', [{
        'boot_index': 0, 'source_type': 'blank', 'destination_type': 'volume',
        'volume_size': 1, 'delete_on_termination': True}], wait='ERROR')
    assert 'did not finish being created' in server['fault']['message']
    assert set(clean.volumes) == before     # the volume it made went with it
    assert admin.delete(f"/servers/{server['id']}").status_code == 204
    admin.wait_gone(server['id'])


def test_build_whose_volume_never_becomes_available_times_out(
        admin: Client, tiny_flavor: Any, clean: FakeCinder) -> None:
    clean.fail.add('never_available')
    CONF.set_override('block_device_allocate_retries', 2)
    CONF.set_override('block_device_allocate_retries_interval', 0)
    try:
        server = _boot_bfv(admin, 'bfv-slow', [{
            'boot_index': 0, 'source_type': 'image', 'uuid': TINY_IMAGE_ID,
            'destination_type': 'volume', 'volume_size': 1}], wait='ERROR')
    finally:
        CONF.clear_override('block_device_allocate_retries')
        CONF.clear_override('block_device_allocate_retries_interval')
    assert 'did not finish being created even after we waited 0 seconds or 3 ' \
        'attempts. And its status is creating.' in server['fault']['message']
    assert admin.delete(f"/servers/{server['id']}").status_code == 204
    admin.wait_gone(server['id'])
    clean.fail.clear()
    # The volume it made (not delete_on_termination) is left to its owner, as Nova.
    left = [v for v in clean.volumes.values() if v['name'].startswith(server['id'])]
    assert len(left) == 1 and not clean.live_attachments(left[0]['id'])
    del clean.volumes[left[0]['id']]


def test_boot_over_the_volume_quota_ends_in_error(admin: Client, tiny_flavor: Any,
                                                  clean: FakeCinder) -> None:
    clean.quota_gb = sum(v['size'] for v in clean.volumes.values())
    try:
        server = _boot_bfv(admin, 'bfv-quota', [{
            'boot_index': 0, 'source_type': 'blank', 'destination_type': 'volume',
            'volume_size': 1}], wait='ERROR')
    finally:
        clean.quota_gb = None
    assert 'gigabytes quota' in server['fault']['message']
    assert admin.delete(f"/servers/{server['id']}").status_code == 204
    admin.wait_gone(server['id'])


def test_snapshot_of_a_boot_from_volume_server_boots_again(admin: Client, tiny_flavor: Any,
                                                           clean: FakeCinder) -> None:
    server = _boot_bfv(admin, 'bfv-snap', [{
        'boot_index': 0, 'source_type': 'image', 'uuid': TINY_IMAGE_ID,
        'destination_type': 'volume', 'volume_size': 1, 'delete_on_termination': True}])
    sid = server['id']
    r = admin.post(f'/servers/{sid}/action', {'createImage': {'name': 'bfv-image'}})
    assert r.status_code == 202, r.text
    image_id = r.json()['image_id']
    [snap] = [s for s in clean.snapshots.values() if s['name'] == 'snapshot for bfv-image']
    image = admin.get(f'/images/{image_id}', headers={
        'OpenStack-API-Version': 'compute 2.35'}).json()['image']
    assert image['status'] == 'ACTIVE'
    [mapping] = json.loads(image['metadata']['block_device_mapping'])
    assert mapping['snapshot_id'] == snap['id'] and mapping['boot_index'] == 0
    # Booting the image makes the root volume from the snapshot.
    r = admin.post('/servers', {'server': {'name': 'bfv-from-snap', 'flavorRef': 'tiny',
                                           'imageRef': image_id, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    again = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert again['status'] == 'ACTIVE', again.get('fault')
    assert again['image'] == ''
    [vol] = again['os-extended-volumes:volumes_attached']
    assert clean.volumes[vol['id']]['snapshot_id'] == snap['id']
    for s in (sid, again['id']):
        assert admin.delete(f'/servers/{s}').status_code == 204
        admin.wait_gone(s)
    assert admin.delete(f'/images/{image_id}', headers={
        'OpenStack-API-Version': 'compute 2.35'}).status_code == 204
    del clean.snapshots[snap['id']]
    assert not clean.live_attachments()
