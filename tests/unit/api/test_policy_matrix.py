"""Who may do what: every implemented compute API call, as four callers.

The callers, with the roles a Keystone token would carry (member implies
reader in Keystone's default role tree):

  admin    user `admin` in project `admin`, roles admin, member, reader
  memberA  user `alice` in project `proj-a`, roles member, reader
  readerA  user `carol` in project `proj-a`, role reader
  memberB  user `bob`   in project `proj-b`, roles member, reader

`{server}` is a server of project A (owned by alice), `{flavor}` a public
flavor with extra spec `k`, `{private}` a private flavor project C may use,
`{service}`/`{node}` a compute service and its hypervisor, `{aggregate}` a
host aggregate, `{group}` a server group of alice's, each made afresh
for every call. The table is what each caller gets: `ok` (any 2xx: the
policy let the call through), `403` (Nova's forbidden fault) or `404` (the
server is not even visible to that caller, as in Nova); docs/policy.md
renders the same table (test_docs_show_this_matrix keeps them equal).
"""
from __future__ import annotations

import itertools
import pathlib
from typing import Any

import pytest

from minova.api import policy
from minova.conf import CONF
from tests.unit.api.conftest import Client, FakeComputeAPI, insert_node, insert_service

CALLERS = {
    'admin': ('admin:admin', 'admin,member,reader'),
    'memberA': ('alice:proj-a', 'member,reader'),
    'readerA': ('carol:proj-a', 'reader'),
    'memberB': ('bob:proj-b', 'member,reader'),
}

# method  path                                           microversion  admin memberA readerA memberB
MATRIX = """
GET     /servers                                         latest   ok   ok   ok   ok
GET     /servers/detail                                  latest   ok   ok   ok   ok
GET     /servers?all_tenants=1                           latest   ok   403  403  403
GET     /servers/{server}                                latest   ok   ok   ok   404
POST    /servers                                         latest   ok   ok   403  ok
PUT     /servers/{server}                                latest   ok   ok   403  404
DELETE  /servers/{server}                                latest   ok   ok   403  404
GET     /servers/{server}/os-instance-actions            latest   ok   ok   ok   404
GET     /servers/{server}/os-instance-actions/req-1      latest   ok   ok   ok   404
GET     /servers/{server}/ips                            latest   ok   ok   ok   404
GET     /servers/{server}/diagnostics                    latest   ok   403  403  404
POST    /servers/{server}/remote-consoles                latest   ok   ok   403  404
POST    /servers/{server}/action:os-getVNCConsole        2.5      ok   ok   403  404
GET     /os-console-auth-tokens/tok                      latest   ok   403  403  403
GET     /flavors                                         latest   ok   ok   ok   ok
GET     /flavors/detail                                  latest   ok   ok   ok   ok
GET     /flavors/{flavor}                                latest   ok   ok   ok   ok
POST    /flavors                                         latest   ok   403  403  403
PUT     /flavors/{flavor}                                latest   ok   403  403  403
DELETE  /flavors/{flavor}                                latest   ok   403  403  403
GET     /flavors/{flavor}/os-extra_specs                 latest   ok   ok   ok   ok
GET     /flavors/{flavor}/os-extra_specs/k               latest   ok   ok   ok   ok
POST    /flavors/{flavor}/os-extra_specs                 latest   ok   403  403  403
PUT     /flavors/{flavor}/os-extra_specs/k               latest   ok   403  403  403
DELETE  /flavors/{flavor}/os-extra_specs/k               latest   ok   403  403  403
GET     /flavors/{private}/os-flavor-access              latest   ok   403  403  403
POST    /flavors/{private}/action:addTenantAccess        latest   ok   403  403  403
POST    /flavors/{private}/action:removeTenantAccess     latest   ok   403  403  403
GET     /os-keypairs                                     latest   ok   ok   ok   ok
POST    /os-keypairs                                     2.91     ok   ok   ok   ok
GET     /os-keypairs/{keypair}?user_id=alice             latest   ok   ok   403  403
DELETE  /os-keypairs/{keypair}?user_id=alice             latest   ok   ok   403  403
GET     /os-services                                     latest   ok   403  403  403
PUT     /os-services/{service}                           latest   ok   403  403  403
DELETE  /os-services/{service}                           latest   ok   403  403  403
GET     /os-hypervisors                                  latest   ok   403  403  403
GET     /os-hypervisors/detail                           latest   ok   403  403  403
GET     /os-hypervisors/{node}                           latest   ok   403  403  403
GET     /os-hypervisors/statistics                       2.87     ok   403  403  403
GET     /os-aggregates                                   latest   ok   403  403  403
POST    /os-aggregates                                   latest   ok   403  403  403
GET     /os-aggregates/{aggregate}                       latest   ok   403  403  403
GET     /os-server-groups                                latest   ok   ok   ok   ok
POST    /os-server-groups                                latest   ok   ok   403  ok
GET     /os-server-groups/{group}                        latest   ok   ok   ok   404
DELETE  /os-server-groups/{group}                        latest   ok   ok   403  404
GET     /os-availability-zone                            latest   ok   ok   ok   ok
GET     /os-availability-zone/detail                     latest   ok   403  403  403
GET     /os-migrations                                   latest   ok   403  403  403
GET     /limits                                          latest   ok   ok   ok   ok
GET     /limits?tenant_id=proj-b                         2.56     ok   403  403  ok
GET     /os-quota-sets/proj-a                            latest   ok   ok   ok   403
GET     /os-quota-sets/proj-a/detail                     latest   ok   ok   ok   403
GET     /os-quota-sets/proj-a/defaults                   latest   ok   ok   ok   ok
PUT     /os-quota-sets/proj-a                            latest   ok   403  403  403
DELETE  /os-quota-sets/proj-a                            latest   ok   403  403  403
GET     /os-quota-class-sets/default                     latest   ok   403  403  403
PUT     /os-quota-class-sets/default                     latest   ok   403  403  403
GET     /os-simple-tenant-usage                          latest   ok   403  403  403
GET     /os-simple-tenant-usage/proj-a                   latest   ok   ok   ok   403
GET     /os-instance_usage_audit_log                     latest   ok   403  403  403
POST    /os-server-external-events                       latest   403  403  403  403
GET     /os-hosts                                        2.42     ok   403  403  403
GET     /os-networks                                     2.35     ok   ok   ok   ok
GET     /extensions                                      latest   ok   ok   ok   ok
"""

