"""The fuzz test of tests/unit/test_fuzz_api.py on MariaDB and PostgreSQL,
whose columns, unlike SQLite's, refuse what does not fit (lengths, NUL)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from minova.api import policy, util
from minova.cells import lookup, mappings
from minova.conf import CONF
from minova.db import engines, migration
from minova.placement import policies as placement_policies
from minova.placement import wsgi as placement_wsgi
from tests.integration import scratch_db
from tests.unit import test_fuzz_api as fuzz
from tests.unit.test_fuzz_api import compute_world  # noqa: F401 - uses dbs below

pytestmark = pytest.mark.integration

@pytest.fixture(params=scratch_db.ENGINES)
def engine(request: Any) -> str:
    return request.param


@pytest.fixture
def databases(engine: str) -> Iterator[Any]:
    """make(kind) -> URL of a new database on `engine`, dropped afterwards."""
    with scratch_db.databases(engine, 'minova_it_fz_') as supply:
        yield lambda kind: next(supply)


@pytest.fixture
def dbs(databases: Any, tmp_path: Any) -> Iterator[dict[str, str]]:
    api_url, cell_url, cell0_url = databases('api'), databases('cell1'), databases('cell0')
    CONF.set_override('connection', api_url, group='api_database')
    CONF.set_override('connection', cell_url, group='database')
    CONF.set_override('state_path', str(tmp_path))
    migration.upgrade('api_db', api_url)
    migration.upgrade('main_db', cell_url)
    migration.upgrade('main_db', cell0_url)
    cell0 = mappings.cell_create('cell0', 'none:///', cell0_url, uuid=mappings.CELL0_UUID)
    cell1 = mappings.cell_create('cell1', 'fake:/', cell_url)
    lookup.all_cells(refresh=True)
    policy.reset()
    yield {'api': api_url, 'cell': cell_url, 'cell0': cell0_url,
           'cell1_uuid': cell1['uuid'], 'cell0_uuid': cell0['uuid']}
    util.set_compute_api(None)
    policy.reset()
    engines.dispose_all()
    for group in ('api_database', 'database'):
        CONF.clear_override('connection', group=group)
    CONF.clear_override('state_path')
    lookup.reset()


@pytest.fixture
def placement_world(databases: Any) -> Iterator[dict[str, Any]]:
    url = databases('placement')
    CONF.set_override('connection', url, group='placement_database')
    migration.upgrade('placement_db', url)
    world = {'client': falcon.testing.TestClient(placement_wsgi.make_app()),
             'rp': str(uuid.uuid4()), 'child': str(uuid.uuid4()),
             'consumers': [str(uuid.uuid4()) for _ in range(3)]}
    fuzz.replenish_placement(world)
    yield world
    placement_policies.reset()
    CONF.clear_override('connection', group='placement_database')


@pytest.fixture(autouse=True)
def fewer_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fuzz, 'EXAMPLES', 100)  # 2,000 requests per API and engine


def test_compute_api_fuzz(compute_world: dict[str, Any],  # noqa: F811
                          caplog: pytest.LogCaptureFixture) -> None:
    fuzz.test_compute_api_fuzz(compute_world, caplog)


def test_placement_fuzz(placement_world: dict[str, Any]) -> None:
    fuzz.test_placement_fuzz(placement_world)
