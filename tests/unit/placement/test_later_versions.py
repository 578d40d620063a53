"""Microversions 1.32 to 1.39 (the same requests are replayed against upstream
Placement by tests/integration/placement_compat)."""
import uuid

import pytest

AGG1 = '11111111-1111-4111-8111-111111111111'
AGG2 = '22222222-2222-4222-8222-222222222222'
AC = '/allocation_candidates?'


@pytest.fixture
def tree(client):
    """Compute nodes cn1 (with PFs pf1, pf2) and cn2, as the uuids by name."""
    assert client.put('/resource_classes/CUSTOM_VF').status_code == 201
    for trait in ('CUSTOM_PHYS1', 'CUSTOM_PHYS2'):
        assert client.put(f'/traits/{trait}').status_code == 201
    cn1 = client.make_rp('cn1', inventory={'VCPU': {'total': 8}, 'MEMORY_MB': {'total': 4096}})
    cn2 = client.make_rp('cn2', inventory={'VCPU': {'total': 4}, 'MEMORY_MB': {'total': 1024}})
    pf1 = client.make_rp('pf1', parent=cn1, inventory={'CUSTOM_VF': {'total': 4}})
    pf2 = client.make_rp('pf2', parent=cn1, inventory={'CUSTOM_VF': {'total': 4}})
    ids = {'cn1': cn1, 'cn2': cn2, 'pf1': pf1, 'pf2': pf2}
    for name, traits in (('pf1', ['CUSTOM_PHYS1']), ('pf2', ['CUSTOM_PHYS2']),
                         ('cn1', ['HW_CPU_X86_AVX2']), ('cn2', ['COMPUTE_STATUS_DISABLED'])):
        rp = ids[name]
        gen = client.get(f'/resource_providers/{rp}').json['generation']
        assert client.put(f'/resource_providers/{rp}/traits', {
            'traits': traits, 'resource_provider_generation': gen}).status_code == 200
    for name, aggs in (('cn1', [AGG1]), ('cn2', [AGG1, AGG2])):
        rp = ids[name]
        gen = client.get(f'/resource_providers/{rp}').json['generation']
        assert client.put(f'/resource_providers/{rp}/aggregates', {
            'aggregates': aggs, 'resource_provider_generation': gen}).status_code == 200
    return ids


def _name(tree, uuid_):
    return next(n for n, u in tree.items() if u == uuid_)


def _cands(client, tree, query, version):
    """[(allocations by provider name, mappings by provider name)]."""
    r = client.get(AC + query, version=version)
    assert r.status_code == 200, r.text
    return sorted(
        (sorted((_name(tree, u), sorted(a['resources'].items()))
                for u, a in req['allocations'].items()),
         sorted((s, [_name(tree, u) for u in us]) for s, us in req.get('mappings', {}).items()))
        for req in r.json['allocation_requests'])


def _hosts(client, tree, query, version):
    return sorted({_name(tree, u) for req in client.get(AC + query, version=version)
                   .json['allocation_requests'] for u in req['allocations']})


def _code(r):
    return r.status_code, r.json['errors'][0]['code']


def test_forbidden_aggregates_1_32(client, tree):
    assert _hosts(client, tree, f'resources=VCPU:1&member_of=!{AGG2}', '1.32') == ['cn1']
    assert _hosts(client, tree, f'resources=VCPU:1&member_of=!in:{AGG2},{uuid.uuid4()}',
                  '1.32') == ['cn1']
    assert _hosts(client, tree, f'resources=VCPU:1&member_of={AGG1}&member_of=!{AGG1}',
                  '1.32') == []
    assert client.get(AC + f'resources=VCPU:1&member_of=!{AGG2}',
                      version='1.31').status_code == 400
    assert client.get(AC + f'resources=VCPU:1&member_of=in:{AGG1},!{AGG2}',
                      version='1.32').status_code == 400
    names = [p['name'] for p in client.get(f'/resource_providers?member_of=!{AGG2}',
                                           version='1.32').json['resource_providers']]
    assert sorted(names) == ['cn1', 'pf1', 'pf2']


