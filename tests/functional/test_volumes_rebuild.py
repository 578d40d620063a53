"""Rebuild of a volume-backed server through the all-in-one (fake driver) and
the fake Cinder, per microversion, as Nova: before 2.93 another image than the
one the root volume was made from is a 400 (the same one rebuilds the guest
on the volume as it is); from 2.93 the host has Cinder reimage the root volume
(os-reimage, the volume kept reserved meanwhile) and waits for Cinder's
volume-reimaged event; a failed event leaves the server in ERROR with a fault.
Nothing stays reserved, attaching or detaching in Cinder."""
# ruff: noqa: F811  (the fake Cinder fixtures come from test_volumes)
from __future__ import annotations

from typing import Any

from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client
from tests.functional.test_volumes import _at, _driver, _error, _wait, cinder, clean  # noqa: F401
from tests.functional.test_volumes_boot import _boot_bfv
from tests.unit.volume.fake_cinder import FakeCinder

UNACCEPTABLE = ('Image {} is unacceptable: Unable to rebuild with a different image for a '
                'volume-backed server.')


def _cinder_reports(admin: Client, clean: FakeCinder, sid: str) -> None:
    """The fake Cinder posts volume-reimaged after each os-reimage of a
    reserved volume, as Cinder does (its service token's roles)."""
    def post(volume: dict[str, Any]) -> None:
        r = _at(admin, '2.93').post('/os-server-external-events', {'events': [
            {'name': 'volume-reimaged', 'server_uuid': sid, 'tag': volume['id']}]},
            headers={'X-Roles': 'admin,service'})
        assert r.status_code == 200, r.text
    clean.on_reimage = post


def _rebuild(client: Client, sid: str, image: str) -> Any:
    return client.post(f'/servers/{sid}/action', {'rebuild': {'imageRef': image}})


def test_before_2_93_only_the_volume_s_own_image_rebuilds(
        admin: Client, aio: AllInOne, tiny_flavor: Any, clean: FakeCinder) -> None:
    v292 = _at(admin, '2.92')
    # A server on a volume made from the image: that image rebuilds it in place.
    server = _boot_bfv(admin, 'bfv-same', [{
        'boot_index': 0, 'source_type': 'image', 'uuid': TINY_IMAGE_ID,
        'destination_type': 'volume', 'volume_size': 1, 'delete_on_termination': True}])
    sid = server['id']
    [vol] = server['os-extended-volumes:volumes_attached']
    [before] = clean.live_attachments(vol['id'])
    assert _rebuild(v292, sid, TINY_IMAGE_ID).status_code == 202
    again = admin.wait_for_status(sid, {'ACTIVE', 'ERROR'})
    assert again['status'] == 'ACTIVE' and again['image'] == ''
    assert clean.reimaged == []
    assert [a['id'] for a in clean.live_attachments(vol['id'])] == [before['id']]
    assert _driver(aio).guest_volumes(sid)['/dev/vda']['serial'] == vol['id']
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)

    # A server on a volume of no image: any image is another one.
    boot = clean.add_volume(size=1)
    server = _boot_bfv(admin, 'bfv-other', [{
        'boot_index': 0, 'source_type': 'volume', 'uuid': boot['id'],
        'destination_type': 'volume'}])
    assert _error(_rebuild(v292, server['id'], TINY_IMAGE_ID), 400) == \
        UNACCEPTABLE.format(TINY_IMAGE_ID)
    # A volume that is not in-use (Cinder says detaching): 400 at any version.
    clean.volumes[boot['id']]['status'] = 'detaching'
    assert _error(_rebuild(admin, server['id'], TINY_IMAGE_ID), 400) == (
        f"Invalid volume: volume '{boot['id']}' status must be 'in-use'. Currently in "
        "'detaching' status")
    clean.volumes[boot['id']]['status'] = 'in-use'
    # volume-reimaged is an event name from 2.93 only.
    r = v292.post('/os-server-external-events', {'events': [
        {'name': 'volume-reimaged', 'server_uuid': server['id'], 'tag': boot['id']}]},
        headers={'X-Roles': 'admin,service'})
    assert r.status_code == 400, r.text
    assert admin.delete(f"/servers/{server['id']}").status_code == 204
    admin.wait_gone(server['id'])
    assert clean.status(boot['id']) == 'available' and not clean.live_attachments()


def test_from_2_93_cinder_reimages_the_root_volume(
        admin: Client, aio: AllInOne, tiny_flavor: Any, clean: FakeCinder) -> None:
    boot = clean.add_volume(size=1)
    data = clean.add_volume(size=1)
    server = _boot_bfv(admin, 'bfv-reimage', [{
        'boot_index': 0, 'source_type': 'volume', 'uuid': boot['id'],
        'destination_type': 'volume'}, {
        'boot_index': -1, 'source_type': 'volume', 'uuid': data['id'],
        'destination_type': 'volume'}])
    sid = server['id']
    old = {a['id'] for a in clean.live_attachments()}
    _cinder_reports(admin, clean, sid)
    try:
        r = _rebuild(_at(admin, '2.93'), sid, TINY_IMAGE_ID)
        assert r.status_code == 202, r.text
        again = admin.wait_for_status(sid, {'ACTIVE', 'ERROR'})
    finally:
        clean.on_reimage = None
    assert again['status'] == 'ACTIVE', again.get('fault')
    assert again['image'] == ''         # still a volume-backed server
    assert clean.reimaged == [(boot['id'], TINY_IMAGE_ID)]
    # Each volume connected again through a new attachment; the old ones gone.
    now = clean.live_attachments()
    assert len(now) == 2 and not old & {a['id'] for a in now}
    assert all(a['status'] == 'attached' for a in now)
    assert clean.status(boot['id']) == clean.status(data['id']) == 'in-use'
    guest = _driver(aio).guest_volumes(sid)
    assert guest['/dev/vda']['serial'] == boot['id']
    assert guest['/dev/vdb']['serial'] == data['id']
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
    assert clean.status(boot['id']) == clean.status(data['id']) == 'available'
    assert not clean.live_attachments()
    clean.reimaged.clear()


def test_a_failed_reimage_leaves_the_server_in_error(
        admin: Client, tiny_flavor: Any, clean: FakeCinder) -> None:
    boot = clean.add_volume(size=1)
    server = _boot_bfv(admin, 'bfv-reimage-fails', [{
        'boot_index': 0, 'source_type': 'volume', 'uuid': boot['id'],
        'destination_type': 'volume'}])
    sid = server['id']
    # Cinder's reimage fails: the volume goes to error and Nova hears nothing;
    # the host gives up after reimage_timeout_per_gb (1 s a GiB here).
    _cinder_reports(admin, clean, sid)
    clean.fail.add('reimage')
    CONF.set_override('reimage_timeout_per_gb', 1)
    try:
        assert _rebuild(_at(admin, '2.93'), sid, TINY_IMAGE_ID).status_code == 202
        again = admin.wait_for_status(sid, {'ERROR'})
    finally:
        clean.on_reimage = None
        clean.fail.discard('reimage')
        CONF.clear_override('reimage_timeout_per_gb')
    assert again['fault']['message'] == (
        f'Build of instance {sid} aborted: Failed to rebuild volume backed instance.')
    assert again['OS-EXT-STS:task_state'] is None
    # The volume is still the server's (attached to it in Cinder's eyes), and
    # the server's delete frees it.
    assert [a['instance'] for a in clean.live_attachments(boot['id'])] == [sid]
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
    assert clean.status(boot['id']) == 'available' and not clean.live_attachments()
    clean.reimaged.clear()
