"""Reads on MariaDB: one round trip per SELECT, no ROLLBACK after it
(minova/db/engines.py's read engine, minova/db/mysql.py's rollback), and
still what a reader and a writer must see and do."""
from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from minova.db import engines, mysql
from tests.integration import scratch_db

pymysql_connections = pytest.importorskip('pymysql.connections')

_meta = sa.MetaData()
_rows = sa.Table('rows', _meta, sa.Column('id', sa.Integer, primary_key=True),
                 sa.Column('name', sa.String(36)))


@pytest.fixture
def url() -> Iterator[str]:
    with scratch_db.database('mysql', 'minova_it_reads_') as url:
        _meta.create_all(engines.get_engine(url))
        yield url


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """The first word of every command sent to the server."""
    counter: collections.Counter[str] = collections.Counter()
    real = pymysql_connections.Connection._execute_command

    def execute(self: Any, command: int, sql: Any) -> Any:
        text = sql.decode(errors='replace') if isinstance(sql, bytes) else str(sql)
        counter[text.split(' ', 1)[0].upper()] += 1
        return real(self, command, sql)
    monkeypatch.setattr(pymysql_connections.Connection, '_execute_command', execute)
    return counter


def _read(url: str) -> list[str]:
    with engines.reader(url) as conn:
        return [r[0] for r in conn.execute(sa.select(_rows.c.name).order_by(_rows.c.id))]


def test_a_read_is_its_select_alone(url: str, sent: collections.Counter[str]) -> None:
    _read(url)                   # the pool's first connection: its setup
    sent.clear()
    for _ in range(3):
        assert _read(url) == []
    assert sent == {'SELECT': 3}


def test_a_write_is_its_statements_and_commit(url: str,
                                              sent: collections.Counter[str]) -> None:
    with engines.writer(url) as conn:    # the pool's first connection: its setup
        conn.execute(_rows.insert().values(name='a'))
    sent.clear()
    with engines.writer(url) as conn:
        conn.execute(_rows.insert().values(name='b'))
    assert sent == {'INSERT': 1, 'COMMIT': 1}


def test_reads_see_each_write_once_committed(url: str) -> None:
    assert _read(url) == []
    with engines.writer(url) as conn:
        conn.execute(_rows.insert().values(name='a'))
        assert _read(url) == []  # not committed yet: another connection does not see it
    assert _read(url) == ['a']   # the pooled read connection sees it at once
    with engines.writer(url) as conn:
        conn.execute(_rows.update().values(name='b'))
    assert _read(url) == ['b']


def test_a_failed_write_still_leaves_nothing(url: str, sent: collections.Counter[str]) -> None:
    with pytest.raises(RuntimeError), engines.writer(url) as conn:
        conn.execute(_rows.insert().values(name='gone'))
        raise RuntimeError('after the insert')
    assert sent['ROLLBACK'] >= 1
    assert _read(url) == []


def test_idle_read_connections_hold_no_table(url: str) -> None:
    # A transaction left open by a read would hold the table's metadata lock
    # and stall a migration's ALTER TABLE behind the pool's idle connection.
    _read(url)
    done = threading.Event()

    def alter() -> None:
        with engines.get_engine(url).begin() as conn:
            conn.execute(sa.text('SET SESSION lock_wait_timeout = 5'))
            conn.execute(sa.text('ALTER TABLE `rows` ADD COLUMN extra INT'))
        done.set()
    t = threading.Thread(target=alter)
    t.start()
    t.join(10)
    assert done.is_set()


def test_a_transaction_opened_in_autocommit_is_rolled_back(url: str) -> None:
    # The shortcut skips a ROLLBACK only when the server says no transaction
    # is open: an explicit BEGIN on an autocommit connection still ends in one.
    conn = mysql.connect(**engines.get_engine(url).url.translate_connect_args(
        username='user'))
    try:
        conn.autocommit(True)
        conn.begin()
        with conn.cursor() as cur:
            cur.execute("INSERT INTO `rows` (name) VALUES ('x')")
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute('SELECT COUNT(*) FROM `rows`')
            assert cur.fetchone() == (0,)
    finally:
        conn.close()