BODIES: dict[tuple[str, str], Any] = {
    ('POST', '/servers'): {'server': {'name': 'vm', 'flavorRef': 'm1', 'networks': 'none',
                                      'imageRef': '70a599e0-31e7-49b7-b260-868f441e862b'}},
    ('PUT', '/servers/{server}'): {'server': {'name': 'renamed'}},
    ('POST', '/servers/{server}/remote-consoles'):
        {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}},
    ('POST', '/servers/{server}/action:os-getVNCConsole'): {'os-getVNCConsole': {'type': 'novnc'}},
    ('POST', '/flavors'): {'flavor': {'name': 'new-{n}', 'ram': 64, 'vcpus': 1, 'disk': 1}},
    ('PUT', '/flavors/{flavor}'): {'flavor': {'description': 'small'}},
    ('POST', '/flavors/{flavor}/os-extra_specs'): {'extra_specs': {'hw:cpu_policy': 'shared'}},
    ('PUT', '/flavors/{flavor}/os-extra_specs/k'): {'k': 'v2'},
    ('POST', '/flavors/{private}/action:addTenantAccess'):
        {'addTenantAccess': {'tenant': 'proj-b'}},
    ('POST', '/flavors/{private}/action:removeTenantAccess'):
        {'removeTenantAccess': {'tenant': 'proj-c'}},
    ('POST', '/os-keypairs'): {'keypair': {'name': 'kp-new-{n}'}},
    ('PUT', '/os-services/{service}'): {'status': 'disabled'},
    ('POST', '/os-aggregates'): {'aggregate': {'name': 'agg-{n}'}},
    ('POST', '/os-server-groups'): {'server_group': {'name': 'g-{n}', 'policy': 'affinity'}},
    ('PUT', '/os-quota-sets/proj-a'): {'quota_set': {'instances': 20}},
    ('PUT', '/os-quota-class-sets/default'): {'quota_class_set': {'instances': 20}},
    ('POST', '/os-server-external-events'): {'events': [
        {'name': 'network-changed', 'server_uuid': '0f1c5bc2-9a6e-4d2f-8d39-1c2a7f9d1e11'}]},
}


