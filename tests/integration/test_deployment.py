"""Separate processes over RabbitMQ and MariaDB/PostgreSQL: hosts are discovered,
servers spread over two fake compute hosts, go ACTIVE, and are deleted with
placement usage back to zero."""
from __future__ import annotations

import time
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

IMAGE = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
HEADERS = {'X-Auth-Token': 'admin:admin', 'OpenStack-API-Version': 'compute latest'}


def api(dep: Any, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f'http://127.0.0.1:{dep.api_port}/v2.1{path}',
                            json=body, headers=HEADERS, timeout=30)


def wait(predicate: Any, timeout: float = 60.0, what: str = 'condition') -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f'timed out waiting for {what}')


def compute_services(dep: Any) -> list[dict]:
    r = api(dep, 'GET', '/os-services?binary=minova-compute')
    assert r.status_code == 200, r.text
    return r.json()['services']


def usages(dep: Any) -> dict[str, int]:
    h = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.9'}
    base = f'http://127.0.0.1:{dep.placement_port}'
    total: dict[str, int] = {}
    for rp in requests.get(f'{base}/resource_providers', headers=h,
                           timeout=10).json()['resource_providers']:
        for rc, n in requests.get(f'{base}/resource_providers/{rp["uuid"]}/usages',
                                  headers=h, timeout=10).json()['usages'].items():
            total[rc] = total.get(rc, 0) + n
    return total


def test_discover_boot_spread_delete(deployment):
    dep = deployment
    dep.start_compute('compute-1')
    dep.start_compute('compute-2')
    wait(lambda: len([s for s in compute_services(dep) if s['state'] == 'up']) == 2,
         what='two compute services up')

    out = dep.manage('cell_v2', 'discover_hosts', '--verbose').stdout
    assert "Creating host mapping for compute host 'compute-1'" in out
    assert "Creating host mapping for compute host 'compute-2'" in out
    again = dep.manage('cell', 'discover_hosts', '--verbose').stdout
    assert 'Creating host mapping' not in again  # running it twice is harmless
    hosts = dep.manage('cell_v2', 'list_hosts').stdout
    assert 'compute-1' in hosts and 'compute-2' in hosts

    r = api(dep, 'POST', '/flavors', {'flavor': {'name': 'tiny', 'id': 'tiny', 'vcpus': 1,
                                                 'ram': 64, 'disk': 1}})
    assert r.status_code == 200, r.text
    ids = []
    for i in range(6):
        r = api(dep, 'POST', '/servers', {'server': {
            'name': f'it-{i}', 'flavorRef': 'tiny', 'imageRef': IMAGE, 'networks': 'none'}})
        assert r.status_code == 202, r.text
        ids.append(r.json()['server']['id'])

    def all_done() -> list[dict] | None:
        servers = [api(dep, 'GET', f'/servers/{i}').json()['server'] for i in ids]
        return servers if all(s['status'] in ('ACTIVE', 'ERROR') for s in servers) else None

    servers = wait(all_done, what='servers to finish building')
    assert [s['status'] for s in servers] == ['ACTIVE'] * 6, [s.get('fault') for s in servers]
    by_host: dict[str, int] = {}
    for s in servers:
        by_host[s['OS-EXT-SRV-ATTR:host']] = by_host.get(s['OS-EXT-SRV-ATTR:host'], 0) + 1
    assert by_host == {'compute-1': 3, 'compute-2': 3}
    assert usages(dep)['MEMORY_MB'] == 6 * 64

    hyps = api(dep, 'GET', '/os-hypervisors/detail').json()['hypervisors']
    assert sorted(h['hypervisor_hostname'] for h in hyps) == ['compute-1', 'compute-2']

    for i in ids:
        assert api(dep, 'DELETE', f'/servers/{i}').status_code == 204
    wait(lambda: all(api(dep, 'GET', f'/servers/{i}').status_code == 404 for i in ids),
         what='servers to be deleted')
    wait(lambda: usages(dep).get('MEMORY_MB', 0) == 0, what='usage back to zero')


