"""GET /os-migrations: fields per microversion, filters, paging, policy."""
from __future__ import annotations

import datetime
from typing import Any

import pytest

from minova.db import server_migrations
from tests.unit.api.conftest import Client

T0 = datetime.datetime(2026, 2, 1, 10, 0, 0)
SERVER = '0f1c5bc2-9a6e-4d2f-8d39-1c2a7f9d1e11'


@pytest.fixture
def records(dbs: dict[str, str]) -> list[dict[str, Any]]:
    """Five records in cell1, newest last; one hidden, one an in-progress live migration."""
    rows = []
    for n, (mtype, status, project) in enumerate([
            ('resize', 'finished', 'proj-a'), ('migration', 'error', 'proj-b'),
            ('live-migration', 'running', 'proj-a'), ('evacuation', 'done', 'proj-a'),
            ('resize', 'confirmed', 'proj-a')]):
        rows.append(server_migrations.create(dbs['cell'], {
            'instance_uuid': SERVER, 'migration_type': mtype, 'status': status,
            'source_compute': 'host1', 'dest_compute': f'host{n + 2}',
            'source_node': 'node1', 'dest_node': f'node{n + 2}', 'dest_host': '10.0.0.2',
            'old_instance_type_id': 1, 'new_instance_type_id': 2,
            'user_id': 'alice', 'project_id': project, 'hidden': n == 3,
            'created_at': T0 + datetime.timedelta(minutes=n),
            'updated_at': T0 + datetime.timedelta(minutes=n)}))
    return rows


def test_empty_list(admin: Client, dbs: dict[str, str]) -> None:
    assert admin.get('/os-migrations', version='2.1').json == {'migrations': []}
    assert admin.get('/os-migrations').json == {'migrations': []}


def test_fields_per_microversion(admin: Client, records: list[dict[str, Any]]) -> None:
    base = {'id', 'instance_uuid', 'status', 'source_compute', 'source_node', 'dest_compute',
            'dest_node', 'dest_host', 'old_instance_type_id', 'new_instance_type_id',
            'created_at', 'updated_at'}
    for version, extra in (('2.1', set()), ('2.23', {'migration_type'}),
                           ('2.59', {'migration_type', 'uuid'}),
                           ('2.80', {'migration_type', 'uuid', 'user_id', 'project_id'})):
        found = admin.get('/os-migrations', version=version).json['migrations']
        assert len(found) == 4   # the hidden one is left out
        for m in found:
            links = {'links'} if m['status'] == 'running' and extra else set()
            assert set(m) == base | extra | links, version
    newest = admin.get('/os-migrations').json['migrations'][0]
    assert newest['uuid'] == records[4]['uuid']
    assert newest['created_at'] == '2026-02-01T10:04:00.000000'
    live = next(m for m in admin.get('/os-migrations?status=running', version='2.23'
                                     ).json['migrations'])
    assert live['links'][0]['href'].endswith(
        f"/v2.1/servers/{SERVER}/migrations/{records[2]['id']}")


def test_filters_and_paging(admin: Client, records: list[dict[str, Any]]) -> None:
    def uuids(query: str, version: str = 'latest') -> list[str]:
        r = admin.get('/os-migrations?' + query, version=version)
        assert r.status_code == 200, r.text
        return [m['uuid'] for m in r.json['migrations']]

    u = [r['uuid'] for r in records]
    assert uuids('migration_type=resize') == [u[4], u[0]]
    assert uuids('host=host3') == [u[1]]           # source or destination
    assert uuids('source_compute=host1&status=error') == [u[1]]
    assert uuids('project_id=proj-b') == [u[1]]
    assert uuids('user_id=alice&limit=2') == [u[4], u[2]]
    r = admin.get('/os-migrations?limit=2')
    assert f'marker={u[2]}' in r.json['migrations_links'][0]['href']
    assert uuids(f'marker={u[2]}') == [u[1], u[0]]
    assert uuids('changes-since=2026-02-01T10:02:00Z') == [u[4], u[2]]
    assert uuids('changes-before=2026-02-01T10:01:00Z') == [u[1], u[0]]
    r = admin.get('/os-migrations?changes-since=2026-03-01T00:00:00Z&'
                  'changes-before=2026-01-01T00:00:00Z')
    assert r.status_code == 400
    r = admin.get('/os-migrations?marker=nope')
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == 'Marker nope could not be found.'


def test_query_per_microversion(admin: Client, records: list[dict[str, Any]]) -> None:
    assert admin.get('/os-migrations?bogus=1', version='2.58').status_code == 200
    assert admin.get('/os-migrations?bogus=1', version='2.59').status_code == 400
    no_paging = admin.get('/os-migrations?limit=1', version='2.58').json
    assert len(no_paging['migrations']) == 4 and 'migrations_links' not in no_paging
    assert admin.get('/os-migrations?changes-before=2026-01-01T00:00:00Z',
                     version='2.65').status_code == 400
    assert admin.get('/os-migrations?user_id=alice', version='2.79').status_code == 400
    # before 2.59 every parameter reaches the query, as in Nova
    assert len(admin.get('/os-migrations?project_id=proj-b', version='2.58'
                         ).json['migrations']) == 1


def test_policy(app: Any, records: list[dict[str, Any]]) -> None:
    member = Client(app, token='alice:proj-a')
    r = member.get('/os-migrations', headers={'X-Roles': 'member,reader'})
    assert r.status_code == 403
    manager = Client(app, token='mgr:proj-a')
    hdr = {'X-Roles': 'manager,member,reader'}
    # a manager lists its own project's migrations, without host fields
    assert manager.get('/os-migrations', headers=hdr).status_code == 403
    r = manager.get('/os-migrations?project_id=proj-a', headers=hdr)
    assert r.status_code == 200, r.text
    found = r.json['migrations']
    assert len(found) == 3 and {m['project_id'] for m in found} == {'proj-a'}
    assert all(m['source_compute'] is None and m['dest_host'] is None for m in found)
    assert manager.get('/os-migrations?project_id=proj-b', headers=hdr).status_code == 403
