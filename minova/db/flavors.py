"""Flavors, their extra specs and project access, in the API DB.

Rows come back as plain dicts with the table's column names plus
`extra_specs` (dict); `flavorid` is the id users see.
"""
from __future__ import annotations

import datetime
from typing import Any, TypedDict, cast

import sqlalchemy as sa

from minova import exception, utils
from minova.db import engines
from minova.db.api_tables import flavor_extra_specs, flavor_projects, flavors

SORTABLE = {'created_at', 'description', 'disabled', 'ephemeral_gb', 'flavorid', 'id',
            'is_public', 'memory_mb', 'name', 'root_gb', 'rxtx_factor', 'swap',
            'updated_at', 'vcpu_weight', 'vcpus'}


class Flavor(TypedDict, total=False):
    """A flavor: a row of `flavors` with its `extra_specs`. The copy a
    server keeps (its instance's and request spec's `flavor`) has the same
    keys but `id` and the timestamps."""
    id: int
    flavorid: str
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int
    swap: int
    rxtx_factor: float
    vcpu_weight: int | None
    disabled: bool
    is_public: bool
    description: str | None
    extra_specs: dict[str, str]
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


class FlavorExists(exception.Conflict):
    msg_fmt = 'Flavor with name %(name)s already exists.'


class FlavorIdExists(exception.Conflict):
    msg_fmt = 'Flavor with ID %(flavor_id)s already exists.'


class FlavorExtraSpecsNotFound(exception.NotFound):
    msg_fmt = 'Flavor %(flavor_id)s has no extra specs with key %(extra_specs_key)s.'


class FlavorAccessExists(exception.Conflict):
    msg_fmt = 'Flavor access already exists for flavor %(flavor_id)s and project ' \
              '%(project_id)s combination.'


class FlavorAccessNotFound(exception.NotFound):
    msg_fmt = 'Flavor access not found for %(flavor_id)s / %(project_id)s combination.'


def _url() -> str:
    return engines.api_url()