def test_new_host_is_scheduled_only_once_mapped(deployment):
    dep = deployment
    dep.start_compute('compute-3')
    wait(lambda: any(s['host'] == 'compute-3' and s['state'] == 'up'
                     for s in compute_services(dep)), what='compute-3 up')
    # Only compute-3 is enabled and it is not mapped yet: nothing can be scheduled.
    for svc in compute_services(dep):
        if svc['host'] != 'compute-3':
            api(dep, 'PUT', f'/os-services/{svc["id"]}', {'status': 'disabled'})
    r = api(dep, 'POST', '/servers', {'server': {
        'name': 'unmapped', 'flavorRef': 'tiny', 'imageRef': IMAGE, 'networks': 'none'}})
    sid = r.json()['server']['id']
    server = wait(lambda: (s := api(dep, 'GET', f'/servers/{sid}').json()['server'])
                  ['status'] in ('ACTIVE', 'ERROR') and s, what='unmapped boot to end')
    assert server['status'] == 'ERROR'
    assert 'No valid host was found' in server['fault']['message']

    out = dep.manage('cell_v2', 'discover_hosts', '--verbose').stdout
    assert "Creating host mapping for compute host 'compute-3'" in out
    r = api(dep, 'POST', '/servers', {'server': {
        'name': 'mapped', 'flavorRef': 'tiny', 'imageRef': IMAGE, 'networks': 'none'}})
    sid2 = r.json()['server']['id']
    server = wait(lambda: (s := api(dep, 'GET', f'/servers/{sid2}').json()['server'])
                  ['status'] in ('ACTIVE', 'ERROR') and s, what='mapped boot to end')
    assert server['status'] == 'ACTIVE'
    assert server['OS-EXT-SRV-ATTR:host'] == 'compute-3'
    for s in (sid, sid2):
        api(dep, 'DELETE', f'/servers/{s}')
    for svc in compute_services(dep):
        api(dep, 'PUT', f'/os-services/{svc["id"]}', {'status': 'enabled'})
    wait(lambda: all(api(dep, 'GET', f'/servers/{s}').status_code == 404
                     for s in (sid, sid2)), what='deletes')
    wait(lambda: usages(dep).get('MEMORY_MB', 0) == 0, what='usage back to zero')


def test_concurrent_boots_never_get_past_quotas(deployment):
    """Counting and writing are separate steps; the recheck after writing
    keeps concurrent requests of one project within its limits."""
    from concurrent.futures import ThreadPoolExecutor
    dep = deployment
    project = 'quota-race'
    h = dict(HEADERS, **{'X-Auth-Token': f'racer:{project}'})
    base = f'http://127.0.0.1:{dep.api_port}/v2.1'
    api(dep, 'POST', '/flavors', {'flavor': {'name': 'tiny', 'id': 'tiny', 'vcpus': 1,
                                             'ram': 64, 'disk': 1}})   # 409 if there
    r = api(dep, 'PUT', f'/os-quota-sets/{project}', {'quota_set': {
        'instances': 5, 'server_group_members': 3}})
    assert r.status_code == 200, r.text
    r = requests.post(f'{base}/os-server-groups', headers=h, timeout=30, json={
        'server_group': {'name': 'g', 'policy': 'soft-affinity'}})
    assert r.status_code == 200, r.text
    group = r.json()['server_group']['id']

    def boot(body: dict) -> int:
        server = dict({'name': 'racer', 'flavorRef': 'tiny', 'imageRef': IMAGE,
                       'networks': 'none'}, **body)
        hints = server.pop('hints', None)
        payload: dict = {'server': server}
        if hints:
            payload['os:scheduler_hints'] = hints
        return requests.post(f'{base}/servers', json=payload, headers=h, timeout=60).status_code

    def live() -> list[str]:
        r = requests.get(f'{base}/servers', headers=h, timeout=30)
        assert r.status_code == 200, r.text
        return [s['id'] for s in r.json()['servers']]

    def clean() -> None:
        ids = live()
        for sid in ids:
            requests.delete(f'{base}/servers/{sid}', headers=h, timeout=30)
        wait(lambda: not live(), what='the racers to be deleted')

    try:
        for body in ({}, {'min_count': 1, 'max_count': 3}):
            with ThreadPoolExecutor(20) as pool:
                codes = list(pool.map(boot, [body] * 20))
            assert set(codes) <= {202, 403}, codes
            assert 1 <= codes.count(202), codes
            assert len(live()) <= 5, (body, codes)
            clean()
        with ThreadPoolExecutor(10) as pool:
            codes = list(pool.map(boot, [{'hints': {'group': group}}] * 10))
        assert set(codes) <= {202, 403}, codes
        r = requests.get(f'{base}/os-server-groups/{group}', headers=h, timeout=30)
        assert len(r.json()['server_group']['members']) <= 3, codes
        assert len(live()) <= 3, codes
    finally:
        clean()
        requests.delete(f'{base}/os-server-groups/{group}', headers=h, timeout=30)
