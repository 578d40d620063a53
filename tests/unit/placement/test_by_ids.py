"""Reads by provider id answer the same whether the ids are bound (a few)
or written into the SQL (many), and inventories and usages follow claims."""
from __future__ import annotations

import uuid

from minova.db import engines
from minova.placement.db import inventories, providers
from tests.unit.placement.conftest import COMPUTE_INV


def test_few_and_many_ids_read_the_same(client, db_url):
    rps = [client.make_rp(inventory=COMPUTE_INV) for _ in range(providers.BOUND_IDS + 4)]
    for rp in rps[:3]:
        r = client.allocate(str(uuid.uuid4()), {rp: {'VCPU': 1, 'MEMORY_MB': 64}})
        assert r.status_code == 204, r.text
    with engines.reader(db_url) as conn:
        ids = [providers.get(conn, rp)['id'] for rp in rps]
        many_inv, many_used = inventories.get_all(conn, ids), inventories.usages(conn, ids)
        many_traits = providers.get_traits(conn, ids)
        assert len(ids) > providers.BOUND_IDS
        for start in range(0, len(ids), 3):
            few = ids[start:start + 3]
            assert inventories.get_all(conn, few) == {i: many_inv[i] for i in few}
            assert inventories.usages(conn, few) == {i: many_used[i] for i in few}
            assert providers.get_traits(conn, few) == {i: many_traits[i] for i in few}
    assert [many_used[i] for i in ids[:3]] == [{'VCPU': 1, 'MEMORY_MB': 64}] * 3
    assert all(many_used[i] == {} for i in ids[3:])
    assert many_inv[ids[0]]['VCPU']['total'] == 4


def test_claims_past_capacity_and_stale_consumers_still_409(client):
    rp = client.make_rp(inventory=COMPUTE_INV)
    first = str(uuid.uuid4())
    assert client.allocate(first, {rp: {'VCPU': 8}}).status_code == 204
    r = client.allocate(str(uuid.uuid4()), {rp: {'VCPU': 1}})
    assert r.status_code == 409 and 'capacity' in r.text
    r = client.allocate(first, {rp: {'VCPU': 1}})   # exists: generation None is stale
    assert r.status_code == 409
    assert r.json['errors'][0]['code'] == 'placement.concurrent_update'
    assert client.allocate(first, {rp: {'VCPU': 1}}, generation=1).status_code == 204
    assert client.delete(f'/allocations/{first}').status_code == 204
    assert client.delete(f'/allocations/{first}').status_code == 404
