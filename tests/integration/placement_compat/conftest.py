"""Fixtures of the compatibility tier: upstream OpenStack Placement and
mini-Nova's placement, each a server process on loopback on its own fresh
MariaDB database (one per test module)."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.integration.placement_compat import upstream


def _mysql(sql: str) -> None:
    subprocess.run(['mysql', '-h127.0.0.1', '-uroot', '-e', sql], check=True)


@pytest.fixture(scope='session')
def mariadb() -> Iterator[list[str]]:
    if shutil.which('mysql') is None:
        pytest.fail('the compatibility tier needs MariaDB (mysql client missing)')
    made: list[str] = []
    yield made
    for name in made:
        _mysql(f'DROP DATABASE IF EXISTS {name}')


def _db(mariadb: list[str], kind: str) -> str:
    name = f'compat_{kind}_{os.getpid()}_{len(mariadb)}'
    _mysql(f'DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4')
    mariadb.append(name)
    return f'mysql+pymysql://root@127.0.0.1/{name}'


@pytest.fixture(scope='module')
def upstream_placement(mariadb: list[str]) -> Iterator[upstream.UpstreamPlacement]:
    server = upstream.UpstreamPlacement(_db(mariadb, 'upstream')).start()
    yield server
    server.stop()


@pytest.fixture(scope='module')
def minova_placement(mariadb: list[str]) -> Iterator[upstream.MinovaPlacement]:
    server = upstream.MinovaPlacement(_db(mariadb, 'minova')).start()
    yield server
    server.stop()
