"""Services started in any order come together without a restart.

A compute agent is started before the message bus is ready (its RabbitMQ
vhost does not exist yet), before placement runs and before placement's
database is synced. Every process stays up and says what it waits for; the
compute reports itself as soon as the bus answers, placement answers 503
until `minova-manage placement_db sync`, and the compute's periodic resource
update then creates its provider and inventory: a boot lands on the host
with nothing restarted. (Separate processes on RabbitMQ and MariaDB.)
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.conftest import Deployment
from tests.integration.test_deployment import IMAGE, api, compute_services, wait

pytestmark = pytest.mark.integration

HOST = 'early-compute'
PLACEMENT_HEADERS = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.20'}


@pytest.fixture
def dep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Databases created (placement's not synced) and no vhost on the bus yet."""
    dep = Deployment(tmp_path_factory.mktemp('startup-order'), 'mysql')
    dep.create_databases(vhost=False)
    try:
        dep.write_config()
        dep.manage('api_db', 'sync')
        dep.manage('cell_v2', 'map_cell0', '--database_connection',
                   dep.db_url(dep.dbs['cell0']))
        dep.manage('db', 'sync')
        dep.manage('cell_v2', 'create_cell', '--name', 'cell1')
        yield dep
    finally:
        dep.stop_all()
        dep.drop_databases()


def _placement(dep: Deployment, path: str) -> requests.Response:
    return requests.get(f'http://127.0.0.1:{dep.placement_port}{path}',
                        headers=PLACEMENT_HEADERS, timeout=10)


def _all_alive(dep: Deployment) -> None:
    dead = [name for name, up in dep.alive().items() if not up]
    assert not dead, '\n'.join(f'{n} exited:\n{dep.log_tail(n)}' for n in dead)


def _provider(dep: Deployment) -> dict[str, Any] | None:
    r = _placement(dep, f'/resource_providers?name={HOST}')
    if r.status_code != 200 or not r.json()['resource_providers']:
        return None
    (rp,) = r.json()['resource_providers']
    inv = _placement(dep, f"/resource_providers/{rp['uuid']}/inventories").json()
    return rp if {'VCPU', 'MEMORY_MB', 'DISK_GB'} <= set(inv['inventories']) else None


def test_compute_started_before_bus_and_placement_becomes_schedulable(dep: Deployment):
    # The compute first, then conductor, scheduler and API: no bus, no placement.
    dep.start_compute(HOST, extra='update_resources_interval = 2\n')
    dep.start('conductor', 'minova-conductor')
    dep.start('scheduler', 'minova-scheduler')
    dep.start('api', 'minova-api')
    dep.wait_http(f'http://127.0.0.1:{dep.api_port}/')
    wait(lambda: 'Message bus not ready' in dep.log('minova-conductor')
         and 'Message bus not ready' in dep.log('minova-compute'),
         what='conductor and compute to say they wait for the bus')
    time.sleep(2)
    _all_alive(dep)

    # The bus comes up: the compute registers and reports itself, though
    # placement is still down; the compute node exists for discover_hosts.
    dep.create_vhost()
    wait(lambda: [s for s in compute_services(dep) if s['host'] == HOST
                  and s['state'] == 'up'], timeout=90, what='the compute service up')
    wait(lambda: 'Could not report compute node' in dep.log('minova-compute'),
         what='the compute to log that placement is not answering')
    out = dep.manage('cell_v2', 'discover_hosts', '--verbose').stdout
    assert f"Creating host mapping for compute host '{HOST}'" in out

    # Placement on a database not synced yet: it stays up and answers 503
    # with an error body that says what to do.
    dep.start('placement', 'minova-placement')
    dep.wait_http(f'http://127.0.0.1:{dep.placement_port}/')
    r = _placement(dep, '/resource_providers')
    assert r.status_code == 503, r.text
    (error,) = r.json()['errors']
    assert 'placement_db sync' in error['detail']
    time.sleep(3)   # the compute's periodic update meets that 503 too
    _all_alive(dep)

    dep.manage('placement_db', 'sync')
    rp = wait(lambda: _provider(dep), timeout=60, what="the compute's provider and inventory")
    assert rp['name'] == HOST

    r = api(dep, 'POST', '/flavors', {'flavor': {'name': 'tiny', 'id': 'tiny', 'vcpus': 1,
                                                 'ram': 64, 'disk': 1}})
    assert r.status_code == 200, r.text
    r = api(dep, 'POST', '/servers', {'server': {
        'name': 'early', 'flavorRef': 'tiny', 'imageRef': IMAGE, 'networks': 'none'}})
    assert r.status_code == 202, r.text
    sid = r.json()['server']['id']
    server = wait(lambda: (s := api(dep, 'GET', f'/servers/{sid}').json()['server'])
                  ['status'] in ('ACTIVE', 'ERROR') and s, what='the server to build')
    assert server['status'] == 'ACTIVE', server.get('fault')
    assert server['OS-EXT-SRV-ATTR:host'] == HOST
    _all_alive(dep)
    # One line per failed attempt, no tracebacks.
    log = dep.log('minova-compute')
    assert 'Traceback' not in log
    lines = [line for line in log.splitlines() if 'Could not report compute node' in line]
    assert any('Connection refused' in line for line in lines)
    assert any("run 'minova-manage placement_db sync'" in line for line in lines)
    assert not [line for line in lines if 'Caused by' in line or 'minova.exception' in line]
    assert f'Compute node {HOST} is reported to placement' in log