def parse(table: str) -> list[tuple[str, str, str, dict[str, str]]]:
    rows = []
    for line in table.strip().splitlines():
        method, path, version, *codes = line.split()
        rows.append((method, path, version, dict(zip(CALLERS, codes, strict=True))))
    return rows


ROWS = parse(MATRIX)
_counter = itertools.count()


class World:
    """Makes the resources a row's placeholders name, fresh for each call."""

    def __init__(self, admin: Client, compute: FakeComputeAPI, dbs: dict[str, str]) -> None:
        self.admin, self.compute, self.dbs = admin, compute, dbs
        r = admin.post('/flavors', {'flavor': {'name': 'm1', 'id': 'm1', 'ram': 64,
                                               'vcpus': 1, 'disk': 1}})
        assert r.status_code == 200, r.text
        self.alice = Client(admin.sim.app, token='alice:proj-a')

    def _flavor(self, public: bool) -> str:
        n = next(_counter)
        r = self.admin.post('/flavors', {'flavor': {
            'name': f'f{n}', 'id': f'f{n}', 'ram': 64, 'vcpus': 1, 'disk': 1,
            'os-flavor-access:is_public': public}})
        assert r.status_code == 200, r.text
        if public:
            r = self.admin.post(f'/flavors/f{n}/os-extra_specs', {'extra_specs': {'k': 'v'}})
        else:
            r = self.admin.post(f'/flavors/f{n}/action',
                                {'addTenantAccess': {'tenant': 'proj-c'}})
        assert r.status_code == 200, r.text
        return f'f{n}'

    def fill(self, path: str) -> str:
        values: dict[str, str] = {'n': str(next(_counter))}
        if '{server}' in path:
            values['server'] = self.compute.add(project_id='proj-a', user_id='alice')['uuid']
        if '{flavor}' in path:
            values['flavor'] = self._flavor(public=True)
        if '{private}' in path:
            values['private'] = self._flavor(public=False)
        if '{keypair}' in path:
            values['keypair'] = f'kp{values["n"]}'
            r = self.alice.post('/os-keypairs', {'keypair': {'name': values['keypair']}},
                                headers={'X-Roles': 'member,reader'}, version='2.91')
            assert r.status_code == 201, r.text
        if '{aggregate}' in path:
            r = self.admin.post('/os-aggregates', {'aggregate': {'name': f'a{values["n"]}'}})
            assert r.status_code == 200, r.text
            values['aggregate'] = str(r.json['aggregate']['id'])
        if '{group}' in path:
            r = self.alice.post('/os-server-groups', {'server_group': {
                'name': f'g{values["n"]}', 'policy': 'affinity'}},
                headers={'X-Roles': 'member,reader'})
            assert r.status_code == 200, r.text
            values['group'] = r.json['server_group']['id']
        if '{service}' in path or '{node}' in path:
            host = f'host{values["n"]}'
            values['service'] = insert_service(self.dbs['cell'], host)['uuid']
            values['node'] = insert_node(self.dbs['cell'], host)['uuid']
        return path.format(**values)


def _call(world: World, caller: str, method: str, path: str, version: str) -> Any:
    token, roles = CALLERS[caller]
    client = Client(world.admin.sim.app, token=token, version=version)
    body = BODIES.get((method, path))
    if body is not None:
        body = _format(body, world.fill('{n}'))
    url = world.fill(path).partition(':')[0]   # ':addTenantAccess' names the body
    return client.request(method, url, json=body, headers={'X-Roles': roles})


def _format(value: Any, n: str) -> Any:
    if isinstance(value, dict):
        return {k: _format(v, n) for k, v in value.items()}
    return value.replace('{n}', n) if isinstance(value, str) else value


@pytest.fixture
def world(admin: Client, compute: FakeComputeAPI, dbs: dict[str, str]) -> World:
    return World(admin, compute, dbs)


