"""One two-cell deployment per module and database engine, made by minova-deploy."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.devstack.harness import Deployment, running

ENGINES = os.environ.get('MINOVA_DEVSTACK_DBS', 'mysql,postgresql').split(',')


@pytest.fixture(scope='module', params=ENGINES)
def cloud(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from running(tmp_path_factory.mktemp(f'devstack-{request.param}'),
                       db=request.param, computes_per_cell=1, api_workers=2,
                       report_interval=1, service_down_time=4, build_timeout=60,
                       spawn_delay=0.1)
