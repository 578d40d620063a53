"""Aggregates, availability zones and server groups through the whole system:
REST API, conductor, scheduler, placement and the compute agent in one process."""
from __future__ import annotations

import time
from typing import Any

import requests

from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client

IMAGE = TINY_IMAGE_ID   # the all-in-one's built-in image (minova-tiny)


def _boot(admin: Client, flavor: dict[str, Any], name: str, **extra: Any) -> requests.Response:
    hints = extra.pop('hints', None)
    body: dict[str, Any] = {'server': {'name': name, 'flavorRef': flavor['id'],
                                       'imageRef': IMAGE, 'networks': 'none', **extra}}
    if hints:
        body['os:scheduler_hints'] = hints
    return admin.post('/servers', body)


def _placement_aggregates(placement_base: str, host: str) -> list[str]:
    hdrs = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.19'}
    rps = requests.get(f'{placement_base}/resource_providers?name={host}', headers=hdrs,
                       timeout=10).json()['resource_providers']
    assert len(rps) == 1
    return requests.get(f"{placement_base}/resource_providers/{rps[0]['uuid']}/aggregates",
                        headers=hdrs, timeout=10).json()['aggregates']


def test_availability_zone_from_aggregate(admin: Client, tiny_flavor: dict[str, Any],
                                          placement_base: str) -> None:
    host = 'aio-host'
    agg = admin.post('/os-aggregates', {'aggregate': {'name': 'func-az',
                                                      'availability_zone': 'func-zone'}}
                     ).json()['aggregate']
    action = f"/os-aggregates/{agg['id']}/action"
    server_ids: list[str] = []
    try:
        r = admin.post(action, {'add_host': {'host': host}})
        assert r.status_code == 200, r.text
        assert agg['uuid'] in _placement_aggregates(placement_base, host)
        zones = admin.get('/os-availability-zone').json()['availabilityZoneInfo']
        assert [z['zoneName'] for z in zones] == ['func-zone']
        svc = admin.get(f'/os-services?host={host}&binary=nova-compute').json()['services']
        assert svc[0]['zone'] == 'func-zone'
        # a boot without a zone lands in the host's zone; one asking for it too
        for name, zone in (('az-any', None), ('az-func', 'func-zone')):
            extra = {'availability_zone': zone} if zone else {}
            r = _boot(admin, tiny_flavor, name, **extra)
            assert r.status_code == 202, r.text
            server_ids.append(r.json()['server']['id'])
            server = admin.wait_for_status(server_ids[-1], {'ACTIVE', 'ERROR'})
            assert server['status'] == 'ACTIVE', server.get('fault')
            assert server['OS-EXT-AZ:availability_zone'] == 'func-zone'
        r = _boot(admin, tiny_flavor, 'az-nowhere', availability_zone='no-such-zone')
        assert r.status_code == 400
        assert r.json()['badRequest']['message'] == \
            'The requested availability zone is not available'
    finally:
        for sid in server_ids:
            admin.delete(f'/servers/{sid}')
        for sid in server_ids:
            admin.wait_gone(sid)
        admin.post(action, {'remove_host': {'host': host}})
        assert agg['uuid'] not in _placement_aggregates(placement_base, host)
        assert admin.delete(f"/os-aggregates/{agg['id']}").status_code == 200
    zones = admin.get('/os-availability-zone').json()['availabilityZoneInfo']
    assert [z['zoneName'] for z in zones] == ['nova']


def test_anti_affinity_group_on_one_host(admin: Client, tiny_flavor: dict[str, Any],
                                         placement_base: str) -> None:
    group = admin.post('/os-server-groups', {'server_group': {
        'name': 'apart', 'policy': 'anti-affinity'}}).json()['server_group']
    hints = {'group': group['id']}
    first = _boot(admin, tiny_flavor, 'apart-1', hints=hints).json()['server']['id']
    second = None
    try:
        assert admin.wait_for_status(first, {'ACTIVE', 'ERROR'})['status'] == 'ACTIVE'
        second = _boot(admin, tiny_flavor, 'apart-2', hints=hints).json()['server']['id']
        server = admin.wait_for_status(second, {'ACTIVE', 'ERROR'})
        # the only host already runs a member: nowhere left to go
        assert server['status'] == 'ERROR'
        assert 'No valid host was found' in server['fault']['message']
        shown = admin.get(f"/os-server-groups/{group['id']}").json()['server_group']
        assert sorted(shown['members']) == sorted([first, second])
        r = _boot(admin, tiny_flavor, 'bad-group',
                  hints={'group': '7b1b1f0e-1111-4d4d-9c9c-000000000000'})
        assert r.status_code == 400
        # another project's group is as missing as that one (Nova's query)
        r = _boot(Client(admin.base, token='bob:proj-b'), tiny_flavor, 'not-my-group',
                  hints=hints)
        assert r.status_code == 400
        assert r.json()['badRequest']['message'] == \
            f"Instance group {group['id']} could not be found."
    finally:
        for sid in (first, second):
            if sid:
                admin.delete(f'/servers/{sid}')
                admin.wait_gone(sid)
    assert admin.get(f"/os-server-groups/{group['id']}").json()['server_group'][
        'members'] == []
    assert admin.delete(f"/os-server-groups/{group['id']}").status_code == 204


