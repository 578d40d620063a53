"""Servers with volumes moved between two hosts (fake driver, fake Cinder): a
live migration connects the volumes on the destination before the guest moves
and drops the source's attachments after, as Nova."""
from __future__ import annotations

import time
from typing import Any

from minova.cmd.all_in_one import AllInOne
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client, compute_service
from tests.functional.test_volumes import _attach, _wait, cinder, clean  # noqa: F401
from tests.unit.volume.fake_cinder import FakeCinder


def _boot_on(admin: Client, name: str, host: str) -> dict[str, Any]:
    r = admin.post('/servers', {'server': {
        'name': name, 'flavorRef': 'tiny', 'imageRef': TINY_IMAGE_ID, 'networks': 'none',
        'host': host}}, headers={'OpenStack-API-Version': 'compute 2.74'})
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    return server


def test_live_migration_moves_the_volume_connections(
        admin: Client, aio: AllInOne, tiny_flavor: Any, second_compute: str,
        clean: FakeCinder) -> None:  # noqa: F811
    sid = _boot_on(admin, 'vol-lm', aio.host)['id']
    vol = clean.add_volume()
    assert _attach(admin, sid, vol['id']).status_code == 200
    _wait(lambda: clean.status(vol['id']) == 'in-use')
    [before] = clean.live_attachments(vol['id'])
    r = admin.post(f'/servers/{sid}/action', {'os-migrateLive': {
        'host': second_compute, 'block_migration': 'auto'}})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 30
    while True:
        server = admin.get(f'/servers/{sid}').json()['server']
        if server['OS-EXT-STS:task_state'] is None and \
                server['OS-EXT-SRV-ATTR:host'] == second_compute:
            break
        assert time.monotonic() < deadline, server
        time.sleep(0.05)
    [after] = clean.live_attachments(vol['id'])
    assert after['id'] != before['id'] and after['status'] == 'attached'
    assert after['connector']['host'] == second_compute
    assert clean.status(vol['id']) == 'in-use'
    dest = compute_service(aio, second_compute).manager.driver
    assert dest.guest_volumes(sid)['/dev/vdb']['serial'] == vol['id']
    [att] = admin.get(f'/servers/{sid}/os-volume_attachments',
                      headers={'OpenStack-API-Version': 'compute 2.89'}
                      ).json()['volumeAttachments']
    assert att['attachment_id'] == after['id']
    assert admin.delete(f'/servers/{sid}').status_code == 204
    admin.wait_gone(sid)
    assert clean.status(vol['id']) == 'available' and not clean.live_attachments()


def test_evacuation_connects_the_volumes_on_the_new_host(
        admin: Client, aio: AllInOne, tiny_flavor: Any, second_compute: str,
        clean: FakeCinder) -> None:  # noqa: F811
    sid = _boot_on(admin, 'vol-ev', second_compute)['id']
    vol = clean.add_volume()
    assert _attach(admin, sid, vol['id']).status_code == 200
    _wait(lambda: clean.status(vol['id']) == 'in-use')
    [before] = clean.live_attachments(vol['id'])
    service = compute_service(aio, second_compute)
    v253 = {'OpenStack-API-Version': 'compute 2.53'}
    [svc] = admin.get(f'/os-services?host={second_compute}&binary=nova-compute',
                      headers=v253).json()['services']
    aio.remove_compute(service)          # the host dies
    assert admin.put(f"/os-services/{svc['id']}", {'forced_down': True},
                     headers=v253).status_code == 200
    try:
        r = admin.post(f'/servers/{sid}/action', {'evacuate': {}})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while True:
            server = admin.get(f'/servers/{sid}').json()['server']
            if server['status'] in ('SHUTOFF', 'ERROR') and \
                    server['OS-EXT-STS:task_state'] is None:
                break
            assert time.monotonic() < deadline, server
            time.sleep(0.05)
        assert server['status'] == 'SHUTOFF', server.get('fault')   # 2.95: stopped
        assert server['OS-EXT-SRV-ATTR:host'] == aio.host
        [after] = clean.live_attachments(vol['id'])
        assert after['id'] != before['id'] and after['status'] == 'attached'
        assert after['connector']['host'] == aio.host
        here = compute_service(aio, aio.host).manager.driver
        assert here.guest_volumes(sid)['/dev/vdb']['serial'] == vol['id']
    finally:
        aio.add_compute(second_compute, manager=service.manager)
        admin.put(f"/os-services/{svc['id']}", {'forced_down': False}, headers=v253)
        admin.delete(f'/servers/{sid}')
    admin.wait_gone(sid)
    assert clean.status(vol['id']) == 'available' and not clean.live_attachments()
