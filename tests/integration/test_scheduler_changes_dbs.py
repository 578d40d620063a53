"""The scheduler's read of the nodes and services written since its last
request, on MariaDB and PostgreSQL: migration 010's indexes apply and the
read (a union over them) finds a heartbeat, a node update and a deletion."""
from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from minova.db import compute_nodes, services
from tests.integration import scratch_db

pytestmark = pytest.mark.integration


@pytest.fixture(params=scratch_db.ENGINES)
def cell_url(request: Any) -> Iterator[str]:
    with scratch_db.database(request.param, 'minova_it_sch_', 'main_db') as url:
        yield url


def _node(url: str, host: str) -> dict[str, Any]:
    svc = services.get_or_create(url, host, 'minova-compute', 'compute')
    return compute_nodes.create_or_update(url, host, host, {
        'vcpus': 8, 'memory_mb': 8192, 'local_gb': 100, 'service_id': svc['id']})


def test_rows_written_since(cell_url: str) -> None:
    nodes = {h: _node(cell_url, h) for h in ('h1', 'h2', 'h3')}
    every = compute_nodes.changed_for_scheduling(cell_url, None)
    assert sorted(r['host'] for r in every) == ['h1', 'h2', 'h3']
    since = max(r['stamp'] for r in every) + datetime.timedelta(microseconds=1)
    assert compute_nodes.changed_for_scheduling(cell_url, since) == []
    svc = services.get_all(cell_url, host='h1')[0]
    services.heartbeat(cell_url, svc['id'])
    compute_nodes.create_or_update(cell_url, 'h2', 'h2', {'running_vms': 3})
    compute_nodes.destroy_by_host(cell_url, 'h3')
    changed = {r['host']: r for r in compute_nodes.changed_for_scheduling(cell_url, since)}
    assert set(changed) == {'h1', 'h2', 'h3'}
    assert changed['h2']['running_vms'] == 3 and not changed['h2']['deleted']
    assert changed['h3']['deleted'] and changed['h3']['uuid'] == nodes['h3']['uuid']
    assert changed['h1']['service']['id'] == svc['id']
    assert all(r['stamp'] >= since for r in changed.values())
    # What the caller has as of that stamp is left out.
    known = {r['uuid']: r['version'] for r in changed.values()}
    again = compute_nodes.changed_for_scheduling(
        cell_url, since, lambda uuid, version: known.get(uuid) == version)
    assert [r['host'] for r in again] == ['h3']      # a deletion is always returned