def test_affinity_multi_create_in_one_pass(admin: Client, tiny_flavor: dict[str, Any]
                                           ) -> None:
    group = admin.post('/os-server-groups', {'server_group': {
        'name': 'together', 'policy': 'affinity'}}).json()['server_group']
    r = _boot(admin, tiny_flavor, 'together', min_count=3, max_count=3,
              return_reservation_id=True, hints={'group': group['id']})
    assert r.status_code == 202, r.text
    reservation = r.json()['reservation_id']
    servers = admin.get(f'/servers/detail?reservation_id={reservation}').json()['servers']
    assert len(servers) == 3
    try:
        hosts = set()
        for s in servers:
            done = admin.wait_for_status(s['id'], {'ACTIVE', 'ERROR'})
            assert done['status'] == 'ACTIVE', done.get('fault')
            assert done['server_groups'] == [group['id']]  # 2.71+, single GET
            hosts.add(done['OS-EXT-SRV-ATTR:host'])
        assert hosts == {'aio-host'}
        shown = admin.get(f"/os-server-groups/{group['id']}").json()['server_group']
        assert sorted(shown['members']) == sorted(s['id'] for s in servers)
    finally:
        for s in servers:
            admin.delete(f"/servers/{s['id']}")
        for s in servers:
            admin.wait_gone(s['id'])
        admin.delete(f"/os-server-groups/{group['id']}")


def test_fake_compute_fleet_takes_an_anti_affinity_burst(admin: Client,
                                                         tiny_flavor: dict[str, Any],
                                                         placement_base: str) -> None:
    """Twelve simulated hosts beside the all-in-one's own, reached through the
    fleet's one multiplexed listener; eight anti-affine servers in one request
    land on eight different hosts."""
    from minova.cells import manage as cells_manage
    from minova.cmd.fake_computes import FakeComputeFleet
    fleet = FakeComputeFleet(12, prefix='fleet-')
    fleet.start()
    servers: list[dict[str, Any]] = []
    try:
        cells_manage.discover_hosts()
        # the fleet's one heartbeat thread keeps every host's service up
        def seen(host: str) -> str:
            svc = admin.get(f'/os-services?host={host}').json()['services']
            return svc[0]['updated_at']
        before = seen('fleet-12')
        deadline = time.monotonic() + 10
        while seen('fleet-12') == before:
            assert time.monotonic() < deadline, 'fleet-12 never heartbeated'
            time.sleep(0.3)
        hyps = admin.get('/os-hypervisors').json()['hypervisors']
        assert {f'fleet-{i}' for i in range(1, 13)} <= {h['hypervisor_hostname'] for h in hyps}
        group = admin.post('/os-server-groups', {'server_group': {
            'name': 'burst', 'policy': 'anti-affinity'}}).json()['server_group']
        r = _boot(admin, tiny_flavor, 'burst', min_count=8, max_count=8,
                  return_reservation_id=True, hints={'group': group['id']})
        assert r.status_code == 202, r.text
        servers = admin.get(f"/servers/detail?reservation_id={r.json()['reservation_id']}"
                            ).json()['servers']
        hosts = []
        for s in servers:
            done = admin.wait_for_status(s['id'], {'ACTIVE', 'ERROR'})
            assert done['status'] == 'ACTIVE', done.get('fault')
            hosts.append(done['OS-EXT-SRV-ATTR:host'])
        assert len(set(hosts)) == 8
        # each fleet host's node row counts what it runs (the router reached it)
        used = {h['hypervisor_hostname']: h['running_vms'] for h in admin.get(
            '/os-hypervisors/detail', headers={'OpenStack-API-Version': 'compute 2.87'}
        ).json()['hypervisors']}
        deadline = time.monotonic() + 10
        while sum(used.get(h, 0) for h in hosts if h.startswith('fleet-')) < \
                len([h for h in hosts if h.startswith('fleet-')]):
            assert time.monotonic() < deadline, used
            time.sleep(0.5)
            used = {h['hypervisor_hostname']: h['running_vms'] for h in admin.get(
                '/os-hypervisors/detail', headers={'OpenStack-API-Version': 'compute 2.87'}
            ).json()['hypervisors']}
    finally:
        for s in servers:
            admin.delete(f"/servers/{s['id']}")
        for s in servers:
            admin.wait_gone(s['id'])
        fleet.stop()
        for svc in admin.get('/os-services?binary=nova-compute').json()['services']:
            if svc['host'].startswith('fleet-'):
                assert admin.delete(f"/os-services/{svc['id']}").status_code == 204
    hyps = admin.get('/os-hypervisors').json()['hypervisors']
    assert not [h for h in hyps if h['hypervisor_hostname'].startswith('fleet-')]
