"""Schema sync through alembic: one migration tree per kind of database.

minova-manage (api_db sync, db sync, placement db sync) and the all-in-one
call upgrade(); nothing else creates tables.
"""
from __future__ import annotations

import os
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext

from minova.db import engines

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'migrations')
KINDS = ('api_db', 'main_db', 'placement_db')


def _config(kind: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option('script_location', os.path.join(MIGRATIONS, kind))
    cfg.attributes['url'] = url
    return cfg


def upgrade(kind: str, url: str, revision: str = 'head') -> None:
    if kind not in KINDS:
        raise ValueError(kind)
    engine = engines.get_engine(url)
    with engine.begin() as conn:
        cfg = _config(kind, url)
        cfg.attributes['connection'] = conn
        command.upgrade(cfg, revision)


def current(kind: str, url: str) -> str | None:
    from alembic.migration import MigrationContext
    with engines.get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def run_env(context: EnvironmentContext, target_metadata: Any) -> None:
    """Body of every env.py: run online against the connection we pass in."""
    conn = context.config.attributes.get('connection')
    if conn is None:
        url = context.config.attributes.get('url') or context.config.get_main_option(
            'sqlalchemy.url')
        if not url:
            raise ValueError('No database to migrate: neither a connection nor a URL')
        with engines.get_engine(url).begin() as conn:
            _run(context, conn, target_metadata)
    else:
        _run(context, conn, target_metadata)


def _run(context: EnvironmentContext, conn: Any, target_metadata: Any) -> None:
    context.configure(connection=conn, target_metadata=target_metadata,
                      render_as_batch=conn.dialect.name == 'sqlite')
    with context.begin_transaction():
        context.run_migrations()
