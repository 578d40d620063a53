"""Concurrent placement writers on MariaDB and PostgreSQL: a success or
placement's 409, never a 500 from a unique constraint."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from minova.db import engines, migration
from minova.placement import wsgi
from tests.unit.placement.conftest import COMPUTE_INV, Client
from tests.unit.placement.test_concurrent_writers import WRITERS, race, statuses

pytestmark = pytest.mark.integration

ADMIN_URLS = {'mysql': 'mysql+pymysql://root@127.0.0.1/',
              'postgresql': 'postgresql+psycopg2://postgres@127.0.0.1/postgres'}


@pytest.fixture(params=sorted(ADMIN_URLS))
def client(request: Any) -> Iterator[Client]:
    name = 'minova_it_race_' + uuid.uuid4().hex[:8]
    admin = sa.create_engine(ADMIN_URLS[request.param], isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        suffix = ' CHARACTER SET utf8mb4' if request.param == 'mysql' else ''
        conn.execute(sa.text(f'CREATE DATABASE {name}{suffix}'))
    url = ADMIN_URLS[request.param].rsplit('/', 1)[0] + '/' + name
    try:
        migration.upgrade('placement_db', url)
        yield Client(wsgi.make_app(url))
    finally:
        engines.dispose_all()
        with admin.connect() as conn:
            force = '' if request.param == 'mysql' else ' WITH (FORCE)'
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name}{force}'))
        admin.dispose()


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
