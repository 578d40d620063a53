"""Console tokens on MariaDB and PostgreSQL: migration 005 applies, a token
is found by its hash until it expires or its server is deleted (issue 20)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from minova.db import console_auth_tokens, engines, migration
from minova.db import instances as inst_db

pytestmark = pytest.mark.integration


def _admin_url(engine: str) -> str:
    return ('mysql+pymysql://root@127.0.0.1/' if engine == 'mysql'
            else 'postgresql+psycopg2://postgres@127.0.0.1/postgres')


@pytest.fixture(params=['mysql', 'postgresql'])
def cell_url(request: Any) -> Iterator[str]:
    name = 'minova_it_cat_' + uuid.uuid4().hex[:8]
    admin = sa.create_engine(_admin_url(request.param), isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        suffix = ' CHARACTER SET utf8mb4' if request.param == 'mysql' else ''
        conn.execute(sa.text(f'CREATE DATABASE {name}{suffix}'))
    url = _admin_url(request.param).rsplit('/', 1)[0] + '/' + name
    try:
        migration.upgrade('main_db', url)
        yield url
    finally:
        engines.dispose_all()
        with admin.connect() as conn:
            force = '' if request.param == 'mysql' else ' WITH (FORCE)'
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name}{force}'))
        admin.dispose()


def test_token_life_cycle(cell_url: str) -> None:
    server = str(uuid.uuid4())
    inst_db.create(cell_url, {'uuid': server, 'display_name': 'vm', 'project_id': 'p',
                              'user_id': 'u', 'vm_state': 'active', 'power_state': 1,
                              'flavor': {}})
    args = (server, 'novnc', '127.0.0.1', 5901, None, 'http://h:6080/vnc_auto.html')
    live = console_auth_tokens.create(cell_url, *args, 600)
    expired = console_auth_tokens.create(cell_url, *args, 0)
    found = console_auth_tokens.validate(cell_url, live)
    assert found is not None and (found['host'], found['port']) == ('127.0.0.1', 5901)
    assert console_auth_tokens.validate(cell_url, expired) is None
    assert len(console_auth_tokens.get_for_instance(cell_url, server)) == 1  # cleaned
    inst_db.destroy(cell_url, server)
    assert console_auth_tokens.validate(cell_url, live) is None
    assert console_auth_tokens.get_for_instance(cell_url, server) == []
