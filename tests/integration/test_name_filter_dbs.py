"""The server name filter on MariaDB and PostgreSQL: the database matches the
regular expression in bounded time, and a pattern it refuses (RE2 took it)
matches the name literally instead of failing the listing."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from minova.db import engines, regexp
from minova.db import instances as inst_db
from tests.integration import scratch_db

pytestmark = pytest.mark.integration

SERVERS = ['a' * 28 + '!', 'vm', '(?P<n>vm)', 'a{0,1000}', '(ab']


@pytest.fixture(params=scratch_db.ENGINES)
def cell_url(request: Any) -> Iterator[str]:
    with scratch_db.database(request.param, 'minova_it_rx_', 'main_db') as url:
        for display_name in SERVERS:
            inst_db.create(url, {'uuid': str(uuid.uuid4()), 'display_name': display_name,
                                 'project_id': 'p', 'user_id': 'u', 'vm_state': 'active',
                                 'power_state': 1, 'flavor': {}})
        yield url


def _names(url: str, pattern: str) -> list[str]:
    return sorted(i['display_name'] for i in inst_db.get_all(url, {'name': pattern}))


def test_name_filter_on_real_databases(cell_url: str) -> None:
    start = time.monotonic()
    assert _names(cell_url, '^(a+)+$') == []
    assert time.monotonic() - start < 5
    assert _names(cell_url, '^v') == ['vm']
    # Not a pattern RE2 takes: the literal name.
    assert _names(cell_url, '(ab') == ['(ab']
    # RE2 takes these; PostgreSQL refuses both: its listing matches the literal name.
    named = _names(cell_url, '(?P<n>vm)')
    counted = _names(cell_url, 'a{0,1000}')
    if cell_url.startswith('postgresql'):
        assert named == ['(?P<n>vm)'] and counted == ['a{0,1000}']
    else:
        assert named == ['(?P<n>vm)', 'vm'] and len(counted) == len(SERVERS)


def test_database_regexp_errors_are_recognised(cell_url: str) -> None:
    with engines.reader(cell_url) as conn, pytest.raises(sa.exc.DBAPIError) as info:
        conn.execute(sa.select(sa.literal('x').regexp_match('(ab')))
    assert regexp.is_regexp_error(info.value)
