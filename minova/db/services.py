"""Service records (one per binary per host) and their heartbeats, in a cell DB."""
from __future__ import annotations

import datetime
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from minova import exception, utils
from minova.conf import CONF
from minova.db import engines
from minova.db.main_tables import services


@engines.retry_on_disconnect
def get_or_create(url: str, host: str, binary: str, topic: str | None = None,
                  version: int = 1) -> dict[str, Any]:
    """The live record of (host, binary), created on first start."""
    q = sa.select(services).where(services.c.host == host, services.c.binary == binary,
                                  services.c.deleted == 0)
    with engines.writer(url) as conn:
        row = conn.execute(q).mappings().first()
        if row is None:
            now = utils.utcnow()
            try:
                with conn.begin_nested():
                    conn.execute(services.insert().values(
                        uuid=utils.generate_uuid(), host=host, binary=binary, topic=topic,
                        report_count=0, disabled=False, forced_down=False, version=version,
                        last_seen_up=now, created_at=now, updated_at=now, deleted=0))
            except sa.exc.IntegrityError:
                pass  # another worker of the same service won the race
            row = conn.execute(q).mappings().one()
        elif row['version'] != version:
            conn.execute(services.update().where(services.c.id == row['id'])
                         .values(version=version))
    return dict(row)


@engines.retry_on_disconnect
def heartbeat(url: str, service_id: int) -> None:
    now = utils.utcnow()
    with engines.writer(url) as conn:
        conn.execute(services.update().where(services.c.id == service_id).values(
            report_count=services.c.report_count + 1, last_seen_up=now, updated_at=now))


def is_up(service: dict[str, Any]) -> bool:
    """Up: not forced down and heard from within service_down_time."""
    if service.get('forced_down'):
        return False
    last = utils.parse_time(service.get('last_seen_up') or service.get('updated_at')
                            or service.get('created_at'))
    if last is None:
        return False
    return utils.utcnow() - last <= datetime.timedelta(seconds=CONF.service_down_time)


@engines.retry_on_disconnect
def get_all(url: str, host: str | None = None, binary: str | None = None,
            include_disabled: bool = True, hosts: Collection[str] | None = None
            ) -> list[dict[str, Any]]:
    """Live services, of one host or of `hosts` when given."""
    q = sa.select(services).where(services.c.deleted == 0).order_by(services.c.id)
    if host is not None:
        q = q.where(services.c.host == host)
    if hosts is not None:
        q = q.where(services.c.host.in_(sorted(hosts)))
    if binary is not None:
        q = q.where(services.c.binary == binary)
    if not include_disabled:
        q = q.where(services.c.disabled.is_(False))
    with engines.reader(url) as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def _live_where(url: str, column: sa.Column, value: Any) -> dict[str, Any]:
    with engines.reader(url) as conn:
        row = conn.execute(sa.select(services).where(
            column == value, services.c.deleted == 0)).mappings().first()
    if row is None:
        raise exception.ServiceNotFound(service_id=value)
    return dict(row)


@engines.retry_on_disconnect
def get_by_uuid(url: str, uuid: str) -> dict[str, Any]:
    return _live_where(url, services.c.uuid, uuid)


@engines.retry_on_disconnect
def get_by_id(url: str, service_id: int) -> dict[str, Any]:
    return _live_where(url, services.c.id, service_id)


# Bumped by every change of a service's state made in this process (readers
# that keep service rows briefly drop them when it moves).
CHANGES = [0]


@engines.retry_on_disconnect
def update(url: str, service_id: int, values: dict[str, Any]) -> dict[str, Any]:
    CHANGES[0] += 1
    values = dict(values, updated_at=utils.utcnow())
    with engines.writer(url) as conn:
        conn.execute(services.update().where(services.c.id == service_id).values(**values))
        row = conn.execute(sa.select(services).where(services.c.id == service_id)
                           ).mappings().one()
    return dict(row)


@engines.retry_on_disconnect
def destroy(url: str, service_id: int) -> None:
    CHANGES[0] += 1
    now = utils.utcnow()
    with engines.writer(url) as conn:
        conn.execute(services.update().where(services.c.id == service_id)
                     .values(deleted=services.c.id, deleted_at=now, updated_at=now))
