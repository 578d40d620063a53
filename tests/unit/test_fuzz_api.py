"""Route-aware fuzzing of the compute API and placement, in process.

falcon.testing clients are driven through every route of both apps' route
tables (minova/api/wsgi.py ROUTES, minova/placement/wsgi.py ROUTES, routes
taking a body weighted up), with bodies and query strings built from valid
examples and then broken:
malformed JSON, wrong types, huge strings and integers, lone surrogates, deep
nesting, odd microversion headers, odd paths and ids, other projects' and
missing tokens. Every answer must be below 500, and every 4xx must carry the
API's error body: Nova's `{"<faultName>": {"code": N, "message": "..."}}` or
placement's `{"errors": [{"status": N, "title": ..., "detail": ...}]}`.

The apps run on fresh SQLite databases with the real compute API layer; what
lies behind the message bus and placement's HTTP client (conductor, compute
agents) is not running, so casts go nowhere and the few synchronous calls
are stubbed. Seeded servers (ACTIVE, on a host), flavors, aggregates,
keypairs, server groups and providers give the routes real things to act on.
What is gone is put back before each batch (`replenish`), and actions that no
agent finishes are ended, so that later requests still meet real things.

Hypothesis supplies one seeded `random.Random` per example (its own value
strategies lean to the simplest values, which would send the same few
requests over and over); each example sends a batch of BATCH requests drawn
from it. Deterministic: `derandomize=True` and a fixed number of examples. A
failure names the request that got the bad answer.
"""
from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minova import rpc
from minova.api import util
from minova.api import wsgi as compute_wsgi
from minova.cells import lookup, mappings
from minova.clients import placement as placement_client
from minova.compute import rpcapi as compute_rpcapi
from minova.conf import CONF
from minova.db import engines, migration
from minova.db import instances as inst_db
from minova.db import services as services_db
from minova.placement import policies as placement_policies
from minova.placement import wsgi as placement_wsgi
from tests.unit.api.conftest import dbs, insert_node, insert_service  # noqa: F401
from tests.unit.backbone.fakes import make_instance

EXAMPLES = 300          # hypothesis examples per app
BATCH = 20              # requests per example: 2 x 300 x 20 = 12,000 requests
IMAGE = '70a599e0-31e7-49b7-b260-868f441e862b'
SENT: list[int] = [0]


# ---- what the fuzzer sends ---------------------------------------------------------

HUGE_INTS = [2 ** 31, 2 ** 63, 10 ** 20, 10 ** 30, -(2 ** 63) - 1, -1, 0]
ODD_TEXT = ['', ' ', 'x' * 300, 'x' * 70000, '\ud800', 'a\udfffb', '\x00', 'caf\u00e9',
            '\U0001F600', '../../etc', '%00', '\u202e', '99999999999999999999', '-1',
            '0', '1.5', 'null', 'true', '^(a+)+$', '(ab', '[', '*', 'CUSTOM_X', IMAGE,
            '2020-01-01T00:00:00-05:00', '0001-01-01T00:00:00+05:00', 'nan']


LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff']


def scalar(rnd: random.Random) -> Any:
    kind = rnd.randrange(8)
    if kind == 0:
        return rnd.choice(ODD_TEXT)
    if kind == 1:
        return rnd.choice(HUGE_INTS)
    if kind == 2:
        return rnd.randint(-2 ** 70, 2 ** 70) >> rnd.randrange(70)
    if kind == 3:
        return rnd.choice([rnd.uniform(-1e6, 1e6), 1e308, -0.0, 0.5])
    if kind == 4:
        return rnd.choice([True, False, None])
    if kind == 5:
        return ''.join(chr(rnd.randrange(0x20, 0x2FFF)) for _ in range(rnd.randrange(12)))
    if kind == 6:
        return 'x' + rnd.choice(LONE_SURROGATES)
    return rnd.choice(['', 'a', 'vm', 'f1', 'host1', 'proj-a', 'CUSTOM_T', 'VCPU'])


def json_value(rnd: random.Random, depth: int = 0) -> Any:
    kind = rnd.randrange(6) if depth < 3 else 0
    if kind == 4:
        return [json_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    if kind == 5:
        return {str(scalar(rnd)): json_value(rnd, depth + 1) for _ in range(rnd.randrange(4))}
    return scalar(rnd)


def _leaves(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] + [path]
    if isinstance(value, list) and value:
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] + [path]
    return [path]


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


