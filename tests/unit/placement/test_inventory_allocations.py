"""Inventories, allocations, usages."""
import uuid

import pytest

from tests.unit.placement.conftest import COMPUTE_INV

C1 = '11111111-1111-4111-8111-111111111111'
C2 = '22222222-2222-4222-8222-222222222222'


def test_inventory_defaults_and_generation_conflict(client):
    rp = client.make_rp('cn1', inventory={'VCPU': {'total': 4}})
    r = client.get(f'/resource_providers/{rp}/inventories')
    assert r.json['resource_provider_generation'] == 1
    assert r.json['inventories']['VCPU'] == {
        'total': 4, 'reserved': 0, 'min_unit': 1, 'max_unit': 2147483647,
        'step_size': 1, 'allocation_ratio': 1.0}
    r = client.put(f'/resource_providers/{rp}/inventories',
                   {'resource_provider_generation': 0,
                    'inventories': {'VCPU': {'total': 8}}})
    assert r.status_code == 409
    assert r.json['errors'][0]['code'] == 'placement.concurrent_update'
    r = client.put(f'/resource_providers/{rp}/inventories/VCPU',
                   {'resource_provider_generation': 1, 'total': 8})
    assert r.status_code == 200
    assert r.json['total'] == 8 and r.json['resource_provider_generation'] == 2
    assert client.get(f'/resource_providers/{rp}/inventories/VCPU').json['total'] == 8
    assert client.get(f'/resource_providers/{rp}/inventories/DISK_GB').status_code == 404


def test_inventory_validation(client):
    rp = client.make_rp('cn1')
    r = client.put(f'/resource_providers/{rp}/inventories',
                   {'resource_provider_generation': 0,
                    'inventories': {'VCPU': {'total': 4, 'reserved': 5}}})
    assert r.status_code == 400
    r = client.put(f'/resource_providers/{rp}/inventories',
                   {'resource_provider_generation': 0,
                    'inventories': {'CUSTOM_NOPE': {'total': 4}}})
    assert r.status_code == 400
    assert 'CUSTOM_NOPE' in r.json['errors'][0]['detail']
    r = client.put(f'/resource_providers/{rp}/inventories',
                   {'resource_provider_generation': 0,
                    'inventories': {'VCPU': {'total': 'x'}}})
    assert r.status_code == 400


def test_inventory_in_use(client):
    rp = client.make_rp('cn1', inventory=COMPUTE_INV)
    assert client.allocate(C1, {rp: {'VCPU': 2, 'DISK_GB': 10}}).status_code == 204
    gen = client.get(f'/resource_providers/{rp}').json['generation']
    r = client.put(f'/resource_providers/{rp}/inventories',
                   {'resource_provider_generation': gen,
                    'inventories': {'MEMORY_MB': COMPUTE_INV['MEMORY_MB']}})
    assert r.status_code == 409
    assert r.json['errors'][0]['code'] == 'placement.inventory.inuse'
    r = client.delete(f'/resource_providers/{rp}/inventories/VCPU')
    assert r.status_code == 409
    # upstream's code here (seen by tests/integration/placement_compat)
    assert r.json['errors'][0]['code'] == 'placement.concurrent_update'
    r = client.delete(f'/resource_providers/{rp}/inventories')
    assert r.status_code == 409
    # unused class can go
    assert client.delete(f'/resource_providers/{rp}/inventories/MEMORY_MB').status_code == 204
    r = client.delete(f'/resource_providers/{rp}')
    assert r.status_code == 409
    assert r.json['errors'][0]['code'] == 'placement.resource_provider.inuse'


