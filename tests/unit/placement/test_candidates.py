"""GET /allocation_candidates, traits, aggregates, resource classes."""
import time
import uuid

from tests.unit.placement.conftest import COMPUTE_INV

AGG = '33333333-3333-4333-8333-333333333333'
Q = '/allocation_candidates?resources=VCPU:1,MEMORY_MB:512'


def _uuids(r):
    return [next(iter(a['allocations'])) for a in r.json['allocation_requests']]


def test_candidates_filter_capacity_and_limit(client):
    small = client.make_rp('small', inventory={'VCPU': {'total': 1},
                                               'MEMORY_MB': {'total': 256}})
    big1 = client.make_rp('big1', inventory=COMPUTE_INV)
    big2 = client.make_rp('big2', inventory=COMPUTE_INV)
    r = client.get(Q)
    assert r.status_code == 200
    assert sorted(_uuids(r)) == sorted([big1, big2])
    assert small not in r.json['provider_summaries']
    summary = r.json['provider_summaries'][big1]
    assert summary['resources']['VCPU'] == {'capacity': 8, 'used': 0}
    assert summary['root_provider_uuid'] == big1
    req = r.json['allocation_requests'][0]
    assert req['allocations'][big1]['resources'] == {'VCPU': 1, 'MEMORY_MB': 512}
    assert len(_uuids(client.get(Q + '&limit=1'))) == 1
    # usage counts: fill big1's memory
    client.allocate(str(uuid.uuid4()), {big1: {'MEMORY_MB': 1200}})
    assert _uuids(client.get(Q)) == [big2]
    # list form before 1.12
    r = client.get('/allocation_candidates?resources=VCPU:1', version='1.10')
    assert r.json['allocation_requests'][0]['allocations'][0]['resource_provider']['uuid']
    assert client.get(Q + '&limit=0').status_code == 400
    r = client.get('/allocation_candidates?resources=CUSTOM_X:1')
    assert r.status_code == 400


def test_candidates_required_traits_and_member_of(client):
    a = client.make_rp('a', inventory=COMPUTE_INV)
    b = client.make_rp('b', inventory=COMPUTE_INV)
    r = client.put(f'/resource_providers/{a}/traits',
                   {'traits': ['HW_CPU_X86_AVX2'], 'resource_provider_generation': 1})
    assert r.status_code == 200
    assert r.json == {'traits': ['HW_CPU_X86_AVX2'], 'resource_provider_generation': 2}
    assert _uuids(client.get(Q + '&required=HW_CPU_X86_AVX2')) == [a]
    assert _uuids(client.get(Q + '&required=!HW_CPU_X86_AVX2')) == [b]
    assert client.get(Q + '&required=CUSTOM_UNKNOWN').status_code == 400
    summary = client.get(Q + '&required=HW_CPU_X86_AVX2').json['provider_summaries'][a]
    assert summary['traits'] == ['HW_CPU_X86_AVX2']
    r = client.put(f'/resource_providers/{b}/aggregates',
                   {'aggregates': [AGG], 'resource_provider_generation': 1})
    assert r.status_code == 200
    assert r.json['aggregates'] == [AGG]
    assert client.get(f'/resource_providers/{b}/aggregates').json == {
        'aggregates': [AGG], 'resource_provider_generation': 2}
    assert _uuids(client.get(Q + f'&member_of={AGG}')) == [b]
    assert _uuids(client.get(Q + f'&member_of=in:{AGG},{uuid.uuid4()}')) == [b]
    assert _uuids(client.get(Q + f'&in_tree={a}')) == [a]
    stale = client.put(f'/resource_providers/{b}/aggregates',
                       {'aggregates': [], 'resource_provider_generation': 1})
    assert stale.status_code == 409


def test_granular_groups_on_nested_tree(client):
    root = client.make_rp('cn', inventory={'VCPU': {'total': 4}})
    assert client.put('/resource_classes/CUSTOM_VF').status_code == 201
    pf1 = client.make_rp('pf1', parent=root, inventory={'CUSTOM_VF': {'total': 2}})
    pf2 = client.make_rp('pf2', parent=root, inventory={'CUSTOM_VF': {'total': 2}})
    r = client.get('/allocation_candidates?resources=VCPU:1&resources1=CUSTOM_VF:1'
                   '&resources2=CUSTOM_VF:1&group_policy=isolate')
    assert r.status_code == 200, r.text
    # isolate: the two VF groups land on different PFs; as upstream, the two
    # orders are two candidates (same allocations, different mappings)
    assert [a['allocations'] for a in r.json['allocation_requests']] == [{
        root: {'resources': {'VCPU': 1}}, pf1: {'resources': {'CUSTOM_VF': 1}},
        pf2: {'resources': {'CUSTOM_VF': 1}}}] * 2
    assert set(r.json['provider_summaries']) == {root, pf1, pf2}
    r = client.get('/allocation_candidates?resources=VCPU:1&resources1=CUSTOM_VF:2'
                   '&resources2=CUSTOM_VF:1&group_policy=none')
    assert len(r.json['allocation_requests']) == 2   # the 2-VF group fills either PF
    for a in r.json['allocation_requests']:
        vfs = sum(v['resources'].get('CUSTOM_VF', 0) for v in a['allocations'].values())
        assert vfs == 3
    assert client.get('/allocation_candidates?resources1=VCPU:1&resources2=VCPU:1'
                      ).status_code == 400


