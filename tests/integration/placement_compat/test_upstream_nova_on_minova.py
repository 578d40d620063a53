"""Upstream Nova 34 on mini-Nova's placement: its scheduler, conductor, API and
two fake-driver computes (see upstream_nova.py) run against minova-placement,
register their nodes, boot and delete servers, and `nova-status upgrade
check` passes (it needs placement 1.36, as Nova 34's scheduler does)."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.placement_compat import upstream
from tests.integration.placement_compat.conftest import _db
from tests.integration.placement_compat.upstream_nova import UpstreamNova

IMAGE = str(uuid.uuid4())


@pytest.fixture(scope='module')
def placement(mariadb: list[str], tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[upstream.MinovaPlacement]:
    log = tmp_path_factory.mktemp('minova-placement') / 'placement.log'
    server = upstream.MinovaPlacement(_db(mariadb, 'for_nova'), log=log).start()
    yield server
    server.stop()


@pytest.fixture(scope='module')
def nova(placement: upstream.MinovaPlacement, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[UpstreamNova]:
    server = UpstreamNova(Path(tmp_path_factory.mktemp('upstream-nova')), placement.base)
    server.start()
    yield server
    server.stop()


def _placement(placement: upstream.MinovaPlacement, path: str,
               version: str = '1.38') -> Any:
    r = requests.get(placement.base + path, timeout=30, headers={
        'X-Auth-Token': 'admin', 'OpenStack-API-Version': f'placement {version}'})
    assert r.status_code == 200, r.text
    return r.json()


def _wait(nova: UpstreamNova, sid: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = nova.get(f'/servers/{sid}').json()['server']
        if server['status'] in ('ACTIVE', 'ERROR'):
            return server
        time.sleep(0.5)
    raise AssertionError(f'{sid} still building:\n{nova.log("scheduler")}')


def _wait_gone(nova: UpstreamNova, sid: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while nova.get(f'/servers/{sid}').status_code != 404:
        assert time.monotonic() < deadline, f'{sid} not deleted:\n{nova.log(nova.hosts[0])}'
        time.sleep(0.5)


def _status_check(nova: UpstreamNova) -> str:
    done = nova.run('nova-status', *nova._conf('controller.conf'), 'upgrade', 'check')
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_upstream_nova_boots_and_deletes_on_minova_placement(
        nova: UpstreamNova, placement: upstream.MinovaPlacement) -> None:
    # The computes registered their nodes, with inventory, in our placement.
    rps = {}
    deadline = time.monotonic() + 60
    while len(rps) < len(nova.hosts):
        assert time.monotonic() < deadline, _placement(placement, '/resource_providers')
        rps = {p['name']: p['uuid'] for p in
               _placement(placement, '/resource_providers')['resource_providers']}
        time.sleep(0.5)
    assert set(rps) == set(nova.hosts)
    for rp in rps.values():
        inv = _placement(placement, f'/resource_providers/{rp}/inventories')['inventories']
        assert {'VCPU', 'MEMORY_MB', 'DISK_GB'} <= set(inv)
        traits = _placement(placement, f'/resource_providers/{rp}/traits')['traits']
        assert 'COMPUTE_NODE' in traits

    # nova-status: the placement check asks for 1.36 and passes.
    report = _status_check(nova)
    assert 'Check: Placement API' in report
    placement_check = report.split('Check: Placement API', 1)[1].split('Check:', 1)[0]
    assert 'Result: Success' in placement_check, report

    r = nova.request('POST', '/flavors', {'flavor': {
        'name': 'compat', 'id': 'compat', 'vcpus': 1, 'ram': 128, 'disk': 1}})
    assert r.status_code == 200, r.text
    sids = []
    for i in range(3):
        r = nova.request('POST', '/servers', {'server': {
            'name': f'compat-{i}', 'flavorRef': 'compat', 'imageRef': IMAGE,
            'networks': 'none'}})
        assert r.status_code == 202, r.text
        sids.append(r.json()['server']['id'])
    hosts = set()
    for sid in sids:
        server = _wait(nova, sid)
        assert server['status'] == 'ACTIVE', (server.get('fault'), nova.log('scheduler'))
        host = server['OS-EXT-SRV-ATTR:host']
        hosts.add(host)
        # The scheduler's claim (PUT /allocations at 1.36, with mappings).
        allocs = _placement(placement, f'/allocations/{sid}')
        assert allocs['allocations'][rps[host]]['resources'] == {
            'VCPU': 1, 'MEMORY_MB': 128, 'DISK_GB': 1}
        assert allocs['project_id'] == 'admin'
        assert allocs['consumer_type'] == 'unknown'   # Nova 34 writes at 1.36
    used = {h: _placement(placement, f'/resource_providers/{rps[h]}/usages')['usages']
            for h in nova.hosts}
    assert sum(u['VCPU'] for u in used.values()) == 3
    assert sum(u['MEMORY_MB'] for u in used.values()) == 384

    for sid in sids:
        assert nova.request('DELETE', f'/servers/{sid}').status_code == 204
    for sid in sids:
        _wait_gone(nova, sid)
    deadline = time.monotonic() + 60
    while any(_placement(placement, f'/allocations/{sid}')['allocations'] for sid in sids):
        assert time.monotonic() < deadline, 'allocations left after delete'
        time.sleep(0.5)
    for h in nova.hosts:
        usages = _placement(placement, f'/resource_providers/{rps[h]}/usages')['usages']
        assert usages['VCPU'] == 0 and usages['MEMORY_MB'] == 0, (h, usages)
    _status_check(nova)