def _drop(value: Any, path: tuple) -> Any:
    if not path:
        return value
    if len(path) == 1:
        copy = dict(value) if isinstance(value, dict) else list(value)
        del copy[path[0]]
        return copy
    return _replace(value, path[:1], _drop(value[path[0]], path[1:]))


RAW_BODIES = [
    b'{', b'{"a": ', b'\xff\xfe\x00', b'nul\x00l', b'[1, 2', b'{"a": NaN}',
    b'{"a": Infinity}', b'{"a": 1e400}', b'"\\ud800"', b'{"\\ud800": 1}',
    b'{"a": "\\u0000"}', b'[' * 100000 + b']' * 100000,
    b'{"a":' * 900 + b'1' + b'}' * 900, b'\xef\xbb\xbf{}', b'  ', b'0', b'[]', b'""']


def body(rnd: random.Random, example: Any) -> bytes | None:
    """A raw request body: the valid example, or it broken one way or another."""
    kind = rnd.choice(['valid'] * 4 + ['leaf'] * 4 + ['drop', 'extra', 'any', 'raw', 'deep',
                                                       'none', 'utf16'])
    if kind == 'none' or (example is None and kind in ('valid', 'leaf', 'drop', 'extra')):
        return None
    value = example
    if kind in ('leaf', 'drop', 'extra'):
        path = rnd.choice(_leaves(example))
        if kind == 'leaf':
            value = _replace(example, path, json_value(rnd))
        elif kind == 'drop':
            value = _drop(example, path)
        else:
            value = _replace(example, path, {str(scalar(rnd)): scalar(rnd)})
    elif kind == 'any':
        value = json_value(rnd)
    elif kind == 'raw':
        return rnd.choice(RAW_BODIES)
    elif kind == 'utf16':
        return json.dumps(example).encode('utf-16')
    elif kind == 'deep':
        for _ in range(rnd.choice([63, 64, 65, 500])):
            value = {'a': value} if rnd.random() < 0.5 else [value]
    return json.dumps(value).encode()


# ---- checking the answers ----------------------------------------------------------

def check_compute(r: falcon.testing.Result, what: str) -> None:
    if r.status_code == 501:
        # Nova's answer for what the virt driver does not do (a hypervisor's
        # uptime on the fake driver): a statement about the deployment.
        assert r.json['notImplemented']['code'] == 501, what
        return
    assert r.status_code < 500, f'{what} -> {r.status_code} {r.text[:500]}'
    if r.status_code < 400:
        return
    body = r.json
    assert isinstance(body, dict) and len(body) == 1, f'{what} -> {r.text[:300]}'
    (fault,) = body.values()
    assert fault['code'] == r.status_code and isinstance(fault['message'], str), what


def check_placement(r: falcon.testing.Result, what: str) -> None:
    assert r.status_code < 500, f'{what} -> {r.status_code} {r.text[:500]}'
    if r.status_code < 400:
        return
    (error,) = r.json['errors']
    assert error['status'] == r.status_code, f'{what} -> {r.text[:300]}'
    assert isinstance(error['title'], str) and isinstance(error['detail'], str), what
    version = r.headers.get('openstack-api-version', 'placement 1.0').split()[-1]
    if tuple(int(p) for p in version.split('.')) >= (1, 23):
        assert str(error.get('code')).startswith('placement.'), f'{what} -> {r.text[:300]}'


def send(client: falcon.testing.TestClient, method: str, path: str, query: str,
         body: bytes | None, headers: dict[str, str]) -> falcon.testing.Result:
    SENT[0] += 1
    if body is not None:
        headers = dict(headers, **{'Content-Type': 'application/json'})
    return client.simulate_request(method, path, query_string=query or None, body=body,
                                   headers=headers)


# ---- the compute API ---------------------------------------------------------------

TOKENS = ['admin:admin', 'alice:proj-a', 'bob:proj-b', ':', 'x' * 300 + ':p', 'u:\u00e9',
          None]
COMPUTE_VERSIONS = ['compute latest', 'compute 2.1', 'compute 2.47', 'compute 2.75',
                    'compute 2.104', 'compute 2.999', 'compute 1.1', 'compute 2.',
                    'compute latest, placement 1.1', 'garbage', '', 'compute 2.0100',
                    'compute 99999999999999999999.1', None]

