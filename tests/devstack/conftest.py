"""One two-cell deployment per database engine, made by minova-deploy and
shared by the modules that take `cloud`."""
from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from tests.devstack.harness import Deployment, free_port, running

ENGINES = os.environ.get('MINOVA_DEVSTACK_DBS', 'mysql,postgresql').split(',')


@pytest.fixture(scope='package', params=ENGINES)
def cloud(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from running(tmp_path_factory.mktemp(f'devstack-{request.param}'),
                       db=request.param, computes_per_cell=1, api_workers=2,
                       report_interval=1, service_down_time=4, build_timeout=60,
                       spawn_delay=0.1, serial_port=_two_free_ports())


def _two_free_ports() -> int:
    """A port whose next one is free too (one serial proxy per cell)."""
    for _ in range(20):
        port = free_port()
        try:
            with socket.socket() as s:
                s.bind(('127.0.0.1', port + 1))
            return port
        except OSError:
            continue
    raise AssertionError('no two consecutive free ports')
