"""One-group allocation candidates, answered as text, say what the general
path says: every microversion's fields, trees, usages, limits, filters, and
after each change of inventory, traits, allocations or tree."""
import uuid

import pytest

from minova.placement.handlers import allocation_candidate, candidate_render
from tests.unit.placement.conftest import COMPUTE_INV

AGG = '44444444-4444-4444-8444-444444444444'
VERSIONS = ('1.10', '1.11', '1.12', '1.17', '1.21', '1.27', '1.29', '1.34', '1.35',
            '1.36', '1.39')


def _both(client, monkeypatch, path, version):
    fast = client.get(path, version=version)
    monkeypatch.setattr(allocation_candidate, 'ONE_GROUP_AS_TEXT', False)
    try:
        general = client.get(path, version=version)
    finally:
        monkeypatch.setattr(allocation_candidate, 'ONE_GROUP_AS_TEXT', True)
    assert fast.status_code == general.status_code == 200, (fast.text, general.text)
    assert fast.headers['content-type'] == general.headers['content-type']
    assert fast.json == general.json, path
    return fast.json


def _queries(version):
    q = ['/allocation_candidates?resources=VCPU:1,MEMORY_MB:512',
         '/allocation_candidates?resources=DISK_GB:5']
    if version >= (1, 16):
        q += ['/allocation_candidates?resources=VCPU:1&limit=2',
              '/allocation_candidates?resources=DISK_GB:10&limit=1']
    if version >= (1, 17):
        q.append('/allocation_candidates?resources=VCPU:1,DISK_GB:1&required=HW_CPU_X86_AVX2')
    if version >= (1, 21):
        q.append(f'/allocation_candidates?resources=VCPU:1&member_of={AGG}')
    if version >= (1, 22):
        q.append('/allocation_candidates?resources=VCPU:1&required=!HW_CPU_X86_AVX2')
    if version >= (1, 35):
        q.append('/allocation_candidates?resources=VCPU:1&root_required=CUSTOM_ROOT')
    if version >= (1, 25):
        q.append('/allocation_candidates?resources1=VCPU:1')
    return q


@pytest.mark.parametrize('version', VERSIONS)
def test_one_group_text_equals_general_path(client, monkeypatch, version):
    parsed = tuple(int(x) for x in version.split('.'))
    a = client.make_rp('a', inventory=COMPUTE_INV)
    b = client.make_rp('b', inventory=COMPUTE_INV)
    c = client.make_rp('c', inventory={'VCPU': {'total': 2}})
    # a tree: a root without resources asked for, children with them
    root = client.make_rp('root', inventory={'MEMORY_MB': {'total': 1024}})
    kid = client.make_rp('kid', parent=root, inventory={'VCPU': {'total': 8},
                                                      'DISK_GB': {'total': 50}})
    client.make_rp('kid2', parent=kid, inventory={'DISK_GB': {'total': 20, 'step_size': 5}})
    client.put(f'/resource_providers/{a}/traits',
               {'traits': ['HW_CPU_X86_AVX2'], 'resource_provider_generation': 1},
               version='1.6')
    client.put('/traits/CUSTOM_ROOT', None, version='1.6')
    client.put(f'/resource_providers/{root}/traits',
               {'traits': ['CUSTOM_ROOT'], 'resource_provider_generation': 1}, version='1.6')
    client.put(f'/resource_providers/{b}/aggregates',
               {'aggregates': [AGG], 'resource_provider_generation': 1}, version='1.19')
    client.allocate(str(uuid.uuid4()), {a: {'VCPU': 3, 'MEMORY_MB': 100}, kid: {'VCPU': 2}})
    for path in _queries(parsed):
        _both(client, monkeypatch, path, version)
    # after changes that do not bump a generation (a deleted allocation, a
    # new parent) and ones that do (inventory, traits), the kept summaries
    # are not served.
    consumer = str(uuid.uuid4())
    client.allocate(consumer, {b: {'VCPU': 8}, c: {'VCPU': 1}})
    body = _both(client, monkeypatch, _queries(parsed)[0], version)
    if parsed >= (1, 12):
        assert b not in {next(iter(r['allocations'])) for r in body['allocation_requests']}
    assert client.delete(f'/allocations/{consumer}').status_code == 204
    body = _both(client, monkeypatch, _queries(parsed)[0], version)
    assert body['provider_summaries'][b]['resources']['VCPU']['used'] == 0
    client.put(f'/resource_providers/{c}', {'name': 'c', 'parent_provider_uuid': root},
               version='1.14')
    client.put(f'/resource_providers/{c}/inventories',
               {'resource_provider_generation': 1,
                'inventories': {'VCPU': {'total': 6}, 'MEMORY_MB': {'total': 4096}}})
    client.put(f'/resource_providers/{b}/traits',
               {'traits': ['HW_CPU_X86_AVX2'], 'resource_provider_generation': 2},
               version='1.6')
    for path in _queries(parsed):
        _both(client, monkeypatch, path, version)


def test_kept_summaries_follow_usages(client):
    """A summary kept from an earlier answer shows the usage of now."""
    a = client.make_rp('a', inventory=COMPUTE_INV)
    q = '/allocation_candidates?resources=VCPU:1'
    assert client.get(q, version='1.39').json['provider_summaries'][a]['resources'][
        'VCPU'] == {'capacity': 8, 'used': 0}
    consumer = str(uuid.uuid4())
    client.allocate(consumer, {a: {'VCPU': 5}})
    assert client.get(q, version='1.39').json['provider_summaries'][a]['resources'][
        'VCPU'] == {'capacity': 8, 'used': 5}
    client.delete(f'/allocations/{consumer}')
    assert client.get(q, version='1.39').json['provider_summaries'][a]['resources'][
        'VCPU'] == {'capacity': 8, 'used': 0}
    assert candidate_render._fragments


def test_scheduler_request_follows_disabled_hosts_and_freed_room(client, monkeypatch):
    """The scheduler's request (limit, !COMPUTE_STATUS_DISABLED): a host
    that is disabled, or full, drops out, and comes back once enabled, or
    once an allocation is deleted (which bumps no generation), though the
    same request was answered before."""
    hosts = [client.make_rp(f'h{i}', inventory=COMPUTE_INV) for i in range(3)]
    q = ('/allocation_candidates?resources=DISK_GB%3A1%2CMEMORY_MB%3A512%2CVCPU%3A1'
         '&limit=1000&required=%21COMPUTE_STATUS_DISABLED')

    def chosen():
        body = _both(client, monkeypatch, q, '1.29')
        return [next(iter(r['allocations'])) for r in body['allocation_requests']]

    assert chosen() == hosts
    client.put(f'/resource_providers/{hosts[1]}/traits',
               {'traits': ['COMPUTE_STATUS_DISABLED'], 'resource_provider_generation': 1},
               version='1.6')
    assert chosen() == [hosts[0], hosts[2]]
    consumer = str(uuid.uuid4())
    client.allocate(consumer, {hosts[2]: {'VCPU': 8}})
    assert chosen() == [hosts[0]]
    client.delete(f'/allocations/{consumer}')
    client.put(f'/resource_providers/{hosts[1]}/traits',
               {'traits': [], 'resource_provider_generation': 2}, version='1.6')
    assert chosen() == hosts
    limited = _both(client, monkeypatch, q.replace('limit=1000', 'limit=2'), '1.29')
    assert [next(iter(r['allocations'])) for r in limited['allocation_requests']] == hosts[:2]
    assert set(limited['provider_summaries']) == set(hosts[:2])