SERVER_BODY = {'server': {'name': 'vm', 'imageRef': IMAGE, 'flavorRef': 'f1',
                          'networks': 'none', 'metadata': {'k': 'v'}, 'min_count': 1,
                          'max_count': 2, 'description': 'd', 'key_name': 'kp1',
                          'tags': ['t'], 'user_data': 'aGk=', 'hostname': 'vm-1'},
               'os:scheduler_hints': {'group': '{group}'}}
SMALL_SERVER_BODY = {'server': {'name': 'vm', 'imageRef': IMAGE, 'flavorRef': 'f1',
                                'networks': 'auto'}}
COMPUTE_BODIES: dict[tuple[str, str], list[Any]] = {
    ('POST', '/flavors'): [{'flavor': {'name': 'fz', 'ram': 64, 'vcpus': 1, 'disk': 0,
                                       'id': 'fz', 'swap': 0, 'rxtx_factor': 1.0,
                                       'description': 'd',
                                       'OS-FLV-EXT-DATA:ephemeral': 0,
                                       'os-flavor-access:is_public': True}}],
    ('PUT', '/flavors/{flavor_id}'): [{'flavor': {'description': 'new'}}],
    ('POST', '/flavors/{flavor_id}/action'): [{'addTenantAccess': {'tenant': 'proj-a'}},
                                              {'removeTenantAccess': {'tenant': 'proj-a'}}],
    ('POST', '/flavors/{flavor_id}/os-extra_specs'): [{'extra_specs': {'hw:cpu': '2'}}],
    ('PUT', '/flavors/{flavor_id}/os-extra_specs/{key}'): [{'k': 'v'}],
    ('POST', '/servers'): [SMALL_SERVER_BODY, SERVER_BODY],
    ('PUT', '/servers/{server_id}'): [{'server': {'name': 'n', 'description': 'd',
                                                  'accessIPv4': '1.2.3.4',
                                                  'hostname': 'h1'}}],
    ('POST', '/servers/{server_id}/action'): [
        {'reboot': {'type': 'HARD'}}, {'os-stop': None}, {'os-start': None},
        {'os-getConsoleOutput': {'length': 5}}, {'pause': None}, {'unpause': None},
        {'suspend': None}, {'resume': None}, {'lock': {'locked_reason': 'r'}},
        {'unlock': None}, {'os-resetState': {'state': 'error'}},
        {'trigger_crash_dump': None}, {'os-getVNCConsole': {'type': 'novnc'}},
        {'os-migrateLive': {'host': None, 'block_migration': 'auto'}}],
    ('POST', '/servers/{server_id}/migrations/{migration_id}/action'): [
        {'force_complete': None}],
    ('POST', '/servers/{server_id}/metadata'): [{'metadata': {'k': 'v'}}],
    ('PUT', '/servers/{server_id}/metadata'): [{'metadata': {'k': 'v'}}],
    ('PUT', '/servers/{server_id}/metadata/{key}'): [{'meta': {'k': 'v'}}],
    ('PUT', '/servers/{server_id}/tags'): [{'tags': ['t', 'u']}],
    ('POST', '/servers/{server_id}/remote-consoles'): [
        {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}},
        {'remote_console': {'protocol': 'serial', 'type': 'serial'}}],
    ('POST', '/os-keypairs'): [{'keypair': {'name': 'kp', 'type': 'ssh',
                                            'user_id': 'alice'}}],
    ('PUT', '/os-services/{service_id}'): [{'status': 'disabled', 'disabled_reason': 'r',
                                            'forced_down': True}],
    ('POST', '/os-aggregates'): [{'aggregate': {'name': 'ag', 'availability_zone': 'z'}}],
    ('PUT', '/os-aggregates/{aggregate_id}'): [{'aggregate': {'name': 'ag2'}}],
    ('POST', '/os-aggregates/{aggregate_id}/action'): [
        {'add_host': {'host': 'host1'}}, {'remove_host': {'host': 'host1'}},
        {'set_metadata': {'metadata': {'availability_zone': 'z', 'k': None}}}],
    ('POST', '/os-server-groups'): [{'server_group': {'name': 'g', 'policy':
                                                      'anti-affinity', 'rules': {
                                                          'max_server_per_host': 2}}}],
    ('PUT', '/os-quota-sets/{project_id}'): [{'quota_set': {'instances': 50, 'cores': '50',
                                                            'force': True}}],
}
COMPUTE_QUERY_NAMES = ['name', 'limit', 'marker', 'changes-since', 'changes-before',
                       'sort_key', 'sort_dir', 'all_tenants', 'status', 'deleted',
                       'minRam', 'minDisk', 'is_public', 'user_id', 'offset', 'host',
                       'ip', 'flavor', 'image', 'tags', 'locked', 'power_state',
                       'all_projects', 'binary', 'with_servers', 'hypervisor_hostname_pattern',
                       'project_id', 'tenant_id', 'availability_zone', 'uuid']
