"""Concurrent placement writers on MariaDB and PostgreSQL: a success or
placement's 409, never a 500 from a unique constraint."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from minova.placement import wsgi
from tests.integration import scratch_db
from tests.unit.placement.conftest import COMPUTE_INV, Client
from tests.unit.placement.test_concurrent_writers import WRITERS, race, statuses

pytestmark = pytest.mark.integration

@pytest.fixture(params=scratch_db.ENGINES)
def client(request: Any) -> Iterator[Client]:
    with scratch_db.database(request.param, 'minova_it_race_', 'placement_db') as url:
        yield Client(wsgi.make_app(url))


def test_concurrent_writers(client: Client) -> None:
    rp = client.make_rp('cn1')
    assert statuses(race(lambda i: client.put(
        f'/resource_providers/{rp}/inventories',
        {'resource_provider_generation': 0, 'inventories': COMPUTE_INV}))) == {
        200: 1, 409: WRITERS - 1}
    for path in ('/traits/CUSTOM_X', '/resource_classes/CUSTOM_X'):
        assert statuses(race(lambda i, p=path: client.put(p))) == {201: 1, 204: WRITERS - 1}
    assert statuses(race(lambda i: client.post(
        '/resource_classes', {'name': f'CUSTOM_C{i}'}))) == {201: WRITERS}
    assert statuses(race(lambda i: client.post(
        '/resource_providers', {'name': 'same', 'uuid': str(uuid.uuid4())}))) == {
        200: 1, 409: WRITERS - 1}
