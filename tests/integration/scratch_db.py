"""Scratch databases on the machine's MariaDB and PostgreSQL, for the tests
that run one piece of mini-Nova on both engines."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import sqlalchemy as sa

from minova.db import engines, migration

ADMIN_URLS = {'mysql': 'mysql+pymysql://root@127.0.0.1/',
              'postgresql': 'postgresql+psycopg2://postgres@127.0.0.1/postgres'}
ENGINES = sorted(ADMIN_URLS)


@contextlib.contextmanager
def databases(engine: str, prefix: str) -> Iterator[Iterator[str]]:
    """An endless supply of new empty databases on `engine` (utf8mb4 on
    MariaDB), named prefix + a random suffix; all dropped afterwards, with
    mini-Nova's connections to them closed first."""
    admin = sa.create_engine(ADMIN_URLS[engine], isolation_level='AUTOCOMMIT')
    made: list[str] = []

    def supply() -> Iterator[str]:
        while True:
            name = prefix + uuid.uuid4().hex[:8]
            with admin.connect() as conn:
                suffix = ' CHARACTER SET utf8mb4' if engine == 'mysql' else ''
                conn.execute(sa.text(f'CREATE DATABASE {name}{suffix}'))
            made.append(name)
            yield ADMIN_URLS[engine].rsplit('/', 1)[0] + '/' + name

    try:
        yield supply()
    finally:
        engines.dispose_all()
        with admin.connect() as conn:
            force = '' if engine == 'mysql' else ' WITH (FORCE)'
            for name in made:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name}{force}'))
        admin.dispose()


@contextlib.contextmanager
def database(engine: str, prefix: str, schema: str | None = None) -> Iterator[str]:
    """One new database on `engine`, dropped afterwards: empty, or migrated
    to the newest revision of `schema` ('main_db', 'api_db', 'placement_db')."""
    with databases(engine, prefix) as supply:
        url = next(supply)
        if schema is not None:
            migration.upgrade(schema, url)
        yield url
