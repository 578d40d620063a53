"""Host aggregates in the API DB: hosts, metadata and availability zones.

An aggregate's availability zone is its metadata key `availability_zone`, as
in Nova. Aggregates are returned as plain dicts with `hosts` (list) and
`metadata` (dict) filled in.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa

from minova import exception, utils
from minova.conf import CONF
from minova.db import engines
from minova.db.api_tables import aggregate_hosts, aggregate_metadata, aggregates

AZ_KEY = 'availability_zone'


class AggregateNotFound(exception.NotFound):
    msg_fmt = 'Aggregate %(aggregate_id)s could not be found.'


class AggregateNameExists(exception.Conflict):
    msg_fmt = 'Aggregate %(aggregate_name)s already exists.'


class AggregateHostExists(exception.Conflict):
    msg_fmt = 'Aggregate %(aggregate_id)s already has host %(host)s.'


class AggregateHostNotFound(exception.NotFound):
    msg_fmt = 'Aggregate %(aggregate_id)s has no host %(host)s.'


def _url() -> str:
    return engines.api_url()


# host -> AZ, read by every services/AZ/scheduler request: cached briefly and
# dropped on each write made by this process.
_zones_cache: dict[str, tuple[float, dict[str, str]]] = {}   # API DB url -> (when, map)
_zones_lock = threading.Lock()
ZONES_TTL = 2.0


def _invalidate() -> None:
    with _zones_lock:
        _zones_cache.clear()


def _load(conn: Any, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r['id'] for r in rows]
    hosts: dict[int, list[str]] = {i: [] for i in ids}
    meta: dict[int, dict[str, str]] = {i: {} for i in ids}
    if ids:
        for h in conn.execute(sa.select(aggregate_hosts.c.aggregate_id, aggregate_hosts.c.host)
                              .where(aggregate_hosts.c.aggregate_id.in_(ids))
                              .order_by(aggregate_hosts.c.id)):
            hosts[h.aggregate_id].append(h.host)
        for m in conn.execute(sa.select(aggregate_metadata).where(
                aggregate_metadata.c.aggregate_id.in_(ids))).mappings():
            meta[m['aggregate_id']][m['key']] = m['value']
    out = []
    for r in rows:
        agg = dict(r)
        agg.update(hosts=hosts[r['id']], metadata=meta[r['id']],
                   availability_zone=meta[r['id']].get(AZ_KEY), deleted=False,
                   deleted_at=None)
        out.append(agg)
    return out


def get_all() -> list[dict[str, Any]]:
    with engines.reader(_url()) as conn:
        rows = list(conn.execute(sa.select(aggregates).order_by(aggregates.c.id)).mappings())
        return _load(conn, rows)


def get(aggregate_id: int) -> dict[str, Any]:
    with engines.reader(_url()) as conn:
        rows = list(conn.execute(sa.select(aggregates).where(
            aggregates.c.id == aggregate_id)).mappings())
        if not rows:
            raise AggregateNotFound(aggregate_id=aggregate_id)
        return _load(conn, rows)[0]


def get_by_host(host: str, key: str | None = None) -> list[dict[str, Any]]:
    """Aggregates holding `host` (optionally only those with metadata `key`)."""
    with engines.reader(_url()) as conn:
        q = sa.select(aggregates).join(
            aggregate_hosts, aggregate_hosts.c.aggregate_id == aggregates.c.id
        ).where(aggregate_hosts.c.host == host).order_by(aggregates.c.id)
        aggs = _load(conn, list(conn.execute(q).mappings()))
    return [a for a in aggs if key is None or key in a['metadata']]


def create(name: str, availability_zone: str | None = None,
           uuid: str | None = None) -> dict[str, Any]:
    now = utils.utcnow()
    try:
        with engines.writer(_url()) as conn:
            agg_id = engines.inserted_id(conn.execute(aggregates.insert().values(
                uuid=uuid or utils.generate_uuid(), name=name, created_at=now)))
            if availability_zone:
                conn.execute(aggregate_metadata.insert().values(
                    aggregate_id=agg_id, key=AZ_KEY, value=availability_zone, created_at=now))
    except sa.exc.IntegrityError:
        raise AggregateNameExists(aggregate_name=name) from None
    _invalidate()
    return get(agg_id)


def update(aggregate_id: int, name: str | None = None,
           availability_zone: str | None = None) -> dict[str, Any]:
    get(aggregate_id)
    try:
        with engines.writer(_url()) as conn:
            values: dict[str, Any] = {'updated_at': utils.utcnow()}
            if name is not None:
                values['name'] = name
            conn.execute(aggregates.update().where(aggregates.c.id == aggregate_id)
                         .values(**values))
    except sa.exc.IntegrityError:
        raise AggregateNameExists(aggregate_name=name) from None
    if availability_zone is not None:
        update_metadata(aggregate_id, {AZ_KEY: availability_zone})
    _invalidate()
    return get(aggregate_id)


def delete(aggregate_id: int) -> None:
    with engines.writer(_url()) as conn:
        for table in (aggregate_hosts, aggregate_metadata):
            conn.execute(table.delete().where(table.c.aggregate_id == aggregate_id))
        if not conn.execute(aggregates.delete().where(aggregates.c.id == aggregate_id)
                            ).rowcount:
            raise AggregateNotFound(aggregate_id=aggregate_id)
    _invalidate()


def add_host(aggregate_id: int, host: str) -> dict[str, Any]:
    try:
        with engines.writer(_url()) as conn:
            conn.execute(aggregate_hosts.insert().values(
                aggregate_id=aggregate_id, host=host, created_at=utils.utcnow()))
    except sa.exc.IntegrityError:
        get(aggregate_id)
        raise AggregateHostExists(aggregate_id=aggregate_id, host=host) from None
    _invalidate()
    return get(aggregate_id)


def remove_host(aggregate_id: int, host: str) -> dict[str, Any]:
    with engines.writer(_url()) as conn:
        gone = conn.execute(aggregate_hosts.delete().where(
            aggregate_hosts.c.aggregate_id == aggregate_id,
            aggregate_hosts.c.host == host)).rowcount
    if not gone:
        raise AggregateHostNotFound(aggregate_id=aggregate_id, host=host)
    _invalidate()
    return get(aggregate_id)


def update_metadata(aggregate_id: int, metadata: dict[str, str | None]) -> dict[str, Any]:
    """Set keys; a value of None deletes the key (Nova's set_metadata)."""
    now = utils.utcnow()
    with engines.writer(_url()) as conn:
        t = aggregate_metadata
        for key, value in metadata.items():
            conn.execute(t.delete().where(t.c.aggregate_id == aggregate_id, t.c.key == key))
            if value is not None:
                conn.execute(t.insert().values(aggregate_id=aggregate_id, key=key,
                                               value=str(value), created_at=now))
    _invalidate()
    return get(aggregate_id)


def host_zones() -> dict[str, str]:
    """host -> its availability zone(s), for hosts in an AZ aggregate.

    A host in several AZ aggregates (possible only with the same zone name)
    gets the names joined by ',' as Nova shows it.
    """
    url = _url()
    with _zones_lock:
        stamp, zones = _zones_cache.get(url, (0.0, {}))
        if time.monotonic() - stamp < ZONES_TTL:
            return zones
    q = sa.select(aggregate_hosts.c.host, aggregate_metadata.c.value).join(
        aggregate_metadata, aggregate_metadata.c.aggregate_id == aggregate_hosts.c.aggregate_id
    ).where(aggregate_metadata.c.key == AZ_KEY)
    found: dict[str, set[str]] = {}
    with engines.reader(url) as conn:
        for host, zone in conn.execute(q):
            found.setdefault(host, set()).add(zone)
    zones = {h: ','.join(sorted(z)) for h, z in found.items()}
    with _zones_lock:
        _zones_cache[url] = (time.monotonic(), zones)
    return zones


def host_zone(host: str | None, zones: dict[str, str] | None = None) -> str:
    """The AZ a compute host is in: its aggregate's, else the default zone."""
    zones = host_zones() if zones is None else zones
    return zones.get(host or '', CONF.default_availability_zone)


def zone_aggregate_uuids(zone: str) -> list[str]:
    """UUIDs of the aggregates that make up availability zone `zone`."""
    q = sa.select(aggregates.c.uuid).join(
        aggregate_metadata, aggregate_metadata.c.aggregate_id == aggregates.c.id
    ).where(aggregate_metadata.c.key == AZ_KEY, aggregate_metadata.c.value == zone)
    with engines.reader(_url()) as conn:
        return sorted(r.uuid for r in conn.execute(q))


def all_zone_names() -> set[str]:
    q = sa.select(aggregate_metadata.c.value).where(aggregate_metadata.c.key == AZ_KEY)
    with engines.reader(_url()) as conn:
        return {r.value for r in conn.execute(q)}


def host_metadata() -> dict[str, dict[str, set[str]]]:
    """host -> {key: values} merged over all of the host's aggregates."""
    q = sa.select(aggregate_hosts.c.host, aggregate_metadata.c.key,
                  aggregate_metadata.c.value).join(
        aggregate_metadata, aggregate_metadata.c.aggregate_id == aggregate_hosts.c.aggregate_id)
    out: dict[str, dict[str, set[str]]] = {}
    with engines.reader(_url()) as conn:
        for host, key, value in conn.execute(q):
            out.setdefault(host, {}).setdefault(key, set()).add(value)
    return out
