"""The fuzz test of tests/unit/test_fuzz_api.py on MariaDB and PostgreSQL,
whose columns, unlike SQLite's, refuse what does not fit (lengths, NUL)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from minova.conf import CONF
from minova.db import migration
from minova.placement import policies as placement_policies
from minova.placement import wsgi as placement_wsgi
from tests.integration import scratch_db
from tests.unit import test_fuzz_api as fuzz
from tests.unit.api.conftest import compute_dbs
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
    with compute_dbs(databases('api'), databases('cell1'), databases('cell0'), str(tmp_path),
                     migrate=migration.upgrade) as urls:
        yield urls


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
