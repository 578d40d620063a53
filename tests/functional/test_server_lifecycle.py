"""A server goes BUILD -> ACTIVE -> deleted through the REST API (all-in-one)."""
from __future__ import annotations

import uuid

import requests

from minova.cells import lookup, mappings
from minova.db import instances
from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client

IMAGE = TINY_IMAGE_ID   # the all-in-one's built-in image (minova-tiny)


def _usages(placement_base: str) -> dict[str, int]:
    h = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.9'}
    rps = requests.get(f'{placement_base}/resource_providers', headers=h,
                       timeout=10).json()['resource_providers']
    total: dict[str, int] = {}
    for rp in rps:
        u = requests.get(f'{placement_base}/resource_providers/{rp["uuid"]}/usages',
                         headers=h, timeout=10).json()['usages']
        for rc, n in u.items():
            total[rc] = total.get(rc, 0) + n
    return total


def _boot(admin, name: str, flavor: str = 'tiny', **extra) -> dict:
    body = {'server': {'name': name, 'flavorRef': flavor, 'imageRef': IMAGE,
                       'networks': 'none', **extra}}
    r = admin.post('/servers', body)
    assert r.status_code == 202, r.text
    assert r.headers['Location'].endswith(r.json()['server']['id'])
    return r.json()['server']


