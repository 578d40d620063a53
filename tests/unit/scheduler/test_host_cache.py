"""The scheduler's in-memory nodes and services (host_cache.py): a change
written between two requests is seen by the second, without a whole read."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from minova import exception
from minova.db import compute_nodes, services
from minova.scheduler import host_cache
from tests.unit.backbone.fakes import spec


def _select(cloud: Any) -> str:
    return cloud.select(spec(), [str(uuid.uuid4())])[0]


def _no_full_read(monkeypatch: Any) -> None:
    """From here on only the rows written since may be read."""
    real = compute_nodes.changed_for_scheduling

    def changed(url: str, since: Any, *known: Any) -> Any:
        assert since is not None, 'the whole cell was read again'
        return real(url, since, *known)
    monkeypatch.setattr(compute_nodes, 'changed_for_scheduling', changed)


def test_disabled_service_is_left_out_by_the_next_request(cloud: Any, monkeypatch: Any) -> None:
    cloud.add_host('h1')
    cloud.add_host('h2', ram=4096)   # h1 has more free RAM: the weighers pick it
    assert _select(cloud) == 'h1'
    _no_full_read(monkeypatch)
    svc = services.get_all(cloud.dbs.cell, host='h1')[0]
    services.update(cloud.dbs.cell, svc['id'], {'disabled': True})
    assert _select(cloud) == 'h2'
    services.update(cloud.dbs.cell, svc['id'], {'disabled': False})
    assert _select(cloud) == 'h1'


def test_deleted_node_is_forgotten_and_a_new_one_found(cloud: Any, monkeypatch: Any) -> None:
    cloud.add_host('h1')
    assert _select(cloud) == 'h1'
    _no_full_read(monkeypatch)
    # h1's provider stays in placement: not a reason to read the cell again here.
    monkeypatch.setattr(host_cache, 'MISS_FULL_SECONDS', 3600.0)
    compute_nodes.destroy_by_host(cloud.dbs.cell, 'h1')
    cache = cloud.sched.host_cache
    assert cloud.nodes['h1']['uuid'] not in cache.nodes(cloud.dbs.cell)
    with pytest.raises(exception.NoValidHost):
        _select(cloud)
    cloud.add_host('h3')
    assert _select(cloud) == 'h3'


def test_whole_cell_read_again_when_due(cloud: Any, monkeypatch: Any) -> None:
    cloud.add_host('h1')
    _select(cloud)
    reads: list[Any] = []
    real = compute_nodes.changed_for_scheduling
    monkeypatch.setattr(compute_nodes, 'changed_for_scheduling',
                        lambda url, since, *known: reads.append(since) or real(url, since, *known))
    _select(cloud)
    assert reads and all(s is not None for s in reads)
    monkeypatch.setattr(host_cache, 'FULL_SECONDS', -1.0)
    reads.clear()
    _select(cloud)
    assert None in reads


def test_aggregate_changes_are_seen_by_the_next_request(cloud: Any, flags: Any) -> None:
    """Host states are copied from templates kept across requests: a host's
    new zone or aggregate metadata still counts from the next request on."""
    from minova.db import aggregates
    from tests.unit.scheduler.test_scheduling_features import flavor
    flags('enabled_filters', ['ComputeFilter', 'AvailabilityZoneFilter',
                              'AggregateInstanceExtraSpecsFilter'], group='filter_scheduler')
    cloud.add_host('h1')
    cloud.add_host('h2', vcpus=4, ram=4096)     # h1 is the better host throughout
    assert _select(cloud) == 'h1'
    zone = aggregates.create('elsewhere', 'az-b')
    aggregates.add_host(zone['id'], 'h1')
    # h1 left the default zone: a request for it no longer lands there.
    assert cloud.select(spec(availability_zone='nova'), [str(uuid.uuid4())]) == ['h2']
    fast = spec(flavor=flavor(**{'aggregate_instance_extra_specs:speed': 'fast'}))
    with pytest.raises(exception.NoValidHost):
        cloud.select(fast, [str(uuid.uuid4())])
    aggregates.update_metadata(zone['id'], {'speed': 'fast'})
    assert cloud.select(fast, [str(uuid.uuid4())]) == ['h1']
    aggregates.remove_host(zone['id'], 'h1')
    with pytest.raises(exception.NoValidHost):
        cloud.select(fast, [str(uuid.uuid4())])
    assert cloud.select(spec(availability_zone='nova'), [str(uuid.uuid4())]) == ['h1']


def test_a_node_s_template_follows_its_row(cloud: Any) -> None:
    """A node written again (here its service forced down, then up) gets a
    new template; one left alone keeps its own across requests."""
    cloud.add_host('h1')
    cloud.add_host('h2', ram=4096)
    assert _select(cloud) == 'h1'
    cache = cloud.sched.host_cache
    url = cloud.dbs.cell
    before = {u: n.template[1] for u, n in cache.nodes(url).items()}
    svc = services.get_all(url, host='h1')[0]
    services.update(url, svc['id'], {'forced_down': True})
    assert _select(cloud) == 'h2'
    after = {u: n.template[1] for u, n in cache.nodes(url).items()}
    h1, h2 = cloud.nodes['h1']['uuid'], cloud.nodes['h2']['uuid']
    assert after[h2] is before[h2]
    assert after[h1] is not before[h1] and after[h1].service['forced_down']
    services.update(url, svc['id'], {'forced_down': False})
    assert _select(cloud) == 'h1'


def test_rows_written_since_are_found_through_the_updated_at_indexes(dbs: Any) -> None:
    """Migration 010: the read of what changed since the previous request
    walks compute_nodes' and services' updated_at indexes, not every node
    of the cell (it runs on every request)."""
    import sqlite3

    from sqlalchemy.dialects import sqlite
    _, written = compute_nodes._CHANGED
    sql = written.compile(dialect=sqlite.dialect()).string
    since = ('2026-01-01 00:00:00.000000',) * sql.count('?')
    with sqlite3.connect(dbs.cell[len('sqlite:///'):]) as conn:
        plan = ' | '.join(r[-1] for r in conn.execute('EXPLAIN QUERY PLAN ' + sql, since))
    assert 'compute_nodes_updated_at_idx' in plan, plan
    assert 'services_updated_at_idx' in plan, plan


def test_a_deleted_node_s_host_is_no_longer_looked_up(cloud: Any, monkeypatch: Any) -> None:
    """The host mappings are read again when a host of the cell has none; a
    host whose node is gone is not one of them any more."""
    cloud.add_host('h1')
    cloud.add_host('h2')
    _select(cloud)
    cache = cloud.sched.host_cache
    assert {'h1', 'h2'} <= cache.hosts(cloud.dbs.cell)
    compute_nodes.destroy_by_host(cloud.dbs.cell, 'h2')
    cache.nodes(cloud.dbs.cell)
    assert 'h2' not in cache.hosts(cloud.dbs.cell)
    assert 'h1' in cache.hosts(cloud.dbs.cell)


def test_a_write_stamped_before_the_newest_is_still_seen(cloud: Any, monkeypatch: Any) -> None:
    """A service disabled with a stamp older than its node's latest write
    (stamped first, committed last: what OVERLAP is for) leaves the row's
    latest stamp as it was; the copy is still replaced."""
    import datetime

    from minova.db import engines
    from minova.db.main_tables import services as services_table
    cloud.add_host('h1')
    cloud.add_host('h2', vcpus=4, ram=4096)     # h1 is the better host while enabled
    assert _select(cloud) == 'h1'
    assert _select(cloud) == 'h1'
    _no_full_read(monkeypatch)
    svc = services.get_all(cloud.dbs.cell, host='h1')[0]
    node = compute_nodes.get_all(cloud.dbs.cell, host='h1')[0]
    earlier = node['updated_at'] - datetime.timedelta(milliseconds=1)
    with engines.writer(cloud.dbs.cell) as conn:
        conn.execute(services_table.update().where(services_table.c.id == svc['id'])
                     .values(disabled=True, updated_at=earlier))
    assert _select(cloud) == 'h2'