def test_string_suffixes_and_mappings_1_33_1_34(client, tree):
    q = 'resources_CPU=VCPU:1&resources_NET=CUSTOM_VF:1&group_policy=isolate'
    assert client.get(AC + q, version='1.32').status_code == 400
    assert _cands(client, tree, q, '1.34') == [
        ([('cn1', [('VCPU', 1)]), ('pf1', [('CUSTOM_VF', 1)])],
         [('_CPU', ['cn1']), ('_NET', ['pf1'])]),
        ([('cn1', [('VCPU', 1)]), ('pf2', [('CUSTOM_VF', 1)])],
         [('_CPU', ['cn1']), ('_NET', ['pf2'])])]
    # before 1.34 the same candidates, without mappings
    r = client.get(AC + q, version='1.33')
    assert len(r.json['allocation_requests']) == 2
    assert 'mappings' not in r.json['allocation_requests'][0]
    assert client.get(AC + 'resources_' + 'X' * 65 + '=VCPU:1',
                      version='1.33').status_code == 400
    # mappings may be sent back with the allocations from 1.34 (and are not kept)
    consumer = str(uuid.uuid4())
    body = {'allocations': {tree['cn1']: {'resources': {'VCPU': 1}}},
            'mappings': {'': [tree['cn1']]}, 'project_id': 'p', 'user_id': 'u',
            'consumer_generation': None}
    assert client.put(f'/allocations/{consumer}', body, version='1.33').status_code == 400
    assert client.put(f'/allocations/{consumer}', body, version='1.34').status_code == 204
    assert 'mappings' not in client.get(f'/allocations/{consumer}', version='1.34').json


def test_root_required_1_35(client, tree):
    q = 'resources=VCPU:1&root_required=!COMPUTE_STATUS_DISABLED'
    assert _hosts(client, tree, q, '1.35') == ['cn1']
    assert client.get(AC + q, version='1.34').status_code == 400
    # the root's traits count, whichever provider of the tree has the resources
    assert _hosts(client, tree, 'resources=CUSTOM_VF:1&root_required=HW_CPU_X86_AVX2',
                  '1.35') == ['pf1', 'pf2']
    assert _hosts(client, tree, 'resources=CUSTOM_VF:1&root_required=CUSTOM_PHYS1',
                  '1.35') == []
    assert _code(client.get(AC + q + '&root_required=HW_CPU_X86_AVX2', version='1.35')) == \
        (400, 'placement.query.duplicate_key')
    assert _code(client.get(AC + 'resources=VCPU:1&root_required=CUSTOM_PHYS1,!CUSTOM_PHYS1',
                            version='1.35')) == (400, 'placement.query.bad_value')
    assert client.get(AC + 'resources=VCPU:1&root_required=CUSTOM_NOPE',
                      version='1.35').status_code == 400


def test_same_subtree_and_resourceless_groups_1_36(client, tree):
    q = ('resources_CPU=VCPU:1&resources_NET=CUSTOM_VF:1&required_NIC=CUSTOM_PHYS1'
         '&same_subtree=_NET,_NIC&group_policy=none')
    assert _cands(client, tree, q, '1.36') == [
        ([('cn1', [('VCPU', 1)]), ('pf1', [('CUSTOM_VF', 1)])],
         [('_CPU', ['cn1']), ('_NET', ['pf1']), ('_NIC', ['pf1'])])]
    assert client.get(AC + q, version='1.35').status_code == 400
    # one provider of the set is an ancestor of the others: cn1 of pf1 or pf2
    q = ('resources_NET=CUSTOM_VF:1&required_ROOT=HW_CPU_X86_AVX2'
         '&same_subtree=_NET,_ROOT&group_policy=isolate')
    assert [m for _, m in _cands(client, tree, q, '1.36')] == [
        [('_NET', ['pf1']), ('_ROOT', ['cn1'])], [('_NET', ['pf2']), ('_ROOT', ['cn1'])]]
    # siblings are not in one subtree
    assert _cands(client, tree, 'resources_A=CUSTOM_VF:1&required_A=CUSTOM_PHYS1'
                  '&resources_B=CUSTOM_VF:1&required_B=CUSTOM_PHYS2'
                  '&same_subtree=_A,_B&group_policy=none', '1.36') == []
    bad = {'resources_NET=CUSTOM_VF:1&required_NIC=CUSTOM_PHYS1&group_policy=none':
           'placement.query.bad_value',
           'resources_NET=CUSTOM_VF:1&same_subtree=_NET,_NOPE': 'placement.query.bad_value',
           'resources_NET=CUSTOM_VF:1&same_subtree=,_NET': 'placement.query.bad_value',
           'resources1=VCPU:1&required=CUSTOM_PHYS1': 'placement.query.bad_value',
           'required_NIC=CUSTOM_PHYS1&same_subtree=_NIC': 'placement.query.missing_value'}
    for query, code in bad.items():
        assert _code(client.get(AC + query, version='1.36')) == (400, code), query


