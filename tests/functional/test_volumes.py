"""Volumes through the whole all-in-one (fake driver) against the fake Cinder of
tests/unit/volume over HTTP: attach, list, show, detach, volumes_attached per
microversion, delete_on_termination, the rollbacks, Nova's error bodies, and
nothing left attaching or detaching in Cinder. (The integration tier runs the
same story against the real Cinder and libvirt.)"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from minova import exception
from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from minova.image.builtin import TINY_IMAGE_ID
from minova.volume import cinder as cinder_client
from tests.functional.conftest import Client, compute_service
from tests.unit.volume.fake_cinder import FakeCinder, serve

MISSING = '11111111-2222-3333-4444-555555555555'


@pytest.fixture(scope='module')
def cinder(aio: AllInOne) -> Iterator[FakeCinder]:
    import minova.conf
    minova.conf.register_client_opts()
    fake = FakeCinder()
    url, stop = serve(fake)      # project-less /v3: microversion 3.67 and later
    fake.url = url
    CONF.set_override('endpoint_override', url, group='cinder')
    CONF.set_override('http_retries', 0, group='cinder')
    cinder_client.set_client(None)
    yield fake
    stop()
    cinder_client.set_client(None)
    CONF.clear_override('endpoint_override', group='cinder')
    CONF.clear_override('http_retries', group='cinder')


@pytest.fixture
def clean(cinder: FakeCinder) -> Iterator[FakeCinder]:
    cinder.fail.clear()
    yield cinder
    cinder.fail.clear()
    # Nothing a test leaves half-way in Cinder.
    assert not [v for v in cinder.volumes.values()
                if v['status'] in ('attaching', 'detaching', 'reserved')]


@pytest.fixture
def server(admin: Client, tiny_flavor: Any, cinder: FakeCinder
           ) -> Iterator[dict[str, Any]]:
    r = admin.post('/servers', {'server': {'name': 'vol-vm', 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    yield server
    admin.delete(f"/servers/{server['id']}")
    admin.wait_gone(server['id'])


def _wait(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, 'condition not reached'
        time.sleep(0.05)


def _at(client: Client, version: str) -> Client:
    c = Client(client.base, microversion=version)
    c.session.headers['X-Auth-Token'] = client.session.headers['X-Auth-Token']
    return c


def _attach(client: Client, sid: str, vid: str, **extra: Any) -> Any:
    return client.post(f'/servers/{sid}/os-volume_attachments',
                       {'volumeAttachment': {'volumeId': vid, **extra}})


def _attach_in_use(client: Client, cinder: FakeCinder, sid: str, vid: str) -> None:
    assert _attach(client, sid, vid).status_code == 200
    _wait(lambda: cinder.status(vid) == 'in-use')


def _detach_available(client: Client, cinder: FakeCinder, sid: str, vid: str) -> None:
    assert client.delete(f'/servers/{sid}/os-volume_attachments/{vid}').status_code == 202
    _wait(lambda: cinder.status(vid) == 'available')


def _shelve_offload(client: Client, sid: str) -> None:
    """Shelve with shelved_offload_time = 0: offloaded at once."""
    CONF.set_override('shelved_offload_time', 0)
    try:
        assert client.post(f'/servers/{sid}/action', {'shelve': None}).status_code == 202
        client.wait_for_status(sid, {'SHELVED_OFFLOADED'})
    finally:
        CONF.clear_override('shelved_offload_time')


def _error(r: Any, code: int) -> str:
    assert r.status_code == code, r.text
    return str(next(iter(r.json().values()))['message'])


def _events(client: Client, sid: str, action: str) -> list[dict[str, Any]]:
    actions = client.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
    req = next(a['request_id'] for a in actions if a['action'] == action)
    return list(client.get(f'/servers/{sid}/os-instance-actions/{req}'
                           ).json()['instanceAction']['events'])


def _driver(aio: AllInOne) -> Any:
    return compute_service(aio, aio.host).manager.driver


def test_attach_list_show_detach(admin: Client, aio: AllInOne, server: dict[str, Any],
                                 clean: FakeCinder) -> None:
    sid = server['id']
    vol = clean.add_volume(size=1, name='data1')
    r = _attach(_at(admin, '2.79'), sid, vol['id'], device='/dev/vdb',
                delete_on_termination=False)
    assert r.status_code == 200, r.text
    assert r.json()['volumeAttachment'] == {
        'id': vol['id'], 'serverId': sid, 'volumeId': vol['id'], 'device': '/dev/vdb',
        'tag': None, 'delete_on_termination': False}
    _wait(lambda: clean.status(vol['id']) == 'in-use')
    # The guest has it, with Cinder's connection info and the volume id as serial.
    disk = _driver(aio).guest_volumes(sid)['/dev/vdb']
    assert disk['driver_volume_type'] == 'rbd' and disk['serial'] == vol['id']

    [att] = _at(admin, '2.89').get(f'/servers/{sid}/os-volume_attachments'
                                   ).json()['volumeAttachments']
    [cinder_att] = clean.live_attachments(vol['id'])
    assert att['attachment_id'] == cinder_att['id'] and 'id' not in att
    assert att['bdm_uuid'] and att['device'] == '/dev/vdb'
    old = _at(admin, '2.1').get(f"/servers/{sid}/os-volume_attachments/{vol['id']}").json()
    assert old == {'volumeAttachment': {'id': vol['id'], 'serverId': sid,
                                        'volumeId': vol['id'], 'device': '/dev/vdb'}}
    # volumes_attached: ids at 2.1, delete_on_termination from 2.3
    assert _at(admin, '2.1').get(f'/servers/{sid}').json()['server'][
        'os-extended-volumes:volumes_attached'] == [{'id': vol['id']}]
    detail = _at(admin, '2.3').get('/servers/detail').json()['servers']
    mine = next(s for s in detail if s['id'] == sid)
    assert mine['os-extended-volumes:volumes_attached'] == [
        {'id': vol['id'], 'delete_on_termination': False}]

    r = admin.delete(f"/servers/{sid}/os-volume_attachments/{vol['id']}")
    assert r.status_code == 202, r.text
    _wait(lambda: clean.status(vol['id']) == 'available')
    assert not clean.live_attachments(vol['id'])
    assert admin.get(f'/servers/{sid}/os-volume_attachments').json() == {
        'volumeAttachments': []}
    assert _driver(aio).guest_volumes(sid) == {}


def test_attach_and_detach_errors(admin: Client, api_base: str, server: dict[str, Any],
                                  clean: FakeCinder) -> None:
    sid = server['id']
    assert _error(_attach(admin, sid, MISSING), 404) == \
        f'Volume {MISSING} could not be found.'
    busy = clean.add_volume(status='in-use')
    assert 'current status is in-use' in _error(_attach(admin, sid, busy['id']), 400)
    assert admin.get(f'/servers/{sid}/os-volume_attachments').json()[
        'volumeAttachments'] == []
    vol = clean.add_volume()
    _attach_in_use(admin, clean, sid, vol['id'])
    assert 'already attached' in _error(_attach(admin, sid, vol['id']), 400)
    other = clean.add_volume()
    assert _error(admin.delete(f"/servers/{sid}/os-volume_attachments/{other['id']}"),
                  404) == f"Instance {sid} is not attached to volume {other['id']}"
    assert _error(admin.get(f"/servers/{sid}/os-volume_attachments/{other['id']}"),
                  404) == f"Instance {sid} is not attached to volume {other['id']}"
    bad = _attach(admin, sid, 'not-a-uuid')
    assert bad.status_code == 400 and 'badRequest' in bad.json()
    # A locked server refuses its owner (the admin who locked it may).
    owner = Client(api_base, token='demo:admin')
    admin.post(f'/servers/{sid}/action', {'lock': None})
    try:
        msg = _error(_attach(owner, sid, other['id']), 409)
        assert msg == f'Instance {sid} is locked'
    finally:
        admin.post(f'/servers/{sid}/action', {'unlock': None})
    # 2.85: delete_on_termination updated; the device cannot change.
    path = f"/servers/{sid}/os-volume_attachments/{vol['id']}"
    r = _at(admin, '2.85').put(path, {'volumeAttachment': {
        'volumeId': vol['id'], 'delete_on_termination': True}})
    assert r.status_code == 202, r.text
    assert _at(admin, '2.85').get(path).json()['volumeAttachment'][
        'delete_on_termination'] is True
    r = _at(admin, '2.85').put(path, {'volumeAttachment': {'volumeId': vol['id'],
                                                           'device': '/dev/vdz'}})
    assert r.status_code == 400, r.text
    assert admin.delete(path).status_code == 202
    _wait(lambda: clean.status(vol['id']) == 'available')


def test_attach_that_cannot_complete_is_rolled_back(admin: Client, server: dict[str, Any],
                                                    clean: FakeCinder) -> None:
    sid = server['id']
    vol = clean.add_volume()
    clean.fail.add('attachment_complete')
    assert _attach(admin, sid, vol['id']).status_code == 200
    _wait(lambda: not clean.live_attachments(vol['id']))
    assert clean.status(vol['id']) == 'available'
    _wait(lambda: admin.get(f'/servers/{sid}/os-volume_attachments').json()[
        'volumeAttachments'] == [])
    [event] = _events(admin, sid, 'attach_volume')
    assert event['event'] == 'compute_attach_volume' and event['result'] == 'Error'
    assert admin.get(f'/servers/{sid}').json()['server']['status'] == 'ACTIVE'


def test_detach_the_guest_refuses_keeps_the_volume(admin: Client, aio: AllInOne,
                                                   server: dict[str, Any],
                                                   clean: FakeCinder,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sid = server['id']
    vol = clean.add_volume()
    _attach_in_use(admin, clean, sid, vol['id'])

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise exception.DeviceDetachFailed(device='vdb', reason='the guest kept it')
    monkeypatch.setattr(_driver(aio), 'detach_volume', refuse)
    assert admin.delete(f"/servers/{sid}/os-volume_attachments/{vol['id']}"
                        ).status_code == 202
    _wait(lambda: any(e['result'] == 'Error'
                      for e in _events(admin, sid, 'detach_volume')))
    _wait(lambda: clean.status(vol['id']) == 'in-use')
    assert len(clean.live_attachments(vol['id'])) == 1
    assert admin.get(f'/servers/{sid}').json()['server']['status'] == 'ACTIVE'
    assert len(admin.get(f'/servers/{sid}/os-volume_attachments').json()[
        'volumeAttachments']) == 1
    monkeypatch.undo()
    _detach_available(admin, clean, sid, vol['id'])


def test_delete_detaches_and_deletes_on_termination(admin: Client, tiny_flavor: Any,
                                                    clean: FakeCinder) -> None:
    r = admin.post('/servers', {'server': {'name': 'vol-del', 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    sid = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE'})['id']
    keep, drop = clean.add_volume(name='keep'), clean.add_volume(name='drop')
    v279 = _at(admin, '2.79')
    assert _attach(v279, sid, keep['id']).status_code == 200
    assert _attach(v279, sid, drop['id'], delete_on_termination=True).status_code == 200
    _wait(lambda: clean.status(keep['id']) == clean.status(drop['id']) == 'in-use')
    devices = sorted(a['device'] for a in admin.get(
        f'/servers/{sid}/os-volume_attachments').json()['volumeAttachments'])
    assert devices == ['/dev/vdb', '/dev/vdc']
    # Cinder fails the delete: the server is in ERROR with a fault; a second
    # delete finishes it.
    clean.fail.add('volume_delete')
    assert admin.delete(f'/servers/{sid}').status_code == 204
    failed = admin.wait_for_status(sid, {'ERROR'})
    assert failed['fault']['code'] == 500
    clean.fail.clear()
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
    assert drop['id'] not in clean.volumes
    assert clean.status(keep['id']) == 'available'
    assert not clean.live_attachments()


def test_without_cinder_volume_requests_say_no_volume_service(
        admin: Client, server: dict[str, Any], cinder: FakeCinder) -> None:
    CONF.clear_override('endpoint_override', group='cinder')
    cinder_client.set_client(None)
    try:
        r = _attach(admin, server['id'], MISSING)
        assert r.json()['notImplemented']['message'] == (
            'No volume service is configured ([cinder]): volumes are not available.')
        assert _error(_at(admin, '2.35').get('/os-volumes'), 501)
        # The rest of the server's API does not notice.
        assert admin.get(f"/servers/{server['id']}").json()['server'][
            'os-extended-volumes:volumes_attached'] == []
    finally:
        CONF.set_override('endpoint_override', cinder.url, group='cinder')
        cinder_client.set_client(None)


def test_volume_extended_event_grows_the_guests_disk(admin: Client, aio: AllInOne,
                                                     server: dict[str, Any],
                                                     clean: FakeCinder) -> None:
    sid = server['id']
    vol = clean.add_volume(size=1)
    _attach_in_use(admin, clean, sid, vol['id'])
    clean.volumes[vol['id']]['size'] = 2      # Cinder extended it, then tells Nova
    r = _at(admin, '2.51').post('/os-server-external-events', {'events': [
        {'name': 'volume-extended', 'server_uuid': sid, 'tag': vol['id']}]},
        headers={'X-Roles': 'admin,service'})     # Cinder's token: the service role
    assert r.status_code == 200, r.text
    assert r.json()['events'][0]['code'] == 200
    _wait(lambda: _driver(aio).guest_volume_sizes(sid).get(vol['id']) == 2 * 1024 ** 3)
    _detach_available(admin, clean, sid, vol['id'])


def test_delete_while_the_host_is_down_releases_the_volumes(
        admin: Client, aio: AllInOne, tiny_flavor: Any, clean: FakeCinder) -> None:
    r = admin.post('/servers', {'server': {'name': 'vol-local', 'flavorRef': 'tiny',
                                           'imageRef': TINY_IMAGE_ID, 'networks': 'none'}})
    sid = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE'})['id']
    keep, drop = clean.add_volume(), clean.add_volume()
    v279 = _at(admin, '2.79')
    assert _attach(v279, sid, keep['id']).status_code == 200
    assert _attach(v279, sid, drop['id'], delete_on_termination=True).status_code == 200
    _wait(lambda: clean.status(keep['id']) == clean.status(drop['id']) == 'in-use')
    v253 = _at(admin, '2.53')
    [svc] = v253.get(f'/os-services?host={aio.host}&binary=nova-compute'
                     ).json()['services']
    assert v253.put(f"/os-services/{svc['id']}", {'forced_down': True}).status_code == 200
    try:
        assert admin.delete(f'/servers/{sid}').status_code == 204
        admin.wait_gone(sid)
    finally:
        assert v253.put(f"/os-services/{svc['id']}",
                        {'forced_down': False}).status_code == 200
        _driver(aio).destroy(None, {'uuid': sid}, [])    # the host's guest, as its reap
    assert drop['id'] not in clean.volumes
    assert clean.status(keep['id']) == 'available'
    assert not clean.live_attachments()


def test_admin_swaps_an_attached_volume(admin: Client, api_base: str, aio: AllInOne,
                                        server: dict[str, Any], clean: FakeCinder) -> None:
    sid = server['id']
    old, new = clean.add_volume(size=1), clean.add_volume(size=2)
    assert _attach(admin, sid, old['id']).status_code == 200
    _wait(lambda: clean.status(old['id']) == 'in-use')
    path = f"/servers/{sid}/os-volume_attachments/{old['id']}"
    member = Client(api_base, token='demo:admin')
    r = member.put(path, {'volumeAttachment': {'volumeId': new['id']}})
    assert _error(r, 403).startswith('Policy doesn\'t allow')
    r = _at(admin, '2.1').put(path, {'volumeAttachment': {'volumeId': new['id']}})
    assert r.status_code == 202, r.text
    _wait(lambda: clean.status(new['id']) == 'in-use')
    _wait(lambda: clean.status(old['id']) == 'available')
    [att] = admin.get(f'/servers/{sid}/os-volume_attachments').json()['volumeAttachments']
    assert att['volumeId'] == new['id'] and att['device'] == '/dev/vdb'
    assert _driver(aio).guest_volumes(sid)['/dev/vdb']['serial'] == new['id']
    assert admin.delete(f"/servers/{sid}/os-volume_attachments/{new['id']}"
                        ).status_code == 202
    _wait(lambda: clean.status(new['id']) == 'available')


def test_os_volumes_and_os_snapshots_proxies(admin: Client, server: dict[str, Any],
                                             clean: FakeCinder) -> None:
    v235 = _at(admin, '2.35')
    r = v235.post('/os-volumes', {'volume': {'size': 1, 'display_name': 'pv',
                                             'metadata': {'k': 'v'}}})
    assert r.status_code == 200, r.text
    vol = r.json()['volume']
    assert vol['displayName'] == 'pv' and vol['size'] == 1 and vol['attachments'] == [{}]
    assert vol['metadata'] == {'k': 'v'}
    shown = v235.get(f"/os-volumes/{vol['id']}").json()['volume']
    assert shown['status'] == 'available'
    assert _attach(admin, server['id'], vol['id']).status_code == 200
    _wait(lambda: clean.status(vol['id']) == 'in-use')
    listed = next(v for v in v235.get('/os-volumes/detail').json()['volumes']
                  if v['id'] == vol['id'])
    assert listed['attachments'] == [{'id': vol['id'], 'volumeId': vol['id'],
                                      'serverId': server['id'], 'device': '/dev/vdb'}]
    r = v235.post('/os-snapshots', {'snapshot': {'volume_id': vol['id'], 'force': True,
                                                 'display_name': 'ps'}})
    assert r.status_code == 200, r.text
    snap = r.json()['snapshot']
    assert snap['volumeId'] == vol['id'] and snap['displayName'] == 'ps'
    assert any(s['id'] == snap['id']
               for s in v235.get('/os-snapshots').json()['snapshots'])
    assert v235.delete(f"/os-snapshots/{snap['id']}").status_code == 202
    assert _error(v235.get(f"/os-volumes/{MISSING}"), 404) == \
        f'Volume {MISSING} could not be found.'
    assert _at(admin, '2.36').get('/os-volumes').status_code == 404
    _detach_available(admin, clean, server['id'], vol['id'])
    assert v235.delete(f"/os-volumes/{vol['id']}").status_code == 202
    assert vol['id'] not in clean.volumes


def test_shelve_offload_and_unshelve_keep_the_volume(admin: Client, aio: AllInOne,
                                                     server: dict[str, Any],
                                                     clean: FakeCinder) -> None:
    sid = server['id']
    vol = clean.add_volume()
    _attach_in_use(admin, clean, sid, vol['id'])
    _shelve_offload(admin, sid)
    # Still the server's volume, with no host's connection.
    [att] = clean.live_attachments(vol['id'])
    assert att['instance'] == sid and not att['connection_info']
    assert clean.status(vol['id']) == 'reserved'     # as Cinder: its only attachment's
    assert admin.post(f'/servers/{sid}/action', {'unshelve': None}).status_code == 202
    admin.wait_for_status(sid, {'ACTIVE'})
    [att] = clean.live_attachments(vol['id'])
    assert att['status'] == 'attached' and att['connection_info']
    assert _driver(aio).guest_volumes(sid)['/dev/vdb']['serial'] == vol['id']
    _detach_available(admin, clean, sid, vol['id'])


def test_cold_migrate_revert_and_confirm_keep_the_volume(
        admin: Client, aio: AllInOne, server: dict[str, Any], clean: FakeCinder) -> None:
    sid = server['id']
    vol = clean.add_volume()
    _attach_in_use(admin, clean, sid, vol['id'])
    url = f'/servers/{sid}/action'

    def connected_once() -> None:
        [att] = clean.live_attachments(vol['id'])
        assert att['status'] == 'attached' and att['connection_info']
        assert att['connector']['host'] == aio.host
        assert _driver(aio).guest_volumes(sid)['/dev/vdb']['serial'] == vol['id']
        assert clean.status(vol['id']) == 'in-use'

    CONF.set_override('allow_resize_to_same_host', True)
    try:
        for finish in ('revertResize', 'confirmResize'):
            assert admin.post(url, {'migrate': {'host': aio.host}}).status_code == 202
            server = admin.wait_for_status(sid, {'VERIFY_RESIZE', 'ERROR'})
            assert server['status'] == 'VERIFY_RESIZE', server.get('fault')
            connected_once()
            assert admin.post(url, {finish: None}).status_code in (202, 204)
            admin.wait_for_status(sid, {'ACTIVE'})
            _wait(lambda: admin.get(f'/servers/{sid}').json()['server'][
                'OS-EXT-STS:task_state'] is None)
            connected_once()
    finally:
        CONF.clear_override('allow_resize_to_same_host')
    _detach_available(admin, clean, sid, vol['id'])


def test_attach_to_a_shelved_offloaded_server_connects_on_unshelve(
        admin: Client, aio: AllInOne, server: dict[str, Any], clean: FakeCinder) -> None:
    sid = server['id']
    _shelve_offload(admin, sid)
    vol, other = clean.add_volume(), clean.add_volume()
    r = _attach(admin, sid, vol['id'])
    assert r.status_code == 200, r.text
    assert r.json()['volumeAttachment']['device'] is None
    # in-use at once, as Nova marks it (Tempest's AttachVolumeShelveTestJSON waits for it)
    assert clean.status(vol['id']) == 'in-use'
    assert _attach(admin, sid, other['id']).status_code == 200
    # Detached again with no host: the attachment and the mapping go at once.
    r = admin.delete(f"/servers/{sid}/os-volume_attachments/{other['id']}")
    assert r.status_code == 202, r.text
    assert clean.status(other['id']) == 'available'
    assert admin.post(f'/servers/{sid}/action', {'unshelve': None}).status_code == 202
    admin.wait_for_status(sid, {'ACTIVE'})
    _wait(lambda: clean.status(vol['id']) == 'in-use')
    [att] = admin.get(f'/servers/{sid}/os-volume_attachments').json()['volumeAttachments']
    assert att['volumeId'] == vol['id'] and att['device'] == '/dev/vdb'
    assert _driver(aio).guest_volumes(sid)['/dev/vdb']['serial'] == vol['id']
    _detach_available(admin, clean, sid, vol['id'])
