"""Resource classes and traits: names <-> small integer ids.

Standard names come from os-resource-classes and os-traits and are written
into their tables once per process (`sync`). Custom ones (`CUSTOM_*`) are
created through the API. Lookups go through an in-process cache that is
reloaded on a miss, so a class created by another worker is found.
"""
from __future__ import annotations

import threading
from typing import Any

import os_resource_classes as orc
import os_traits
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from minova import utils
from minova.db import engines
from minova.placement import tables as t

CUSTOM_RC_MIN_ID = 10000

_synced: set[str] = set()
_lock = threading.Lock()
_caches: dict[tuple[str, str], dict[str, int]] = {}


def sync(url: str) -> None:
    """Make sure the standard resource classes and traits are in the DB."""
    if url in _synced:
        return
    with _lock:
        if url in _synced:
            return
        try:
            with engines.writer(url) as conn:
                _sync_classes(conn)
            with engines.writer(url) as conn:
                _sync_traits(conn)
        except sa.exc.IntegrityError:
            # Another process synced at the same time; its rows are as good.
            pass
        _synced.add(url)


def _sync_classes(conn: Connection) -> None:
    have = {r.name for r in conn.execute(sa.select(t.resource_classes.c.name))}
    now = utils.utcnow()
    rows = [{'id': i, 'name': name, 'created_at': now}
            for i, name in enumerate(orc.STANDARDS) if name not in have]
    if rows:
        conn.execute(t.resource_classes.insert(), rows)


def _sync_traits(conn: Connection) -> None:
    have = {r.name for r in conn.execute(sa.select(t.traits.c.name))}
    now = utils.utcnow()
    rows = [{'name': name, 'created_at': now}
            for name in os_traits.get_traits() if name not in have]
    if rows:
        conn.execute(t.traits.insert(), rows)


def _table(kind: str) -> sa.Table:
    return t.resource_classes if kind == 'rc' else t.traits


def _cache(conn: Connection, kind: str, reload: bool = False) -> dict[str, int]:
    key = (str(conn.engine.url), kind)
    cache = _caches.get(key)
    if cache is None or reload:
        table = _table(kind)
        cache = {r.name: r.id for r in conn.execute(sa.select(table.c.name, table.c.id))}
        _caches[key] = cache
    return cache


def invalidate(conn: Connection, kind: str) -> None:
    _caches.pop((str(conn.engine.url), kind), None)


def ids_for(conn: Connection, kind: str, names: list[str] | set[str]) -> dict[str, int]:
    """{name: id} for the names that exist (unknown names are left out)."""
    cache = _cache(conn, kind)
    if any(n not in cache for n in names):
        cache = _cache(conn, kind, reload=True)
    return {n: cache[n] for n in names if n in cache}


def rc_id(conn: Connection, name: str) -> int | None:
    return ids_for(conn, 'rc', [name]).get(name)


def rc_names(conn: Connection) -> dict[int, str]:
    """{id: name} of every resource class."""
    return {v: k for k, v in _cache(conn, 'rc').items()}


def rc_name(conn: Connection, rc: int) -> str:
    names = rc_names(conn)
    if rc not in names:
        names = {v: k for k, v in _cache(conn, 'rc', reload=True).items()}
    return names[rc]


def trait_names(conn: Connection, ids: list[int] | set[int]) -> dict[int, str]:
    names = {v: k for k, v in _cache(conn, 'trait').items()}
    if any(i not in names for i in ids):
        names = {v: k for k, v in _cache(conn, 'trait', reload=True).items()}
    return names


# -- resource classes ---------------------------------------------------------

def list_classes(conn: Connection) -> list[str]:
    return [r.name for r in conn.execute(
        sa.select(t.resource_classes.c.name).order_by(t.resource_classes.c.id))]


def create_class(conn: Connection, name: str) -> None:
    table = t.resource_classes
    top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    new_id = max(top + 1, CUSTOM_RC_MIN_ID)
    conn.execute(table.insert().values(id=new_id, name=name, created_at=utils.utcnow()))
    invalidate(conn, 'rc')


def delete_class(conn: Connection, name: str) -> int:
    result = conn.execute(t.resource_classes.delete().where(
        t.resource_classes.c.name == name))
    invalidate(conn, 'rc')
    return result.rowcount


def class_in_use(conn: Connection, rc: int) -> bool:
    inv = conn.execute(sa.select(t.inventories.c.id).where(
        t.inventories.c.resource_class_id == rc).limit(1)).first()
    return inv is not None


# -- traits -------------------------------------------------------------------

def list_traits(conn: Connection, name_in: list[str] | None = None,
                startswith: str | None = None, associated: bool | None = None) -> list[str]:
    q = sa.select(t.traits.c.name)
    if name_in is not None:
        q = q.where(t.traits.c.name.in_(name_in))
    if startswith:
        q = q.where(t.traits.c.name.startswith(startswith, autoescape=True))
    if associated is not None:
        sub = sa.select(t.resource_provider_traits.c.trait_id)
        q = q.where(t.traits.c.id.in_(sub) if associated else t.traits.c.id.not_in(sub))
    return [r.name for r in conn.execute(q.order_by(t.traits.c.name))]


def create_trait(conn: Connection, name: str) -> bool:
    """Create a trait; False when it already existed."""
    if ids_for(conn, 'trait', [name]):
        return False
    conn.execute(t.traits.insert().values(name=name, created_at=utils.utcnow()))
    invalidate(conn, 'trait')
    return True


def delete_trait(conn: Connection, name: str) -> str:
    """'deleted', 'missing' or 'in_use'."""
    tid = ids_for(conn, 'trait', [name]).get(name)
    if tid is None:
        return 'missing'
    used = conn.execute(sa.select(t.resource_provider_traits.c.trait_id).where(
        t.resource_provider_traits.c.trait_id == tid).limit(1)).first()
    if used is not None:
        return 'in_use'
    conn.execute(t.traits.delete().where(t.traits.c.id == tid))
    invalidate(conn, 'trait')
    return 'deleted'


def row_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)