def test_reparenting_1_37(client, tree):
    pf2, cn2 = tree['pf2'], tree['cn2']
    move = {'name': 'pf2', 'parent_provider_uuid': cn2}
    assert client.put(f'/resource_providers/{pf2}', move, version='1.36').status_code == 400
    r = client.put(f'/resource_providers/{pf2}', move, version='1.37')
    assert r.status_code == 200, r.text
    assert (r.json['parent_provider_uuid'], r.json['root_provider_uuid']) == (cn2, cn2)
    loop = {'name': 'cn2', 'parent_provider_uuid': pf2}
    assert client.put(f'/resource_providers/{cn2}', loop, version='1.37').status_code == 400
    # a subtree moves with its root: pf1 under pf2, then pf2 un-parented
    r = client.put(f'/resource_providers/{tree["pf1"]}',
                   {'name': 'pf1', 'parent_provider_uuid': pf2}, version='1.37')
    assert r.json['root_provider_uuid'] == cn2
    unparent = {'name': 'pf2', 'parent_provider_uuid': None}
    assert client.put(f'/resource_providers/{pf2}', unparent,
                      version='1.36').status_code == 400
    r = client.put(f'/resource_providers/{pf2}', unparent, version='1.37')
    assert (r.json['parent_provider_uuid'], r.json['root_provider_uuid']) == (None, pf2)
    pf1 = client.get(f'/resource_providers/{tree["pf1"]}', version='1.37').json
    assert (pf1['parent_provider_uuid'], pf1['root_provider_uuid']) == (pf2, pf2)


def test_consumer_types_1_38(client, tree):
    cn1 = tree['cn1']
    c1, c2, old = (str(uuid.uuid4()) for _ in range(3))

    def put(consumer, version, gen=None, **extra):
        return client.put(f'/allocations/{consumer}', {
            'allocations': {cn1: {'resources': {'VCPU': 1, 'MEMORY_MB': 64}}},
            'project_id': 'p', 'user_id': 'u', 'consumer_generation': gen, **extra},
            version=version)

    assert put(c1, '1.38').status_code == 400       # consumer_type is required
    assert put(c1, '1.38', consumer_type='instance').status_code == 400
    assert put(c1, '1.38', consumer_type='INSTANCE').status_code == 204
    assert put(c2, '1.38', consumer_type='MIGRATION').status_code == 204
    assert put(old, '1.37').status_code == 204
    assert client.get(f'/allocations/{c1}', version='1.38').json['consumer_type'] == 'INSTANCE'
    assert client.get(f'/allocations/{old}', version='1.38').json['consumer_type'] == 'unknown'
    assert 'consumer_type' not in client.get(f'/allocations/{c1}', version='1.37').json

    def usages(query, version='1.38'):
        r = client.get(f'/usages?project_id=p{query}', version=version)
        assert r.status_code == 200, r.text
        return r.json['usages']

    one = {'VCPU': 1, 'MEMORY_MB': 64, 'consumer_count': 1}
    assert usages('') == {'INSTANCE': one, 'MIGRATION': one, 'unknown': one}
    assert usages('&consumer_type=all') == {
        'all': {'VCPU': 3, 'MEMORY_MB': 192, 'consumer_count': 3}}
    assert usages('&consumer_type=unknown') == {'unknown': one}
    assert usages('&consumer_type=MIGRATION&user_id=u') == {'MIGRATION': one}
    assert usages('&consumer_type=NOPE') == {}
    assert usages('', '1.37') == {'VCPU': 3, 'MEMORY_MB': 192}
    assert client.get('/usages?project_id=p&consumer_type=X',
                      version='1.37').status_code == 400
    # a write may change the type
    assert put(c2, '1.38', gen=1, consumer_type='INSTANCE').status_code == 204
    assert usages('&consumer_type=INSTANCE')['INSTANCE']['consumer_count'] == 2
    r = client.get(f'/resource_providers/{cn1}/allocations', version='1.38')
    assert r.json['allocations'][c2] == {'resources': {'VCPU': 1, 'MEMORY_MB': 64},
                                         'consumer_generation': 2}


def test_any_of_traits_1_39(client, tree):
    q = 'resources=CUSTOM_VF:1&required=in:CUSTOM_PHYS1,CUSTOM_PHYS2'
    assert _hosts(client, tree, q, '1.39') == ['pf1', 'pf2']
    assert _hosts(client, tree, q + '&required=!CUSTOM_PHYS2', '1.39') == ['pf1']
    assert client.get(AC + q, version='1.38').status_code == 400
    # before 1.39 only the last `required` counts
    assert _hosts(client, tree, 'resources=CUSTOM_VF:1&required=CUSTOM_PHYS1'
                  '&required=CUSTOM_PHYS2', '1.38') == ['pf2']
    assert client.get(AC + 'resources=CUSTOM_VF:1&required=in:CUSTOM_PHYS1,!CUSTOM_PHYS2',
                      version='1.39').status_code == 400
    assert client.get(AC + 'resources=CUSTOM_VF:1&required=in:CUSTOM_PHYS1'
                      '&required=!CUSTOM_PHYS1', version='1.39').status_code == 400
    names = [p['name'] for p in client.get(
        '/resource_providers?required=in:CUSTOM_PHYS1,HW_CPU_X86_AVX2&required=!CUSTOM_PHYS1',
        version='1.39').json['resource_providers']]
    assert names == ['cn1']