QUERY_VALUES = ['1', '0', '-1', '99999999999999999999', 'true', 'None', '', 'x',
                '^(a%2B)%2B$', '(ab', '2020-01-01T00:00:00-05:00', '2020-01-01T00:00:00Z',
                'yesterday', '%ED%A0%80', '%FF', '%00', IMAGE, 'created_at', 'desc',
                'ACTIVE', 'host1', 'proj-a', 'a' * 3000]


def weighted(routes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Routes taking a body three times: they have the most to get wrong."""
    return [r for r in routes for _ in range(3 if r[0] in ('POST', 'PUT') else 1)]


def compute_routes() -> list[tuple[str, str]]:
    routes = weighted([(m[3:].upper(), '/v2.1' + path) for path, resource
                       in compute_wsgi.ROUTES for m in dir(resource) if m.startswith('on_')])
    return routes + [('GET', '/'), ('GET', '/v2.1'), ('PATCH', '/v2.1/servers'),
                     ('GET', '/v2.1/nope'), ('GET', '//v2.1//servers'),
                     ('GET', '/v2.1/proj-a/servers'), ('GET', '/v2.1/servers/detail/')]


ODD_IDS = ['99999999999999999999999', '-1', '0', 'x' * 300, '%ED%A0%80', 'caf%C3%A9', '..',
           'null', IMAGE.upper(), '%00']


def query_string(rnd: random.Random, names: list[str], values: list[str]) -> str:
    count = rnd.choice([0, 0, 0, 1, 2, 3])
    return '&'.join(f'{rnd.choice(names)}={rnd.choice(values)}' for _ in range(count))


def compute_request(rnd: random.Random, world: dict[str, Any]) -> tuple:
    method, template = rnd.choice(compute_routes())
    params = {name: rnd.choice(world[name] if rnd.random() < 0.8 else ODD_IDS)
              for name in ('flavor_id', 'key', 'server_id', 'request_id', 'name',
                           'service_id', 'hypervisor_id', 'aggregate_id', 'group_id',
                           'project_id', 'network_label', 'network_id', 'image_id', 'host',
                           'class_name', 'tenant_id', 'before', 'alias', 'tag',
                           'token', 'migration_id', 'port_id', 'floating_ip_id', 'volume_id',
                           'snapshot_id', 'security_group_id', 'security_group_rule_id')
              if '{' + name + '}' in template}
    path = template.format(**params)
    example = rnd.choice(COMPUTE_BODIES.get((method, template[len('/v2.1'):]), [None]))
    example = json.loads(json.dumps(example).replace('{group}', world['group_id'][0]))
    raw = body(rnd, example) if method in ('POST', 'PUT') or rnd.random() < 0.1 else None
    query = query_string(rnd, COMPUTE_QUERY_NAMES, QUERY_VALUES)
    headers = {}
    token = rnd.choice(TOKENS[:3] * 6 + TOKENS)
    if token is not None:
        headers['X-Auth-Token'] = token
    version = rnd.choice(COMPUTE_VERSIONS[:5] * 6 + COMPUTE_VERSIONS)
    if version is not None:
        headers['OpenStack-API-Version'] = version
    if rnd.random() < 0.1:  # the other headers a Nova client may send, oddly
        name = rnd.choice(['X-OpenStack-Nova-API-Version', 'X-Auth-Project-Id', 'X-Roles',
                           'X-Openstack-Request-Id'])
        headers[name] = rnd.choice(['2.1', '2.999', 'latest', '', 'x' * 1000, ',,,',
                                    'reader', 'admin,member', 'req-not-a-uuid', '\u00e9'])
    return method, path, query, raw, headers


class StubPlacement:
    """placement_client's clients, for the API's few calls into placement."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: 0


ADMIN = {'X-Auth-Token': 'admin:admin', 'OpenStack-API-Version': 'compute latest'}
ALICE = {**ADMIN, 'X-Auth-Token': 'alice:proj-a'}


def _missing(client: falcon.testing.TestClient, path: str, headers: dict[str, str] = ADMIN
             ) -> bool:
    return client.simulate_get('/v2.1' + path, headers=headers).status_code == 404


def replenish(world: dict[str, Any]) -> None:
    """Put back what earlier requests deleted, so later ones have things to act on."""
    client, urls = world['client'], world['dbs']
    if _missing(client, '/flavors/f1'):
        r = client.simulate_post('/v2.1/flavors', headers=ADMIN, json={'flavor': {
            'name': 'f1', 'ram': 64, 'vcpus': 1, 'disk': 1, 'id': 'f1'}})
        assert r.status_code == 200, r.text
        client.simulate_post('/v2.1/flavors/f1/os-extra_specs', headers=ADMIN,
                             json={'extra_specs': {'k': 'v'}})
    if not world['aggregate_id'] or _missing(client, f"/os-aggregates/{world['aggregate_id'][0]}"):
        agg = client.simulate_post('/v2.1/os-aggregates', headers=ADMIN, json={
            'aggregate': {'name': f'agg-{uuid.uuid4().hex[:6]}'}}).json['aggregate']
        world['aggregate_id'][:] = [str(agg['id'])]
    if not world['group_id'] or _missing(client, f"/os-server-groups/{world['group_id'][0]}"):
        group = client.simulate_post('/v2.1/os-server-groups', headers=ADMIN, json={
            'server_group': {'name': 'g1', 'policy': 'affinity'}}).json['server_group']
        world['group_id'][:] = [group['id']]
    if _missing(client, '/os-keypairs/kp1', ALICE):
        client.simulate_post('/v2.1/os-keypairs', headers=ALICE,
                             json={'keypair': {'name': 'kp1'}})
    if not services_db.get_all(urls['cell'], host='host1'):
        svc = insert_service(urls['cell'], 'host1')
        node = insert_node(urls['cell'], 'host1', service_id=svc['id'])
        world['service_id'][:] = [str(svc['id']), svc['uuid']]
        world['hypervisor_id'][:] = [str(node['id']), node['uuid']]
    cell1 = lookup.get(urls['cell1_uuid'])
    for i, project in enumerate(('proj-a', 'proj-b', 'admin')):
        if i < len(world['server_id']) and not _missing(
                client, f"/servers/{world['server_id'][i]}"):
            # No compute agent ends what an action started: end it here.
            inst_db.update(urls['cell'], world['server_id'][i],
                           {'vm_state': 'active', 'task_state': None})
            continue
        inst = make_instance(urls['cell'], display_name=f'vm-{project}', project_id=project,
                             user_id=project, host='host1', node='host1',
                             vm_state='active', task_state=None, power_state=1)
        with engines.writer(engines.api_url()) as conn:
            mappings.instance_mapping_create(conn, inst['uuid'], project, project, cell1['id'])
        world['server_id'][i:i + 1] = [inst['uuid']]


@pytest.fixture
def compute_world(dbs: dict[str, str], monkeypatch: pytest.MonkeyPatch  # noqa: F811
                  ) -> Iterator[dict[str, Any]]:
    monkeypatch.setattr(placement_client, 'Client', StubPlacement)
    util.set_compute_api(None)   # not one an earlier test made, with a real client
    monkeypatch.setattr(compute_rpcapi.ComputeAPI, 'get_console_output',
                        lambda self, *a, **k: 'console')
    for call, answer in (('get_host_uptime', ' 10:00 up 1 day'), ('get_diagnostics', {}),
                         ('get_instance_diagnostics', {}),
                         ('get_vnc_console', {'host': '127.0.0.1', 'port': 5900,
                                              'console_type': 'novnc',
                                              'access_url_base': 'http://h:6080/x'}),
                         ('get_serial_console', {'host': '127.0.0.1', 'port': 10000,
                                                 'console_type': 'serial',
                                                 'access_url_base': 'ws://h:6083/'})):
        monkeypatch.setattr(compute_rpcapi.ComputeAPI, call,
                            lambda self, *a, _answer=answer, **k: _answer)
    from minova.api.handlers import images as images_handler
    monkeypatch.setattr(images_handler, '_client', lambda: StubImages())
    quotas = (('instances', 1000), ('cores', 1000), ('ram', 10 ** 7),
              ('server_groups', 10 ** 6), ('key_pairs', 10 ** 6))
    for opt, value in quotas:
        CONF.set_override(opt, value, group='quota')
    world: dict[str, Any] = {
        'client': falcon.testing.TestClient(compute_wsgi.make_app()), 'dbs': dbs,
        'flavor_id': ['f1', 'nope'], 'key': ['k', 'nope'], 'server_id': [],
        'request_id': ['req-1'], 'name': ['kp1'], 'service_id': [], 'hypervisor_id': [],
        'aggregate_id': [], 'group_id': [], 'project_id': ['proj-a', 'admin', 'x' * 300],
        'network_label': ['private', 'nope'], 'network_id': ['net1'], 'image_id': [IMAGE],
        'host': ['host1', 'nope'], 'class_name': ['default', 'gold'],
        'tenant_id': ['proj-a', 'admin'], 'before': ['2026-01-01 00:00:00', 'x'],
        'alias': ['os-keypairs', 'nope'], 'tag': ['t', 'nope'],
        'token': ['nosuchtoken', ' '], 'migration_id': ['1', 'nope'],
        'port_id': ['3f1c2b9e-0000-4000-8000-000000000001', 'nope'],
        'floating_ip_id': ['3f1c2b9e-0000-4000-8000-0000000000f1', 'nope'],
        'volume_id': ['3f1c2b9e-0000-4000-8000-000000000002', 'nope'],
        'snapshot_id': ['3f1c2b9e-0000-4000-8000-000000000003', 'nope'],
        'security_group_id': ['3f1c2b9e-0000-4000-8000-000000000005', 'nope'],
        'security_group_rule_id': ['3f1c2b9e-0000-4000-8000-000000000006', 'nope']}
    transports = set(rpc._transports)
    replenish(world)
    yield world
    for opt, _ in quotas:
        CONF.clear_override(opt, group='quota')
    util.set_compute_api(None)
    for url in set(rpc._transports) - transports:  # the cell's, for its casts
        compute_rpcapi._by_url.pop(url, None)
        rpc._transports.pop(url).cleanup()


class StubImages:
    """The Image service behind the images proxy (2.1-2.35): no images."""

    def list(self, ctx: Any, filters: dict[str, str], limit: int | None = None,
             marker: str | None = None) -> list[dict[str, Any]]:
        return []

    def get(self, ctx: Any, image_id: str) -> dict[str, Any]:
        from minova.clients import image as image_client
        raise image_client.ImageNotFound(image_id=image_id)

    delete = get


def test_compute_api_fuzz(compute_world: dict[str, Any],
                          caplog: pytest.LogCaptureFixture) -> None:
    client = compute_world['client']
    start, before = time.monotonic(), SENT[0]
    caplog.set_level(logging.WARNING, logger='minova.cells.scatter')

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.randoms(use_true_random=True))
    def run(rnd: random.Random) -> None:
        replenish(compute_world)
        for _ in range(BATCH):
            method, path, query, raw, headers = compute_request(rnd, compute_world)
            r = send(client, method, path, query, raw, headers)
            check_compute(r, f'{method} {path}?{query} {headers} {raw!r:.300}')

    run()
    # Bad input must not pass for a cell failure (a listing would then show
    # the cell's servers as UNKNOWN instead of answering the query).
    failed = [r.getMessage() for r in caplog.records if r.name == 'minova.cells.scatter']
    assert not failed, failed[:5]
    print(f'compute: {SENT[0] - before} requests in {time.monotonic() - start:.1f} s')