def test_allocation_capacity_and_usages(client):
    rp = client.make_rp('cn1', inventory=COMPUTE_INV)   # VCPU capacity 4*2.0 = 8
    assert client.allocate(C1, {rp: {'VCPU': 6, 'MEMORY_MB': 1024}}).status_code == 204
    r = client.allocate(C2, {rp: {'VCPU': 3}})
    assert r.status_code == 409
    assert 'exceed the capacity' in r.json['errors'][0]['detail']
    # memory: (2048 - 512) * 1.0 = 1536; 1024 used
    assert client.allocate(C2, {rp: {'MEMORY_MB': 600}}).status_code == 409
    assert client.allocate(C2, {rp: {'VCPU': 2, 'MEMORY_MB': 512}}).status_code == 204
    r = client.get(f'/resource_providers/{rp}/usages')
    assert r.json['usages'] == {'VCPU': 8, 'MEMORY_MB': 1536, 'DISK_GB': 0}
    r = client.get('/usages?project_id=p1')
    assert r.json['usages'] == {'VCPU': 8, 'MEMORY_MB': 1536}
    assert client.get('/usages?project_id=p1&user_id=nobody').json['usages'] == {}
    assert client.get('/usages').status_code == 400
    r = client.get(f'/resource_providers/{rp}/allocations')
    assert set(r.json['allocations']) == {C1, C2}
    assert r.json['allocations'][C2]['resources'] == {'VCPU': 2, 'MEMORY_MB': 512}
    assert client.delete(f'/allocations/{C1}').status_code == 204
    assert client.delete(f'/allocations/{C1}').status_code == 404
    assert client.delete(f'/allocations/{C2}').status_code == 204
    r = client.get(f'/resource_providers/{rp}/usages')
    assert r.json['usages'] == {'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0}
    assert client.get(f'/allocations/{C1}').json == {'allocations': {}}


def test_allocation_constraints_and_unknown_provider(client):
    rp = client.make_rp('cn1', inventory={'DISK_GB': {'total': 100, 'step_size': 10,
                                                      'max_unit': 50}})
    assert client.allocate(C1, {rp: {'DISK_GB': 15}}).status_code == 409
    assert client.allocate(C1, {rp: {'DISK_GB': 60}}).status_code == 409
    assert client.allocate(C1, {rp: {'VCPU': 1}}).status_code == 409
    assert client.allocate(C1, {str(uuid.uuid4()): {'DISK_GB': 10}}).status_code == 400
    assert client.allocate(C1, {rp: {'DISK_GB': 20}}).status_code == 204


def test_consumer_generation(client):
    rp = client.make_rp('cn1', inventory=COMPUTE_INV)
    assert client.allocate(C1, {rp: {'VCPU': 1}}).status_code == 204
    r = client.get(f'/allocations/{C1}', version='1.28')
    assert r.json['consumer_generation'] == 1
    assert r.json['project_id'] == 'p1'
    assert r.json['allocations'][rp]['resources'] == {'VCPU': 1}
    # a "new consumer" claim on an existing consumer fails
    r = client.allocate(C1, {rp: {'VCPU': 2}}, generation=None)
    assert r.status_code == 409
    assert r.json['errors'][0]['code'] == 'placement.concurrent_update'
    assert client.allocate(C1, {rp: {'VCPU': 2}}, generation=0).status_code == 409
    assert client.allocate(C1, {rp: {'VCPU': 2}}, generation=1).status_code == 204
    r = client.get(f'/allocations/{C1}', version='1.28')
    assert r.json['consumer_generation'] == 2
    assert r.json['allocations'][rp]['resources'] == {'VCPU': 2}
    # empty allocations with the right generation remove them
    assert client.allocate(C1, {}, generation=2).status_code == 204
    assert client.get(f'/resource_providers/{rp}/usages').json['usages']['VCPU'] == 0


def test_allocation_list_format_and_post(client):
    rp = client.make_rp('cn1', inventory=COMPUTE_INV)
    r = client.put(f'/allocations/{C1}', {
        'allocations': [{'resource_provider': {'uuid': rp}, 'resources': {'VCPU': 1}}],
        'project_id': 'p', 'user_id': 'u'}, version='1.8')
    assert r.status_code == 204
    # 1.8 requires project/user
    r = client.put(f'/allocations/{C2}', {
        'allocations': [{'resource_provider': {'uuid': rp}, 'resources': {'VCPU': 1}}]},
        version='1.8')
    assert r.status_code == 400
    r = client.post('/allocations', {
        C1: {'allocations': {}, 'project_id': 'p', 'user_id': 'u', 'consumer_generation': 1},
        C2: {'allocations': {rp: {'resources': {'VCPU': 3}}}, 'project_id': 'p',
             'user_id': 'u', 'consumer_generation': None},
    }, version='1.28')
    assert r.status_code == 204, r.text
    usage = client.get(f'/resource_providers/{rp}/usages').json['usages']
    assert usage['VCPU'] == 3
    # all-or-nothing: one consumer over capacity fails the whole POST
    r = client.post('/allocations', {
        C1: {'allocations': {rp: {'resources': {'VCPU': 1}}}, 'project_id': 'p',
             'user_id': 'u', 'consumer_generation': None},
        C2: {'allocations': {rp: {'resources': {'VCPU': 9}}}, 'project_id': 'p',
             'user_id': 'u', 'consumer_generation': 1},
    }, version='1.28')
    assert r.status_code == 409
    assert client.get(f'/allocations/{C1}').json == {'allocations': {}}


def test_reshaper_moves_inventory_and_allocations(client):
    root = client.make_rp('cn', inventory={'VCPU': {'total': 4}})
    assert client.allocate(C1, {root: {'VCPU': 2}}).status_code == 204
    assert client.put('/resource_classes/CUSTOM_X').status_code == 201
    child = client.make_rp('numa0', parent=root)
    root_gen = client.get(f'/resource_providers/{root}').json['generation']
    body = {
        'inventories': {
            root: {'resource_provider_generation': root_gen, 'inventories': {}},
            child: {'resource_provider_generation': 0,
                    'inventories': {'VCPU': {'total': 4}}}},
        'allocations': {
            C1: {'allocations': {child: {'resources': {'VCPU': 2}}}, 'project_id': 'p1',
                 'user_id': 'u1', 'consumer_generation': 1}},
    }
    # leaving the allocation on the root while removing its inventory is refused
    bad = {**body, 'allocations': {}}
    assert client.post('/reshaper', bad, version='1.30').status_code == 409
    r = client.post('/reshaper', body, version='1.30')
    assert r.status_code == 204, r.text
    assert client.get(f'/resource_providers/{child}/usages').json['usages'] == {'VCPU': 2}
    assert client.get(f'/resource_providers/{root}/usages').json['usages'] == {}
    assert client.post('/reshaper', body, version='1.29').status_code == 404


def test_freeing_allocations_leaves_provider_generations(client):
    """As upstream placement: only taking resources bumps a provider's
    generation, so deletes (and moves away) never conflict with each other."""
    a = client.make_rp('cn1', inventory=COMPUTE_INV)
    b = client.make_rp('cn2', inventory=COMPUTE_INV)
    gen = {rp: client.get(f'/resource_providers/{rp}').json['generation'] for rp in (a, b)}
    assert client.allocate(C1, {a: {'VCPU': 1}}).status_code == 204
    assert client.get(f'/resource_providers/{a}').json['generation'] == gen[a] + 1
    assert client.allocate(C1, {b: {'VCPU': 1}}, generation=1).status_code == 204  # to b
    assert client.get(f'/resource_providers/{a}').json['generation'] == gen[a] + 1
    assert client.get(f'/resource_providers/{b}').json['generation'] == gen[b] + 1
    assert client.delete(f'/allocations/{C1}').status_code == 204
    assert client.get(f'/resource_providers/{b}').json['generation'] == gen[b] + 1
    assert client.get(f'/resource_providers/{b}/usages').json['usages']['VCPU'] == 0


def test_allocation_writes_are_redone_after_a_deadlock(db_url):
    import pymysql
    import sqlalchemy as sa

    from minova.placement.handlers.allocation import write_with_retry

    calls = []

    def write(conn):
        calls.append(1)
        if len(calls) < 3:
            raise sa.exc.OperationalError(
                'UPDATE resource_providers ...', {},
                pymysql.err.OperationalError(1213, 'Deadlock found when trying to get lock'))

    write_with_retry(db_url, write)
    assert len(calls) == 3

    def broken(conn):
        raise sa.exc.OperationalError('SELECT 1', {},
                                      pymysql.err.OperationalError(1054, 'Unknown column'))

    with pytest.raises(sa.exc.OperationalError):
        write_with_retry(db_url, broken)
