"""Live migration across processes (issue 18): two compute services of one
cell on RabbitMQ, a super conductor for the API and a cell conductor for the
hosts, as minova-deploy lays them out. The compute-to-compute calls, the
conductor's call before 2.34 (its error answered over the bus) and the
allocations afterwards."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.devstack.harness import Deployment, running, wait

pytestmark = pytest.mark.integration


@pytest.fixture(scope='module')
def two_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from running(tmp_path_factory.mktemp('live-migration'), db='mysql', cells=1,
                       computes_per_cell=2, api_workers=1, report_interval=1,
                       service_down_time=4)


def _migrations(dep: Deployment, sid: str) -> list[dict]:
    r = dep.api('GET', f'/os-migrations?instance_uuid={sid}&migration_type=live-migration')
    assert r.status_code == 200, r.text
    return list(r.json()['migrations'])


def test_live_migration_between_two_compute_processes(two_hosts: Deployment) -> None:
    dep = two_hosts
    wait(lambda: dep.services() == {'cell1-compute1': 'up', 'cell1-compute2': 'up'},
         30, 'both compute services up')
    r = dep.boot('lm-procs')
    assert r.status_code == 202, r.text
    [server] = dep.wait_settled()
    sid, source = server['id'], server['OS-EXT-SRV-ATTR:host']
    assert server['status'] == 'ACTIVE'

    # Before 2.34 conductor answers over the bus: the scheduler never picks the source.
    r = dep.api('POST', f'/servers/{sid}/action', {'os-migrateLive': {
        'host': source, 'block_migration': 'auto'}}, version='2.33')
    assert r.status_code == 400, r.text
    assert r.json()['badRequest']['message'].startswith('No valid host was found.')

    r = dep.api('POST', f'/servers/{sid}/action', {'os-migrateLive': {
        'host': None, 'block_migration': 'auto'}})
    assert r.status_code == 202, r.text

    def done() -> dict | None:
        found = _migrations(dep, sid)
        return found[0] if len(found) == 2 and found[0]['status'] in (
            'completed', 'failed', 'error') else None
    migration = wait(done, 60, 'the live migration to end')
    assert migration['status'] == 'completed', migration
    [server] = dep.wait_settled()
    wait(lambda: dep.servers()[0]['OS-EXT-STS:task_state'] is None, 30, 'no task')
    [server] = dep.servers()
    assert server['status'] == 'ACTIVE'
    assert server['OS-EXT-SRV-ATTR:host'] == migration['dest_compute'] != source
    dep.assert_consistent()   # the server's allocation only, on its new host
    dep.delete_all()