# ---- placement -----------------------------------------------------------------------

PLACEMENT_VERSIONS = ['placement 1.31', 'placement 1.0', 'placement 1.8', 'placement 1.12',
                      'placement 1.20', 'placement 1.28', 'placement latest',
                      'placement 1.99', 'placement 2.0', 'placement 1.', 'compute 2.1',
                      'garbage', '', None]
PLACEMENT_BODIES: dict[tuple[str, str], list[Any]] = {
    ('POST', '/resource_providers'): [{'name': 'rp-x', 'uuid': str(uuid.UUID(int=7)),
                                       'parent_provider_uuid': None}],
    ('PUT', '/resource_providers/{uuid}'): [{'name': 'renamed',
                                             'parent_provider_uuid': None}],
    ('POST', '/resource_providers/{uuid}/inventories'): [{
        'resource_class': 'VCPU', 'total': 8, 'resource_provider_generation': 1}],
    ('PUT', '/resource_providers/{uuid}/inventories'): [{
        'resource_provider_generation': 1, 'inventories': {
            'VCPU': {'total': 8, 'reserved': 0, 'min_unit': 1, 'max_unit': 8,
                     'step_size': 1, 'allocation_ratio': 16.0},
            'MEMORY_MB': {'total': 4096}}}],
    ('PUT', '/resource_providers/{uuid}/inventories/{resource_class}'): [{
        'total': 8, 'resource_provider_generation': 1}],
    ('PUT', '/resource_providers/{uuid}/aggregates'): [
        {'aggregates': [str(uuid.UUID(int=9))], 'resource_provider_generation': 1},
        [str(uuid.UUID(int=9))]],
    ('PUT', '/resource_providers/{uuid}/traits'): [{
        'traits': ['CUSTOM_T', 'HW_CPU_X86_AVX'], 'resource_provider_generation': 1}],
    ('POST', '/allocations'): [{str(uuid.UUID(int=11)): {
        'allocations': {'{rp}': {'resources': {'VCPU': 1}}}, 'project_id': 'p',
        'user_id': 'u', 'consumer_generation': None}}],
    ('PUT', '/allocations/{consumer_uuid}'): [
        {'allocations': {'{rp}': {'resources': {'VCPU': 1, 'MEMORY_MB': 64}}},
         'project_id': 'p', 'user_id': 'u', 'consumer_generation': None},
        {'allocations': [{'resource_provider': {'uuid': '{rp}'},
                          'resources': {'VCPU': 1}}]}],
    ('POST', '/resource_classes'): [{'name': 'CUSTOM_NEW'}],
    ('POST', '/reshaper'): [{'inventories': {'{rp}': {
        'resource_provider_generation': 1, 'inventories': {'VCPU': {'total': 4}}}},
        'allocations': {}}],
}
PLACEMENT_QUERY_NAMES = ['resources', 'required', 'member_of', 'in_tree', 'limit',
                         'name', 'uuid', 'project_id', 'user_id', 'associated',
                         'group_policy', 'resources1', 'required1', 'member_of1',
                         'consumer_type']
