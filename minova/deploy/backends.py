"""Databases on MariaDB/PostgreSQL and vhosts on RabbitMQ: create and drop."""
from __future__ import annotations

import subprocess

import sqlalchemy as sa

from minova.deploy.layout import Settings


def _server_engine(s: Settings, port: int | None) -> sa.engine.Engine:
    admin_db = 'mysql' if s.db == 'mysql' else 'postgres'
    return sa.create_engine(s.server_url(admin_db, port), isolation_level='AUTOCOMMIT',
                            poolclass=sa.pool.NullPool)


def _exists(conn: sa.engine.Connection, s: Settings, name: str) -> bool:
    if s.db == 'mysql':
        q = sa.text('SELECT 1 FROM information_schema.schemata WHERE schema_name = :n')
    else:
        q = sa.text('SELECT 1 FROM pg_database WHERE datname = :n')
    return conn.execute(q, {'n': name}).first() is not None


def create_databases(s: Settings) -> list[str]:
    """Create the missing databases; returns the names created."""
    created = []
    for port, names in s.server_ports().items():
        engine = _server_engine(s, port)
        with engine.connect() as conn:
            for name in names:
                if _exists(conn, s, name):
                    continue
                if s.db == 'mysql':
                    conn.execute(sa.text(f'CREATE DATABASE `{name}` CHARACTER SET utf8mb4'))
                else:
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                created.append(name)
        engine.dispose()
    return created


def drop_databases(s: Settings) -> None:
    for port, names in s.server_ports().items():
        engine = _server_engine(s, port)
        try:
            with engine.connect() as conn:
                for name in names:
                    if s.db == 'mysql':
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS `{name}`'))
                    else:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except sa.exc.OperationalError as e:  # that server is gone: nothing to drop
            print(f'could not drop {names}: {e.orig}')
        engine.dispose()


def _rabbitmqctl(s: Settings, *args: str, check: bool = True) -> None:
    cmd = ['rabbitmqctl', '-q']
    if s.rabbit_node:
        cmd += ['-n', s.rabbit_node]
    subprocess.run(cmd + list(args), check=check, capture_output=True, timeout=60)


def _rabbit_user(s: Settings) -> str:
    from urllib.parse import unquote, urlsplit
    return unquote(urlsplit(s.rabbit_url).username or 'guest')


def create_vhosts(s: Settings) -> None:
    for vhost in s.vhosts().values():
        _rabbitmqctl(s, 'add_vhost', vhost, check=False)  # fails only if it exists
        _rabbitmqctl(s, 'set_permissions', '-p', vhost, _rabbit_user(s), '.*', '.*', '.*')


def drop_vhosts(s: Settings) -> None:
    for vhost in s.vhosts().values():
        _rabbitmqctl(s, 'delete_vhost', vhost, check=False)