def test_candidates_fast_with_many_providers(client, db_url):
    from minova.db import engines
    from minova.placement import tables as t
    from minova.placement.db import names
    names.sync(db_url)
    with engines.writer(db_url) as conn:
        rcs = names.ids_for(conn, 'rc', ['VCPU', 'MEMORY_MB'])
        for i in range(1500):
            pid = conn.execute(t.resource_providers.insert().values(
                uuid=str(uuid.uuid4()), name=f'h{i}', generation=1)).inserted_primary_key[0]
            conn.execute(t.resource_providers.update().where(
                t.resource_providers.c.id == pid).values(root_provider_id=pid))
            conn.execute(t.inventories.insert(), [
                dict(resource_provider_id=pid, resource_class_id=rcs[rc], total=total,
                     reserved=0, min_unit=1, max_unit=total, step_size=1,
                     allocation_ratio=1.0) for rc, total in (('VCPU', 8 if i % 2 else 1),
                                                             ('MEMORY_MB', 4096))])
    start = time.monotonic()
    r = client.get('/allocation_candidates?resources=VCPU:2,MEMORY_MB:512')
    elapsed = time.monotonic() - start
    assert len(r.json['allocation_requests']) == 750
    assert elapsed < 5, elapsed
    r = client.get('/allocation_candidates?resources=VCPU:2&limit=10')
    assert len(r.json['allocation_requests']) == 10
    assert len(r.json['provider_summaries']) == 10


def test_traits_api(client):
    assert client.put('/traits/CUSTOM_GOLD').status_code == 201
    assert client.put('/traits/CUSTOM_GOLD').status_code == 204
    assert client.put('/traits/GOLD').status_code == 400
    assert client.get('/traits/CUSTOM_GOLD').status_code == 204
    assert 'CUSTOM_GOLD' in client.get('/traits?name=startswith:CUSTOM_').json['traits']
    assert 'HW_CPU_X86_AVX2' in client.get('/traits').json['traits']
    rp = client.make_rp('cn1')
    client.put(f'/resource_providers/{rp}/traits',
               {'traits': ['CUSTOM_GOLD'], 'resource_provider_generation': 0})
    assert client.get('/traits?associated=true').json['traits'] == ['CUSTOM_GOLD']
    assert client.delete('/traits/CUSTOM_GOLD').status_code == 409
    assert client.delete(f'/resource_providers/{rp}/traits').status_code == 204
    assert client.delete('/traits/CUSTOM_GOLD').status_code == 204
    assert client.get('/traits/CUSTOM_GOLD').status_code == 404
    r = client.put(f'/resource_providers/{rp}/traits',
                   {'traits': ['CUSTOM_NOPE'], 'resource_provider_generation': 2})
    assert r.status_code == 400


def test_resource_classes_api(client):
    names = [c['name'] for c in client.get('/resource_classes').json['resource_classes']]
    assert 'VCPU' in names and 'MEMORY_MB' in names
    assert client.put('/resource_classes/CUSTOM_FPGA').status_code == 201
    assert client.put('/resource_classes/CUSTOM_FPGA').status_code == 204
    assert client.get('/resource_classes/CUSTOM_FPGA').json['name'] == 'CUSTOM_FPGA'
    assert client.post('/resource_classes', {'name': 'CUSTOM_FPGA'}).status_code == 409
    rp = client.make_rp('cn1', inventory={'CUSTOM_FPGA': {'total': 1}})
    assert client.delete('/resource_classes/CUSTOM_FPGA').status_code == 409
    assert client.delete(f'/resource_providers/{rp}/inventories').status_code == 204
    assert client.delete('/resource_classes/CUSTOM_FPGA').status_code == 204
    assert client.delete('/resource_classes/VCPU').status_code == 400
    assert client.get('/resource_classes/CUSTOM_FPGA').status_code == 404


def test_candidates_query_string_by_microversion(client):
    client.make_rp('cn', inventory=COMPUTE_INV)
    for version, query, status in (
            ('1.10', 'resources=VCPU:1&limit=1', 400),      # limit from 1.16
            ('1.16', 'resources=VCPU:1&limit=1', 200),
            ('1.16', 'resources=VCPU:1&limit=x&limit=1', 400),
            ('1.24', 'resources1=VCPU:1', 400),             # groups from 1.25
            ('1.25', 'resources1=VCPU:1', 200),
            ('1.25', 'resources1=VCPU:1&group_policy=all', 400),
            ('1.30', 'resources=VCPU:1&in_tree=' + str(uuid.uuid4()), 400),
            ('1.10', 'required=HW_CPU_X86_AVX2', 400)):   # resources is required
        r = client.get(f'/allocation_candidates?{query}', version=version)
        assert r.status_code == status, (version, query, r.text)