def test_boot_show_delete(admin, tiny_flavor, placement_base):
    created = _boot(admin, 'vm1')
    first = admin.get(f'/servers/{created["id"]}').json()['server']
    assert first['status'] in ('BUILD', 'ACTIVE')
    server = admin.wait_for_status(created['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    assert server['name'] == 'vm1'
    assert server['OS-EXT-SRV-ATTR:host'] == 'aio-host'
    assert server['OS-EXT-SRV-ATTR:hypervisor_hostname'] == 'aio-host'
    assert server['OS-EXT-STS:vm_state'] == 'active'
    assert server['OS-EXT-STS:power_state'] == 1
    assert server['flavor']['vcpus'] == 1 and server['flavor']['ram'] == 64
    assert server['created'].endswith('Z') and server['OS-SRV-USG:launched_at']
    assert _usages(placement_base).get('MEMORY_MB') == 64

    actions = admin.get(f'/servers/{created["id"]}/os-instance-actions').json()
    assert [a['action'] for a in actions['instanceActions']] == ['create']
    req_id = actions['instanceActions'][0]['request_id']
    events = admin.get(f'/servers/{created["id"]}/os-instance-actions/{req_id}').json()
    names = {e['event'] for e in events['instanceAction']['events']}
    assert {'conductor_schedule_and_build_instances', 'schedule_instances',
            'compute_build_and_run_instance', 'compute_spawn'} <= names

    # The boot timeline accounts for every stage of this boot.
    from minova.cmd import timeline
    rendered = timeline.render_one(created['id'])
    for stage, _start, _end in timeline.STAGES:
        line = next(ln for ln in rendered.splitlines() if ln.strip().startswith(stage))
        assert line.rstrip().endswith('ms'), line

    r = admin.delete(f'/servers/{created["id"]}')
    assert r.status_code == 204
    admin.wait_gone(created['id'])
    assert _usages(placement_base).get('MEMORY_MB', 0) == 0
    # From 2.21 a deleted server's actions can still be read; below, it is gone.
    actions = admin.get(f'/servers/{created["id"]}/os-instance-actions').json()
    assert [a['action'] for a in actions['instanceActions']] == ['delete', 'create']
    old = Client(admin.base, microversion='2.20')
    assert old.get(f'/servers/{created["id"]}/os-instance-actions').status_code == 404


def test_unschedulable_request_is_buried_in_cell0(admin, tiny_flavor, placement_base):
    r = admin.post('/flavors', {'flavor': {'name': 'huge', 'id': 'huge', 'vcpus': 1,
                                           'ram': 64, 'disk': 10 ** 7}})
    assert r.status_code == 200, r.text
    created = _boot(admin, 'too-big', flavor='huge')
    server = admin.wait_for_status(created['id'], {'ERROR', 'ACTIVE'})
    assert server['status'] == 'ERROR'
    assert server['fault']['message'].startswith('No valid host was found.')
    assert server['fault']['code'] == 500
    mapping = mappings.instance_mapping_get(created['id'])
    assert mapping['cell_uuid'] == mappings.CELL0_UUID
    cell0 = lookup.get(mappings.CELL0_UUID)
    assert instances.get(cell0['database_connection'], created['id'])['vm_state'] == 'error'
    assert admin.delete(f'/servers/{created["id"]}').status_code == 204
    admin.wait_gone(created['id'])
    assert _usages(placement_base).get('MEMORY_MB', 0) == 0


def test_local_delete_with_placement_down_is_503_and_keeps_the_server(
        admin, tiny_flavor, monkeypatch):
    """A server deleted in the API (here: buried in cell0) while placement is
    unreachable: 503, and the server is still there to delete again."""
    from minova import exception
    from minova.api import util

    r = admin.post('/flavors', {'flavor': {'name': 'huge2', 'id': 'huge2', 'vcpus': 1,
                                           'ram': 64, 'disk': 10 ** 7}})
    assert r.status_code == 200, r.text
    created = _boot(admin, 'too-big-2', flavor='huge2')
    assert admin.wait_for_status(created['id'], {'ERROR', 'ACTIVE'})['status'] == 'ERROR'

    def unreachable(*args, **kwargs):
        raise exception.PlacementAPIConnectFailure(reason='[Errno 111] Connection refused')

    placement = util.compute_api().placement
    monkeypatch.setattr(placement, 'delete_allocation_for_instance', unreachable)
    r = admin.delete(f'/servers/{created["id"]}')
    assert r.status_code == 503, r.text
    assert 'Unable to communicate with the Placement API' in \
        r.json()['serviceUnavailable']['message']
    assert admin.get(f'/servers/{created["id"]}').json()['server']['status'] == 'ERROR'
    monkeypatch.undo()
    assert admin.delete(f'/servers/{created["id"]}').status_code == 204
    admin.wait_gone(created['id'])


def test_multi_create_all_active(admin, tiny_flavor):
    r = admin.post('/servers', {'server': {
        'name': 'multi', 'flavorRef': 'tiny', 'imageRef': IMAGE, 'networks': 'none',
        'min_count': 3, 'max_count': 3, 'return_reservation_id': True}})
    assert r.status_code == 202, r.text
    rid = r.json()['reservation_id']
    listed = admin.get(f'/servers/detail?reservation_id={rid}').json()['servers']
    assert sorted(s['name'] for s in listed) == ['multi-1', 'multi-2', 'multi-3']
    for s in listed:
        assert admin.wait_for_status(s['id'], {'ACTIVE', 'ERROR'})['status'] == 'ACTIVE'
    for s in listed:
        assert admin.delete(f'/servers/{s["id"]}').status_code == 204
    for s in listed:
        admin.wait_gone(s['id'])


def test_list_paging_and_sorting(admin, tiny_flavor):
    ids = [_boot(admin, f'page-{i}')['id'] for i in range(4)]
    for sid in ids:
        admin.wait_for_status(sid, {'ACTIVE'})
    r = admin.get('/servers?name=^page-&sort_key=display_name&sort_dir=asc&limit=2')
    assert r.status_code == 200
    body = r.json()
    assert [s['name'] for s in body['servers']] == ['page-0', 'page-1']
    assert 'servers_links' in body
    marker = body['servers'][-1]['id']
    r = admin.get(f'/servers?name=^page-&sort_key=display_name&sort_dir=asc&limit=2'
                  f'&marker={marker}')
    assert [s['name'] for s in r.json()['servers']] == ['page-2', 'page-3']
    bad = admin.get(f'/servers?marker={uuid.uuid4()}')
    assert bad.status_code == 400
    assert 'marker' in bad.json()['badRequest']['message']
    for sid in ids:
        admin.delete(f'/servers/{sid}')
    for sid in ids:
        admin.wait_gone(sid)


def test_other_project_cannot_see_server(admin, api_base, tiny_flavor):
    from tests.functional.conftest import Client
    alice = Client(api_base, token='alice:project-a')
    bob = Client(api_base, token='bob:project-b')
    created = _boot(alice, 'alice-vm')
    assert bob.get(f'/servers/{created["id"]}').status_code == 404
    assert created['id'] not in [s['id'] for s in bob.get('/servers').json()['servers']]
    assert created['id'] in [s['id'] for s in alice.get('/servers').json()['servers']]
    alice.wait_for_status(created['id'], {'ACTIVE'})
    assert bob.delete(f'/servers/{created["id"]}').status_code == 404
    assert alice.delete(f'/servers/{created["id"]}').status_code == 204
    alice.wait_gone(created['id'])


def test_embedded_default_needs_no_broker(aio):
    from minova import rpc
    from minova.db import engines
    assert list(rpc._transports) == [rpc.IN_MEMORY_URL]
    assert engines.api_url().startswith('sqlite:///')
    assert engines.cell_url().startswith('sqlite:///')
