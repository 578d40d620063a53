"""Console tokens on MariaDB and PostgreSQL: migration 005 applies, a token
is found by its hash until it expires or its server is deleted (issue 20)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from minova.db import console_auth_tokens
from minova.db import instances as inst_db
from tests.integration import scratch_db

pytestmark = pytest.mark.integration


@pytest.fixture(params=scratch_db.ENGINES)
def cell_url(request: Any) -> Iterator[str]:
    with scratch_db.database(request.param, 'minova_it_cat_', 'main_db') as url:
        yield url


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
