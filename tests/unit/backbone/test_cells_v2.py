"""cell_v2 operations: cell0 URL, map_cell0, create_cell, discover_hosts."""
from __future__ import annotations

from typing import Any

import pytest

from minova import rpc
from minova.cells import manage as cells_manage
from minova.cells import mappings
from minova.db import compute_nodes
from tests import db_templates
from tests.unit.backbone.fakes import add_compute


@pytest.mark.parametrize('main, cell0', [
    ('sqlite:////var/lib/minova/nova.sqlite', 'sqlite:////var/lib/minova/nova_cell0.sqlite'),
    ('sqlite:////var/lib/my.dir/nova', 'sqlite:////var/lib/my.dir/nova_cell0'),
    ('mysql+pymysql://nova:s3cret@db.example.com/nova?charset=utf8',
     'mysql+pymysql://nova:s3cret@db.example.com/nova_cell0?charset=utf8'),
    ('postgresql://nova:p%40ss@db:5432/nova', 'postgresql://nova:p%40ss@db:5432/nova_cell0'),
], ids=['sqlite-file', 'sqlite-dotted-dir', 'mysql', 'postgresql'])
def test_cell0_url_appends_cell0_to_the_database_name(main: str, cell0: str) -> None:
    assert cells_manage.cell0_url(main) == cell0


def test_cell0_url_defaults_to_this_services_database(empty_dbs: dict[str, str]) -> None:
    assert cells_manage.cell0_url() == f"sqlite:///{empty_dbs['tmp']}/cell1_cell0.sqlite"


def test_map_cell0_is_idempotent(empty_dbs: dict[str, str]) -> None:
    created, cell0 = cells_manage.map_cell0()
    assert created
    assert (cell0['uuid'], cell0['name'], cell0['transport_url']) == \
        (mappings.CELL0_UUID, 'cell0', 'none:///')
    assert cell0['database_connection'] == cells_manage.cell0_url()
    created, again = cells_manage.map_cell0('sqlite:////elsewhere/other.sqlite')
    assert not created
    assert again['id'] == cell0['id']
    assert again['database_connection'] == cell0['database_connection']
    assert [c['uuid'] for c in mappings.cell_list()] == [mappings.CELL0_UUID]


def test_create_cell_refuses_duplicate_transport_and_database(
        empty_dbs: dict[str, str]) -> None:
    cells_manage.map_cell0()
    first = cells_manage.create_cell('cell1', 'rabbit://r1//', empty_dbs['cell'])
    with pytest.raises(ValueError) as err:
        cells_manage.create_cell('again', 'rabbit://r1//', empty_dbs['cell'])
    assert str(err.value) == (
        'The specified transport_url and/or database_connection combination already '
        f"exists for another cell with uuid {first['uuid']}.")
    other = cells_manage.create_cell('cell2', 'rabbit://r1//', 'sqlite:////tmp/cell2.sqlite')
    assert other['uuid'] != first['uuid']
    assert len(mappings.cell_list()) == 3


def test_create_cell_defaults_to_this_services_bus_and_database(
        empty_dbs: dict[str, str]) -> None:
    cell = cells_manage.create_cell('cell1')
    assert cell['transport_url'] == rpc.transport_url()
    assert cell['database_connection'] == empty_dbs['cell']


# -- discover_hosts ------------------------------------------------------------------

def test_discover_maps_only_unmapped_hosts_and_says_so(dbs: Any) -> None:
    add_compute(dbs.cell, 'old', dbs.cell1['id'])
    n1 = add_compute(dbs.cell, 'h1')
    n2 = add_compute(dbs.cell, 'h2')
    said: list[str] = []
    added = cells_manage.discover_hosts(out=said.append)
    c1 = dbs.cell1['uuid']
    assert added == [{'host': 'h1', 'cell_uuid': c1}, {'host': 'h2', 'cell_uuid': c1}]
    assert {m['host']: m['cell_id'] for m in mappings.host_mapping_get_all()} == \
        {'old': dbs.cell1['id'], 'h1': dbs.cell1['id'], 'h2': dbs.cell1['id']}
    for line in ('Skipping cell0 since it does not contain hosts.',
                 f"Getting computes from cell 'cell1': {c1}",
                 f'Found 2 unmapped computes in cell: {c1}',
                 f"Checking host mapping for compute host 'h1': {n1['uuid']}",
                 f"Creating host mapping for compute host 'h1': {n1['uuid']}",
                 f"Creating host mapping for compute host 'h2': {n2['uuid']}"):
        assert line in said
    assert not any("'old'" in line for line in said)
    assert compute_nodes.get_all(dbs.cell, unmapped_only=True) == []


def test_discover_run_again_changes_nothing(dbs: Any) -> None:
    add_compute(dbs.cell, 'h1')
    assert len(cells_manage.discover_hosts()) == 1
    said: list[str] = []
    assert cells_manage.discover_hosts(out=said.append) == []
    assert f"Found 0 unmapped computes in cell: {dbs.cell1['uuid']}" in said
    assert not any(line.startswith('Creating') for line in said)
    assert [m['host'] for m in mappings.host_mapping_get_all()] == ['h1']


def test_discover_leaves_host_mapped_by_a_concurrent_run(dbs: Any) -> None:
    node = add_compute(dbs.cell, 'h1')
    mappings.host_mapping_create('h1', dbs.cell1['id'])   # the other run won
    said: list[str] = []
    assert cells_manage.discover_hosts(out=said.append) == []
    assert f"Checking host mapping for compute host 'h1': {node['uuid']}" in said
    assert not any(line.startswith('Creating') for line in said)
    assert compute_nodes.get_all(dbs.cell, unmapped_only=True) == []


def test_discover_in_one_cell_only(dbs: Any) -> None:
    cell2, url2 = dbs.new_cell('cell2')
    add_compute(dbs.cell, 'in-cell1')
    add_compute(url2, 'in-cell2')
    added = cells_manage.discover_hosts(cell2['uuid'])
    assert added == [{'host': 'in-cell2', 'cell_uuid': cell2['uuid']}]
    assert [m['host'] for m in mappings.host_mapping_get_all()] == ['in-cell2']
    assert [n['host'] for n in compute_nodes.get_all(dbs.cell, unmapped_only=True)] == \
        ['in-cell1']


def test_discover_counts_every_cell_mapping_like_nova(dbs: Any) -> None:
    said: list[str] = []
    cells_manage.discover_hosts(out=said.append)
    assert said[0] == 'Found 2 cell mappings.'


def test_discover_wording_for_unnamed_cell(dbs: Any) -> None:
    url = f'sqlite:///{dbs.tmp}/anon.sqlite'
    db_templates.migrated('main_db', url)
    anon = mappings.cell_create(None, 'fake:/anon', url)
    said: list[str] = []
    cells_manage.discover_hosts(anon['uuid'], out=said.append)
    assert f"Getting computes from cell: {anon['uuid']}" in said