@pytest.mark.parametrize('method,path,version,expected', ROWS,
                         ids=[f'{m} {p}' for m, p, _, _ in ROWS])
def test_matrix(world: World, method: str, path: str, version: str,
                expected: dict[str, str]) -> None:
    got = {caller: _call(world, caller, method, path, version) for caller in CALLERS}
    outcome = {caller: 'ok' if 200 <= r.status_code < 300 else str(r.status_code)
               for caller, r in got.items()}
    assert outcome == expected, {c: (r.status_code, r.text[:200]) for c, r in got.items()
                                 if outcome[c] != expected[c]}
    for r in got.values():
        if r.status_code == 403:
            assert 'forbidden' in r.json, r.text   # Nova's fault body, not a bare error


def test_project_b_cannot_see_project_a_servers(world: World) -> None:
    mine = world.compute.add(project_id='proj-a', user_id='alice')
    token, roles = CALLERS['memberB']
    other = Client(world.admin.sim.app, token=token)
    listed = other.get('/servers/detail', headers={'X-Roles': roles}).json['servers']
    assert mine['uuid'] not in [s['id'] for s in listed]
    r = other.get(f'/servers/{mine["uuid"]}', headers={'X-Roles': roles})
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == f'Instance {mine["uuid"]} could not be found.'
    token, roles = CALLERS['readerA']
    reader = Client(world.admin.sim.app, token=token)
    listed = reader.get('/servers', headers={'X-Roles': roles}).json['servers']
    assert [s['id'] for s in listed] == [mine['uuid']]


def test_policy_file_overrides_defaults(world: World, tmp_path: pathlib.Path) -> None:
    """`[oslo_policy] policy_file` wins over the defaults in code."""
    rules = tmp_path / 'policy.yaml'
    rules.write_text('"os_compute_api:servers:create": "rule:project_reader_or_admin"\n'
                     '"os_compute_api:os-availability-zone:list": "role:admin"\n')
    CONF.set_override('policy_file', str(rules), group='oslo_policy')
    policy.reset()
    try:
        assert _call(world, 'readerA', 'POST', '/servers', 'latest').status_code == 202
        assert _call(world, 'memberA', 'GET', '/os-availability-zone',
                     'latest').status_code == 403
        assert _call(world, 'admin', 'GET', '/os-availability-zone',
                     'latest').status_code == 200
    finally:
        CONF.clear_override('policy_file', group='oslo_policy')
        policy.reset()
    assert _call(world, 'readerA', 'POST', '/servers', 'latest').status_code == 403


def test_system_scoped_token_is_refused(world: World) -> None:
    """Rules are project-scoped: even an admin with a system-scoped token gets 403."""
    client = Client(world.admin.sim.app, token='admin:admin')
    r = client.get('/os-services', headers={'OpenStack-System-Scope': 'all'})
    assert r.status_code == 200   # noauth2 never makes system-scoped contexts
    from minova.context import RequestContext
    ctx = RequestContext(user_id='admin', project_id=None, system_scope='all',
                         roles=['admin', 'member', 'reader'])
    assert not policy.can(ctx, 'os_compute_api:os-services:list', {})
    assert policy.can(RequestContext(user_id='admin', project_id='admin',
                                     roles=['admin']), 'os_compute_api:os-services:list', {})


def markdown_table() -> str:
    """The matrix as docs/policy.md shows it."""
    head = '| call | microversion | ' + ' | '.join(CALLERS) + ' |'
    sep = '| --- | --- | ' + ' | '.join('---' for _ in CALLERS) + ' |'
    lines = [head, sep]
    for method, path, version, codes in ROWS:
        lines.append(f'| `{method} {path}` | {version} | '
                     + ' | '.join(str(codes[c]) for c in CALLERS) + ' |')
    return '\n'.join(lines)


def test_docs_show_this_matrix() -> None:
    doc = (pathlib.Path(__file__).parents[3] / 'docs' / 'policy.md').read_text()
    assert markdown_table() in doc, 'regenerate the table in docs/policy.md:\n' + \
        markdown_table()