def _specs(conn: sa.Connection, ids: list[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {i: {} for i in ids}
    if not ids:
        return out
    rows = conn.execute(sa.select(flavor_extra_specs).where(
        flavor_extra_specs.c.flavor_id.in_(ids))).mappings()
    for r in rows:
        out[r['flavor_id']][r['key']] = r['value']
    return out


def _with_specs(conn: sa.Connection, rows: list[Any]) -> list[Flavor]:
    result = [cast(Flavor, dict(r)) for r in rows]
    specs = _specs(conn, [r['id'] for r in result])
    for r in result:
        r['extra_specs'] = specs[r['id']]
    return result


def create(values: dict[str, Any], extra_specs: dict[str, str] | None = None,
           projects: list[str] | None = None) -> Flavor:
    """Insert a flavor; FlavorExists / FlavorIdExists (409) on duplicates."""
    values = dict(values)
    values.setdefault('flavorid', utils.generate_uuid())
    values.setdefault('created_at', utils.utcnow())
    with engines.writer(_url()) as conn:
        if conn.execute(sa.select(flavors.c.id).where(
                flavors.c.flavorid == values['flavorid'])).first():
            raise FlavorIdExists(flavor_id=values['flavorid'])
        if conn.execute(sa.select(flavors.c.id).where(
                flavors.c.name == values['name'])).first():
            raise FlavorExists(name=values['name'])
        try:
            with conn.begin_nested():
                fid = engines.inserted_id(conn.execute(flavors.insert().values(**values)))
        except sa.exc.IntegrityError:
            raise FlavorExists(name=values['name']) from None
        for key, value in (extra_specs or {}).items():
            conn.execute(flavor_extra_specs.insert().values(
                flavor_id=fid, key=key, value=value, created_at=values['created_at']))
        for project in projects or []:
            conn.execute(flavor_projects.insert().values(
                flavor_id=fid, project_id=project, created_at=values['created_at']))
    return get_by_flavor_id(values['flavorid'])


def get_by_flavor_id(flavorid: str) -> Flavor:
    """The flavor users call `flavorid`, with `extra_specs`. FlavorNotFound (404)."""
    with engines.reader(_url()) as conn:
        row = conn.execute(sa.select(flavors).where(
            flavors.c.flavorid == str(flavorid))).mappings().first()
        if row is None:
            raise exception.FlavorNotFound(flavor_id=flavorid)
        return _with_specs(conn, [row])[0]


def get_by_name(name: str) -> Flavor:
    with engines.reader(_url()) as conn:
        row = conn.execute(sa.select(flavors).where(flavors.c.name == name)).mappings().first()
        if row is None:
            raise exception.FlavorNotFound(flavor_id=name)
        return _with_specs(conn, [row])[0]


def _access_clause(project_id: str | None) -> Any:
    if project_id is None:
        return flavors.c.is_public.is_(True)
    shared = sa.select(flavor_projects.c.flavor_id).where(
        flavor_projects.c.project_id == project_id)
    return sa.or_(flavors.c.is_public.is_(True), flavors.c.id.in_(shared))


def get_all(min_memory_mb: int | None = None, min_root_gb: int | None = None,
            is_public: bool | None = True, project_id: str | None = None,
            name: str | None = None, sort_key: str = 'flavorid', sort_dir: str = 'asc',
            limit: int | None = None, marker: str | None = None) -> list[Flavor]:
    """Flavors, filtered as Nova's list does.

    is_public True: public ones plus the private ones `project_id` may use
    (project_id None: public only); False: private only; None: all (admin).
    A marker that does not exist raises exception.NotFound (400 in the API).
    """
    q = sa.select(flavors).where(flavors.c.disabled.is_(False))
    if min_memory_mb is not None:
        q = q.where(flavors.c.memory_mb >= min_memory_mb)
    if min_root_gb is not None:
        q = q.where(flavors.c.root_gb >= min_root_gb)
    if name is not None:
        q = q.where(flavors.c.name == name)
    if is_public is True:
        q = q.where(_access_clause(project_id))
    elif is_public is False:
        q = q.where(flavors.c.is_public.is_(False))
    col = flavors.c[sort_key if sort_key in SORTABLE else 'flavorid']
    desc = sort_dir == 'desc'
    with engines.reader(_url()) as conn:
        if marker is not None:
            m = conn.execute(sa.select(flavors).where(
                flavors.c.flavorid == marker)).mappings().first()
            if m is None:
                raise exception.NotFound(f'Marker {marker} could not be found.')
            mval = m[col.name]
            if desc:
                q = q.where(sa.or_(col < mval, sa.and_(col == mval, flavors.c.id < m['id'])))
            else:
                q = q.where(sa.or_(col > mval, sa.and_(col == mval, flavors.c.id > m['id'])))
        q = q.order_by(col.desc() if desc else col.asc(),
                       flavors.c.id.desc() if desc else flavors.c.id.asc())
        if limit is not None:
            q = q.limit(limit)
        return _with_specs(conn, list(conn.execute(q).mappings()))


def update(flavorid: str, values: dict[str, Any]) -> Flavor:
    flavor = get_by_flavor_id(flavorid)
    with engines.writer(_url()) as conn:
        conn.execute(flavors.update().where(flavors.c.id == flavor['id'])
                     .values(updated_at=utils.utcnow(), **values))
    return get_by_flavor_id(flavorid)


def destroy(flavorid: str) -> None:
    flavor = get_by_flavor_id(flavorid)
    with engines.writer(_url()) as conn:
        conn.execute(flavor_extra_specs.delete().where(
            flavor_extra_specs.c.flavor_id == flavor['id']))
        conn.execute(flavor_projects.delete().where(
            flavor_projects.c.flavor_id == flavor['id']))
        conn.execute(flavors.delete().where(flavors.c.id == flavor['id']))


# ---- extra specs -------------------------------------------------------------

def extra_specs_update(flavorid: str, specs: dict[str, str]) -> dict[str, str]:
    """Create or replace the given keys; returns all the flavor's specs."""
    flavor = get_by_flavor_id(flavorid)
    now = utils.utcnow()
    with engines.writer(_url()) as conn:
        for key, value in specs.items():
            res = conn.execute(flavor_extra_specs.update().where(
                flavor_extra_specs.c.flavor_id == flavor['id'],
                flavor_extra_specs.c.key == key).values(value=value, updated_at=now))
            if res.rowcount == 0:
                conn.execute(flavor_extra_specs.insert().values(
                    flavor_id=flavor['id'], key=key, value=value, created_at=now))
        return _specs(conn, [flavor['id']])[flavor['id']]


def extra_spec_delete(flavorid: str, key: str) -> None:
    flavor = get_by_flavor_id(flavorid)
    with engines.writer(_url()) as conn:
        res = conn.execute(flavor_extra_specs.delete().where(
            flavor_extra_specs.c.flavor_id == flavor['id'],
            flavor_extra_specs.c.key == key))
    if res.rowcount == 0:
        raise FlavorExtraSpecsNotFound(flavor_id=flavorid, extra_specs_key=key)


# ---- access ----------------------------------------------------------------

def access_list(flavorid: str) -> list[str]:
    flavor = get_by_flavor_id(flavorid)
    with engines.reader(_url()) as conn:
        rows = conn.execute(sa.select(flavor_projects.c.project_id).where(
            flavor_projects.c.flavor_id == flavor['id']).order_by(flavor_projects.c.id))
        return [r[0] for r in rows]


def access_add(flavorid: str, project_id: str) -> list[str]:
    flavor = get_by_flavor_id(flavorid)
    try:
        with engines.writer(_url()) as conn:
            conn.execute(flavor_projects.insert().values(
                flavor_id=flavor['id'], project_id=project_id, created_at=utils.utcnow()))
    except sa.exc.IntegrityError:
        raise FlavorAccessExists(flavor_id=flavorid, project_id=project_id) from None
    return access_list(flavorid)


def access_remove(flavorid: str, project_id: str) -> list[str]:
    flavor = get_by_flavor_id(flavorid)
    with engines.writer(_url()) as conn:
        res = conn.execute(flavor_projects.delete().where(
            flavor_projects.c.flavor_id == flavor['id'],
            flavor_projects.c.project_id == project_id))
    if res.rowcount == 0:
        raise FlavorAccessNotFound(flavor_id=flavorid, project_id=project_id)
    return access_list(flavorid)


def can_access(flavor: Flavor, project_id: str | None) -> bool:
    if flavor['is_public'] or project_id is None:
        return bool(flavor['is_public'])
    with engines.reader(_url()) as conn:
        return conn.execute(sa.select(flavor_projects.c.id).where(
            flavor_projects.c.flavor_id == flavor['id'],
            flavor_projects.c.project_id == project_id)).first() is not None
