"""One SQLAlchemy engine per database URL, and reader/writer transactions.

Each service talks to several databases (the API DB, one DB per cell, the
placement DB) by URL, so engines are cached by URL rather than tied to a
single global. SQLite gets WAL and a busy timeout so that the threads of the
all-in-one can share a file.

On MySQL/MariaDB (PyMySQL), reads have an engine of their own whose
connections are in autocommit: a read is its SELECTs and nothing more. On
the writers' connections (autocommit off, as transactions need) a SELECT
opens a transaction that closing the connection must roll back, a second
round trip per read: half of a GET /servers/{id}'s time waiting on the DB.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

from minova.conf import CONF

LOG = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
# URL -> the engine of reader(): the writers' one, or on PyMySQL one whose
# connections are in autocommit (see the module's docstring).
_read_engines: dict[str, Engine] = {}
_lock = threading.Lock()

F = TypeVar('F', bound=Callable[..., Any])


def default_sqlite_url(name: str) -> str:
    """URL of a SQLite file under state_path (the embedded default)."""
    return 'sqlite:///' + os.path.join(CONF.state_path, f'{name}.sqlite')


def api_url() -> str:
    return CONF.api_database.connection or default_sqlite_url('nova_api')


def cell_url() -> str:
    """The cell DB of this service ([database] connection)."""
    return CONF.database.connection or default_sqlite_url('nova')


def placement_url() -> str:
    return CONF.placement_database.connection or default_sqlite_url('placement')


def _group_for(url: str) -> Any:
    for group in ('api_database', 'placement_database', 'database'):
        if getattr(CONF, group).connection == url:
            return getattr(CONF, group)
    return CONF.database


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute('PRAGMA journal_mode=WAL')
    cur.execute('PRAGMA synchronous=NORMAL')
    cur.execute('PRAGMA foreign_keys=ON')
    cur.execute('PRAGMA busy_timeout=30000')
    cur.close()
    # REGEXP by RE2, replacing SQLAlchemy's (Python's backtracking `re`, run
    # holding the GIL): see minova/db/regexp.py.
    from minova.db import regexp
    dbapi_conn.create_function('regexp', 2, regexp.sqlite_regexp, deterministic=True)


def get_engine(url: str) -> Engine:
    engine = _engines.get(url)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            _engines[url] = engine
    return engine


def get_read_engine(url: str) -> Engine:
    """The engine reader() uses for url."""
    engine = _read_engines.get(url)
    if engine is not None:
        return engine
    if not _lean(sa.engine.make_url(url)):
        engine = get_engine(url)
        with _lock:
            _read_engines.setdefault(url, engine)
        return engine
    with _lock:
        engine = _read_engines.get(url)
        if engine is None:
            engine = _create_engine(url, autocommit=True)
            _read_engines[url] = engine
    return engine


def _lean(u: sa.engine.URL) -> bool:
    """A PyMySQL URL (minova/db/mysql.py's connections)."""
    return u.drivername in ('mysql', 'mysql+pymysql')


def _create_engine(url: str, autocommit: bool = False) -> Engine:
    """autocommit: for reads only, on PyMySQL (get_read_engine)."""
    u = sa.engine.make_url(url)
    if u.drivername.startswith('sqlite'):
        if u.database and u.database != ':memory:':
            os.makedirs(os.path.dirname(os.path.abspath(u.database)), exist_ok=True)
        engine = sa.create_engine(
            u, connect_args={'check_same_thread': False, 'timeout': 30},
            pool_size=20, max_overflow=20)
        event.listen(engine, 'connect', _on_sqlite_connect)
        return engine
    group = _group_for(url)
    kwargs: dict[str, Any] = dict(
        pool_size=group.max_pool_size,
        max_overflow=group.max_overflow, pool_timeout=group.pool_timeout,
        pool_recycle=group.connection_recycle_time)
    if u.drivername == 'mysql':
        u = u.set(drivername='mysql+pymysql')
    if u.drivername.startswith('mysql'):
        kwargs['isolation_level'] = 'READ COMMITTED'
        q = dict(u.query)
        q.setdefault('charset', 'utf8mb4')
        u = u.set(query=q)
    lean = u.drivername == 'mysql+pymysql'
    if autocommit and lean:
        # Each SELECT its own transaction, as each statement of a READ
        # COMMITTED one sees what was committed before it: a reader sees the
        # same rows either way. Closing skips the ROLLBACK (mysql.py).
        kwargs['isolation_level'] = 'AUTOCOMMIT'
    if lean:
        # Before SQLAlchemy imports PyMySQL: see minova/db/mysql.py.
        from minova.db import mysql  # noqa: F401
    engine = sa.create_engine(u, **kwargs)
    if lean:
        event.listen(engine, 'do_connect', _connect_pymysql)
    _ping_when_idle(engine)
    return engine


def _connect_pymysql(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
    """PyMySQL connections sharing one TLS context (minova/db/mysql.py)."""
    from minova.db import mysql
    return mysql.connect(*cargs, **cparams)


# A pooled connection idle longer than this is pinged before use.
PING_AFTER_IDLE = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection only if it sat idle, unlike pool_pre_ping.

    pool_pre_ping costs a round trip per transaction, one in four of a
    small update's (ping, UPDATE, SELECT, COMMIT); a connection used a
    moment ago is alive. One idle long enough for a DB restart to have happened is
    pinged, and replaced if the ping fails. A restart under load still
    breaks the in-flight statement, as it would with pre-ping; callers
    retry (`retry_on_disconnect`), and SQLAlchemy then drops the pool.
    """
    @event.listens_for(engine, 'checkin')
    def _checkin(dbapi_conn: Any, record: Any) -> None:
        record.info['idle_since'] = time.monotonic()

    @event.listens_for(engine, 'checkout')
    def _checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.get('idle_since')
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as e:
            raise exc.DisconnectionError(str(e)) from e
        if alive is False:
            raise exc.DisconnectionError('ping failed')


def dispose_all() -> None:
    """Drop pooled connections (after fork, or in tests)."""
    with _lock:
        for engine in {id(e): e for e in [*_engines.values(),
                                          *_read_engines.values()]}.values():
            engine.dispose()
        _engines.clear()
        _read_engines.clear()


@contextlib.contextmanager
def reader(url: str) -> Iterator[Connection]:
    """A connection for SELECTs only (on PyMySQL its writes would commit at
    once: write in writer())."""
    with get_read_engine(url).connect() as conn:
        yield conn


@contextlib.contextmanager
def writer(url: str) -> Iterator[Connection]:
    with get_engine(url).begin() as conn:
        yield conn


def is_connection_error(err: BaseException) -> bool:
    return isinstance(err, exc.DBAPIError) and bool(err.connection_invalidated) or \
        isinstance(err, exc.OperationalError | exc.InterfaceError)


def is_deadlock(err: BaseException) -> bool:
    """A transaction the server rolled back to break a deadlock (MySQL/MariaDB
    1213, PostgreSQL 40P01) or a serialisation failure (40001): redo it."""
    if not isinstance(err, exc.DBAPIError):
        return False
    orig = err.orig
    args = getattr(orig, 'args', None)
    code = getattr(orig, 'pgcode', None) or (args[0] if args else None)
    return code in (1213, '40P01', '40001')


def inserted_id(result: sa.CursorResult[Any]) -> Any:
    """The primary key of the one row an INSERT wrote."""
    key = result.inserted_primary_key
    assert key is not None, 'not a single-row INSERT'
    return key[0]


_local = threading.local()


@contextlib.contextmanager
def fail_fast() -> Iterator[None]:
    """In this thread, a DB that is down fails at once instead of being retried.

    For the API's reads across cells: a down cell must degrade a listing
    now, not after max_retries * retry_interval seconds.
    """
    before = getattr(_local, 'fail_fast', False)
    _local.fail_fast = True
    try:
        yield
    finally:
        _local.fail_fast = before


def retry_on_disconnect(fn: F) -> F:
    """Retry a whole DB function when the server went away or deadlocked.

    Used on the functions that RPC handlers call, so that a database restart
    delays work instead of failing it.
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except (exc.OperationalError, exc.InterfaceError) as e:
                attempt += 1
                limit = CONF.database.max_retries
                if getattr(_local, 'fail_fast', False) or (limit != -1 and attempt > limit):
                    raise
                LOG.warning('Database error in %s (attempt %d): %s', fn.__name__, attempt, e)
                time.sleep(CONF.database.retry_interval)
    return wrapper  # type: ignore[return-value]