PLACEMENT_QUERY_VALUES = ['VCPU:1', 'VCPU:1,MEMORY_MB:64', 'VCPU:99999999999999999999',
                          'VCPU:0', 'VCPU', 'CUSTOM_NOPE:1', 'HW_CPU_X86_AVX',
                          '!HW_CPU_X86_AVX', 'in:' + str(uuid.UUID(int=9)), 'x', '',
                          '99999999999999999999', '-1', '1', 'true', 'none', 'isolate',
                          'startswith:CUSTOM', 'in:CUSTOM_T,HW_CPU_X86_AVX', '%ED%A0%80',
                          str(uuid.UUID(int=5))]


def placement_routes() -> list[tuple[str, str]]:
    routes = weighted([(method, path) for path, methods in placement_wsgi.ROUTES.items()
                       for method in methods])
    return routes + [('PATCH', '/resource_providers'), ('GET', '/nope'),
                     ('GET', '//resource_providers'), ('DELETE', '/')]


def placement_request(rnd: random.Random, world: dict[str, Any]) -> tuple:
    method, template = rnd.choice(placement_routes())
    odd = ['99999999999999999999', 'x' * 300, '%ED%A0%80', 'nope', str(uuid.uuid4()),
           world['rp'].replace('-', ''), 'CUSTOM_' + 'X' * 300, '%00']
    fill = {'uuid': [world['rp'], world['child']],
            'resource_class': ['VCPU', 'MEMORY_MB', 'CUSTOM_RC'],
            'consumer_uuid': world['consumers'],
            'name': ['CUSTOM_T', 'CUSTOM_RC', 'VCPU', 'HW_CPU_X86_AVX', 'CUSTOM_NEW']}
    path = template.format(**{k: rnd.choice(v if rnd.random() < 0.8 else odd)
                              for k, v in fill.items() if '{' + k + '}' in template})
    example = rnd.choice(PLACEMENT_BODIES.get((method, template), [None]))
    example = json.loads(json.dumps(example).replace('{rp}', world['rp']))
    raw = body(rnd, example) if method in ('POST', 'PUT') or rnd.random() < 0.1 else None
    query = query_string(rnd, PLACEMENT_QUERY_NAMES, PLACEMENT_QUERY_VALUES)
    headers = {}
    token = rnd.choice(['admin'] * 8 + ['alice:proj', '', 'x' * 300])
    if token:
        headers['X-Auth-Token'] = token
    version = rnd.choice(PLACEMENT_VERSIONS[:7] * 4 + PLACEMENT_VERSIONS)
    if version is not None:
        headers['OpenStack-API-Version'] = version
    if raw is not None and rnd.random() < 0.05:
        headers['Content-Type'] = 'text/plain'
    return method, path, query, raw, headers


