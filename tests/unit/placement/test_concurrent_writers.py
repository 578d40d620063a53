"""Concurrent writers on a real SQLite file: every answer is a success or
placement's 409, never a 500 from a unique constraint (upstream's answers)."""
from __future__ import annotations

import collections
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.placement.conftest import COMPUTE_INV, Client

WRITERS = 10


def race(fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..WRITERS-1) in threads released together; their results."""
    barrier = threading.Barrier(WRITERS)
    results: list[Any] = [None] * WRITERS

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def statuses(results: list[Any]) -> collections.Counter:
    for r in results:
        assert r.status_code < 500, r.text
        if r.status_code == 409:
            assert r.json['errors'][0]['code'].startswith('placement.'), r.text
    return collections.Counter(r.status_code for r in results)


def test_inventories_with_one_generation(client: Client) -> None:
    rp = client.make_rp('cn1')
    got = statuses(race(lambda i: client.put(
        f'/resource_providers/{rp}/inventories',
        {'resource_provider_generation': 0, 'inventories': COMPUTE_INV})))
    assert got == {200: 1, 409: WRITERS - 1}
    conflict = [r for r in race(lambda i: client.put(
        f'/resource_providers/{rp}/inventories/VCPU',
        {'resource_provider_generation': 1, 'total': 8 + i}))]
    assert statuses(conflict) == {200: 1, 409: WRITERS - 1}
    assert client.get(f'/resource_providers/{rp}').json['generation'] == 2


@pytest.mark.parametrize('path', ['/traits/CUSTOM_X', '/resource_classes/CUSTOM_X'])
def test_idempotent_puts(client: Client, path: str) -> None:
    got = statuses(race(lambda i: client.put(path)))
    assert got == {201: 1, 204: WRITERS - 1}
    assert client.get(path).status_code in (200, 204)


def test_resource_classes_created_together_get_their_own_ids(client: Client) -> None:
    got = statuses(race(lambda i: client.post('/resource_classes',
                                              {'name': f'CUSTOM_C{i}'})))
    assert got == {201: WRITERS}
    got = statuses(race(lambda i: client.post('/resource_classes', {'name': 'CUSTOM_SAME'})))
    assert got == {201: 1, 409: WRITERS - 1}


def test_providers_with_one_name(client: Client) -> None:
    got = statuses(race(lambda i: client.post('/resource_providers',
                                              {'name': 'same', 'uuid': str(uuid.uuid4())})))
    assert got == {200 if client.version >= '1.20' else 201: 1, 409: WRITERS - 1}
    rps = [client.make_rp(f'rp{i}') for i in range(WRITERS)]
    got = statuses(race(lambda i: client.put(f'/resource_providers/{rps[i]}',
                                             {'name': 'renamed'})))
    assert got == {200: 1, 409: WRITERS - 1}


def test_provider_traits_and_aggregates_with_one_generation(client: Client) -> None:
    rp = client.make_rp('cn1')
    client.put('/traits/CUSTOM_T')
    got = statuses(race(lambda i: client.put(f'/resource_providers/{rp}/traits', {
        'resource_provider_generation': 0, 'traits': ['CUSTOM_T']})))
    assert got == {200: 1, 409: WRITERS - 1}
    got = statuses(race(lambda i: client.put(f'/resource_providers/{rp}/aggregates', {
        'resource_provider_generation': 1, 'aggregates': [str(uuid.uuid4())]})))
    assert got == {200: 1, 409: WRITERS - 1}


def test_allocations_for_one_new_consumer(client: Client) -> None:
    rp = client.make_rp('cn1', inventory=COMPUTE_INV)
    consumer = str(uuid.uuid4())
    got = statuses(race(lambda i: client.allocate(consumer, {rp: {'VCPU': 1}})))
    assert got == {204: 1, 409: WRITERS - 1}
    got = statuses(race(lambda i: client.allocate(str(uuid.uuid4()), {rp: {'MEMORY_MB': 64}})))
    assert got == {204: WRITERS}


# The same races made deterministic: the check saw nothing, the insert collides.

def _stale_once(monkeypatch: pytest.MonkeyPatch, name: str, stale: Any) -> None:
    from minova.placement.db import names
    real = getattr(names, name)
    calls: list[int] = []

    def once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return stale if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(names, name, once)


def test_trait_created_between_check_and_insert(client: Client,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.put('/traits/CUSTOM_LATE').status_code == 201
    _stale_once(monkeypatch, 'ids_for', {})
    assert client.put('/traits/CUSTOM_LATE').status_code == 204


@pytest.mark.parametrize(('method', 'expected'), [('PUT', 204), ('POST', 409)])
def test_class_created_between_check_and_insert(client: Client,
                                                monkeypatch: pytest.MonkeyPatch,
                                                method: str, expected: int) -> None:
    assert client.put('/resource_classes/CUSTOM_LATE').status_code == 201
    _stale_once(monkeypatch, 'rc_id', None)
    if method == 'PUT':
        r = client.put('/resource_classes/CUSTOM_LATE')
    else:
        r = client.post('/resource_classes', {'name': 'CUSTOM_LATE'})
    assert r.status_code == expected, r.text
