"""A project's server list at scale: the default order is read from an index
(no sort of every server of the project), NULLs still sort as the smallest
value, and the basic list reads only the columns it shows."""
from __future__ import annotations

import datetime
import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import sqlite

from minova import utils
from minova.cells import mappings
from minova.compute import listing
from minova.db import engines, paging
from minova.db import instances as inst_db


def _add(dbs: Any, n: int, project: str = 'proj1', **extra: Any) -> list[str]:
    base = datetime.datetime(2026, 1, 1)
    uuids = []
    for i in range(n):
        uuid = utils.generate_uuid()
        with engines.writer(dbs.api) as conn:
            mappings.instance_mapping_create(conn, uuid, project, 'user1')
        mappings.instance_mapping_set_cell(uuid, dbs.cell1['id'])
        inst_db.create(dbs.cell, {'uuid': uuid, 'project_id': project, 'user_id': 'user1',
                             'display_name': f's{i:03d}' if i % 3 else None,
                             'vcpus': 1, 'memory_mb': 64, 'vm_state': 'active',
                             'created_at': base + datetime.timedelta(seconds=i // 2),
                             **extra})
        uuids.append(uuid)
    return uuids


def _plan(url: str, filters: dict[str, Any], sort_keys: list[str], sort_dirs: list[str]
          ) -> str:
    q = inst_db._filters(sa.select(inst_db.instances), filters)
    q = paging.paginate(q, inst_db.instances, 10, sort_keys, sort_dirs)
    sql = str(q.compile(dialect=sqlite.dialect(), compile_kwargs={'literal_binds': True}))
    with sqlite3.connect(url[len('sqlite:///'):]) as conn:
        return ' | '.join(r[-1] for r in conn.execute('EXPLAIN QUERY PLAN ' + sql))


def test_default_order_of_a_project_is_read_from_an_index(dbs: Any) -> None:
    _add(dbs, 4)
    plan = _plan(dbs.cell, {'project_id': 'proj1', 'deleted': False, 'soft_deleted': False},
                 ['created_at'], ['desc'])
    assert 'instances_project_id_deleted_created_at_uuid_idx' in plan, plan
    assert 'TEMP B-TREE' not in plan, plan


def test_quota_count_reads_only_an_index(dbs: Any) -> None:
    q = (sa.select(sa.func.count(inst_db.instances.c.id))
         .where(inst_db.instances.c.project_id == 'proj1', inst_db.instances.c.deleted == 0))
    _add(dbs, 2)
    assert inst_db.count_by_project(dbs.cell, 'proj1') == {
        'instances': 2, 'cores': 2, 'ram': 128}
    sql = str(q.compile(dialect=sqlite.dialect(), compile_kwargs={'literal_binds': True}))
    with sqlite3.connect(dbs.cell[len('sqlite:///'):]) as conn:
        plan = ' '.join(r[-1] for r in conn.execute('EXPLAIN QUERY PLAN ' + sql))
    assert 'COVERING INDEX' in plan, plan


def _pages(sort_keys: list[str], sort_dirs: list[str], columns: list[str] | None,
           size: int = 4) -> list[dict[str, Any]]:
    filters = {'project_id': 'proj1'}
    out: list[dict[str, Any]] = []
    marker = None
    while True:
        page = listing.get_all(filters, size, marker, sort_keys, sort_dirs, columns=columns)
        out.extend(page)
        if len(page) < size:
            return out
        marker = page[-1]['uuid']


def test_order_and_markers_keep_nulls_smallest(dbs: Any) -> None:
    _add(dbs, 17)
    _add(dbs, 3, project='other')
    rows = [dict(r) for r in inst_db.get_all(dbs.cell, {'project_id': 'proj1'})]
    assert len(rows) == 17

    def expect(key: str, desc: bool) -> list[str]:
        # NULL is the smallest value; uuid breaks ties in the last key's direction.
        ordered = sorted(rows, key=lambda r: (r[key] is not None, r[key] or '', r['uuid']),
                         reverse=desc)
        return [r['uuid'] for r in ordered]

    for key in ('display_name', 'created_at'):
        for direction in ('asc', 'desc'):
            for columns in (None, ['uuid', 'display_name']):
                got = [r['uuid'] for r in _pages([key], [direction], columns)]
                assert got == expect(key, direction == 'desc'), (key, direction, columns)


def test_basic_columns_read_only_what_the_basic_list_shows(dbs: Any) -> None:
    _add(dbs, 2)
    rows = listing.get_all({'project_id': 'proj1'}, None, None, ['created_at'], ['desc'],
                           columns=['uuid', 'display_name'])
    assert {frozenset(r) for r in rows} == {
        frozenset({'uuid', 'display_name', 'created_at', 'cell_uuid'})}


def test_cell_of_a_server_is_remembered_once_it_has_one_and_bounded(
        dbs: Any, monkeypatch: Any) -> None:
    uuid = utils.generate_uuid()
    with engines.writer(dbs.api) as conn:
        mappings.instance_mapping_create(conn, uuid, 'proj1', 'user1')
    assert mappings.instance_cell_id(uuid) is None        # waiting: not remembered
    mappings.instance_mapping_set_cell(uuid, dbs.cell1['id'])
    assert mappings.instance_cell_id(uuid) == dbs.cell1['id']
    reads: list[str] = []
    real = mappings.instance_mapping_get
    monkeypatch.setattr(mappings, 'instance_mapping_get',
                        lambda u: reads.append(u) or real(u))
    assert mappings.instance_cell_id(uuid) == dbs.cell1['id'] and reads == []
    small = mappings._CellIds(2)
    for i, u in enumerate(('a', 'b', 'c')):
        small.put(u, i)
    assert (small.get('a'), small.get('b'), small.get('c')) == (None, 1, 2)


def test_quota_count_leaving_out_pending_servers_reads_no_row(dbs: Any) -> None:
    """The servers counted as build requests are left out by uuid, apart from
    the project's count, which stays index-only (with `uuid NOT IN` it read
    every row of the project)."""
    mine = _add(dbs, 5)
    _add(dbs, 2, project='other')
    gone = _add(dbs, 1)
    inst_db.destroy(dbs.cell, gone[0])
    soft = _add(dbs, 1, vm_state='soft-delete')
    assert inst_db.count_by_project(dbs.cell, 'proj1') == {
        'instances': 5, 'cores': 5, 'ram': 320}
    # Left out: two of the project's, another project's, a deleted and a
    # soft-deleted one (not counted anyway) and one not in this cell at all.
    others = inst_db.get_all(dbs.cell, {'project_id': 'other'})
    exclude = mine[:2] + [others[0]['uuid'], gone[0], soft[0], utils.generate_uuid()]
    assert inst_db.count_by_project(dbs.cell, 'proj1', exclude=exclude) == {
        'instances': 3, 'cores': 3, 'ram': 192}
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_a: Any) -> None:
        statements.append((statement, params))

    engine = engines.get_engine(dbs.cell)
    event.listen(engine, 'before_cursor_execute', record)
    try:
        inst_db.count_by_project(dbs.cell, 'proj1', exclude=exclude)
    finally:
        event.remove(engine, 'before_cursor_execute', record)
    (statement, params), = statements
    with sqlite3.connect(dbs.cell[len('sqlite:///'):]) as conn:
        plan = [r[-1] for r in conn.execute('EXPLAIN QUERY PLAN ' + statement, params)]
    reads = [p for p in plan if p.startswith(('SEARCH', 'SCAN instances'))]
    assert any('COVERING INDEX instances_project_id_deleted_usage_idx' in p
               for p in reads), plan
    assert any('(uuid=?)' in p for p in reads), plan
    assert all('COVERING INDEX' in p or '(uuid=?)' in p for p in reads), plan