PLACEMENT_ADMIN = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.31'}


def replenish_placement(world: dict[str, Any]) -> None:
    """Put back the providers, inventory, names and allocations requests removed."""
    client, admin, rp = world['client'], PLACEMENT_ADMIN, world['rp']
    if client.simulate_get(f'/resource_providers/{rp}', headers=admin).status_code == 404:
        client.simulate_post('/resource_providers', headers=admin,
                             json={'name': f'cn-{rp}', 'uuid': rp})
    if client.simulate_get(f"/resource_providers/{world['child']}",
                           headers=admin).status_code == 404:
        client.simulate_post('/resource_providers', headers=admin, json={
            'name': f"child-{world['child']}", 'uuid': world['child'],
            'parent_provider_uuid': rp})
    inv = client.simulate_get(f'/resource_providers/{rp}/inventories', headers=admin).json
    if 'VCPU' not in inv['inventories'] or 'MEMORY_MB' not in inv['inventories']:
        client.simulate_put(f'/resource_providers/{rp}/inventories', headers=admin, json={
            'resource_provider_generation': inv['resource_provider_generation'],
            'inventories': {'VCPU': {'total': 64}, 'MEMORY_MB': {'total': 65536}}})
    client.simulate_put('/traits/CUSTOM_T', headers=admin)
    client.simulate_put('/resource_classes/CUSTOM_RC', headers=admin)
    for c in world['consumers']:
        if not client.simulate_get(f'/allocations/{c}', headers=admin).json['allocations']:
            client.simulate_put(f'/allocations/{c}', headers=admin, json={
                'allocations': {rp: {'resources': {'VCPU': 1}}}, 'project_id': 'p',
                'user_id': 'u', 'consumer_generation': None})


@pytest.fixture
def placement_world(tmp_path: Any) -> Iterator[dict[str, Any]]:
    url = f'sqlite:///{tmp_path}/placement.sqlite'
    CONF.set_override('connection', url, group='placement_database')
    migration.upgrade('placement_db', url)
    world = {'client': falcon.testing.TestClient(placement_wsgi.make_app()),
             'rp': str(uuid.uuid4()), 'child': str(uuid.uuid4()),
             'consumers': [str(uuid.uuid4()) for _ in range(3)]}
    replenish_placement(world)
    yield world
    engines.dispose_all()
    placement_policies.reset()
    CONF.clear_override('connection', group='placement_database')


def test_placement_fuzz(placement_world: dict[str, Any]) -> None:
    client = placement_world['client']
    start, before = time.monotonic(), SENT[0]

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.randoms(use_true_random=True))
    def run(rnd: random.Random) -> None:
        replenish_placement(placement_world)
        for _ in range(BATCH):
            method, path, query, raw, headers = placement_request(rnd, placement_world)
            r = send(client, method, path, query, raw, headers)
            check_placement(r, f'{method} {path}?{query} {headers} {raw!r:.300}')

    run()
    print(f'placement: {SENT[0] - before} requests in {time.monotonic() - start:.1f} s')


def test_at_least_ten_thousand_requests() -> None:
    assert 2 * EXAMPLES * BATCH >= 10000
