"""Server groups (Nova's instance groups) in the API DB.

A group has one policy (affinity, anti-affinity, soft-affinity,
soft-anti-affinity), optional rules ({"max_server_per_host": n}) and member
instance uuids. Groups are plain dicts: id, uuid, name, project_id, user_id,
policy, rules, members.
"""
from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from minova import exception, utils
from minova.db import engines
from minova.db.api_tables import instance_group_member as members_t
from minova.db.api_tables import instance_group_policy as policy_t
from minova.db.api_tables import instance_groups as groups_t


class InstanceGroupNotFound(exception.NotFound):
    msg_fmt = 'Instance group %(group_uuid)s could not be found.'


def _url() -> str:
    return engines.api_url()


def _load(conn: Any, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r['id'] for r in rows]
    pols: dict[int, tuple[str | None, dict[str, Any]]] = {}
    mems: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for p in conn.execute(sa.select(policy_t).where(policy_t.c.group_id.in_(ids))
                              ).mappings():
            pols[p['group_id']] = (p['policy'], json.loads(p['rules'] or '{}'))
        for m in conn.execute(sa.select(members_t.c.group_id, members_t.c.instance_uuid)
                              .where(members_t.c.group_id.in_(ids)).order_by(members_t.c.id)):
            mems[m.group_id].append(m.instance_uuid)
    out = []
    for r in rows:
        policy, rules = pols.get(r['id'], (None, {}))
        out.append(dict(r, policy=policy, rules=rules, members=mems[r['id']]))
    return out


def create(name: str, project_id: str, user_id: str, policy: str,
           rules: dict[str, Any] | None = None) -> dict[str, Any]:
    now = utils.utcnow()
    uuid = utils.generate_uuid()
    with engines.writer(_url()) as conn:
        gid = engines.inserted_id(conn.execute(groups_t.insert().values(
            uuid=uuid, name=name, project_id=project_id, user_id=user_id, created_at=now)))
        conn.execute(policy_t.insert().values(group_id=gid, policy=policy,
                                              rules=json.dumps(rules or {}), created_at=now))
    return get(uuid)


def get(uuid: str) -> dict[str, Any]:
    with engines.reader(_url()) as conn:
        rows = list(conn.execute(sa.select(groups_t).where(groups_t.c.uuid == uuid)).mappings())
        if not rows:
            raise InstanceGroupNotFound(group_uuid=uuid)
        return _load(conn, rows)[0]


def get_all(project_id: str | None = None, limit: int | None = None,
            offset: int = 0) -> list[dict[str, Any]]:
    q = sa.select(groups_t).order_by(groups_t.c.id)
    if project_id is not None:
        q = q.where(groups_t.c.project_id == project_id)
    if offset:
        q = q.offset(offset)
    if limit is not None:
        q = q.limit(limit)
    with engines.reader(_url()) as conn:
        return _load(conn, list(conn.execute(q).mappings()))


def delete(uuid: str) -> None:
    with engines.writer(_url()) as conn:
        row = conn.execute(sa.select(groups_t.c.id).where(groups_t.c.uuid == uuid)).first()
        if row is None:
            raise InstanceGroupNotFound(group_uuid=uuid)
        for t in (members_t, policy_t):
            conn.execute(t.delete().where(t.c.group_id == row.id))
        conn.execute(groups_t.delete().where(groups_t.c.id == row.id))


def count_by_project(project_id: str) -> int:
    with engines.reader(_url()) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(groups_t).where(
            groups_t.c.project_id == project_id)).scalar_one()


def add_members(uuid: str, instance_uuids: list[str]) -> None:
    now = utils.utcnow()
    with engines.writer(_url()) as conn:
        row = conn.execute(sa.select(groups_t.c.id).where(groups_t.c.uuid == uuid)).first()
        if row is None:
            raise InstanceGroupNotFound(group_uuid=uuid)
        for inst in instance_uuids:
            conn.execute(members_t.insert().values(group_id=row.id, instance_uuid=inst,
                                                   created_at=now))


def remove_member(instance_uuid: str) -> None:
    """Drop a deleted instance from whatever group holds it."""
    with engines.writer(_url()) as conn:
        conn.execute(members_t.delete().where(members_t.c.instance_uuid == instance_uuid))


def get_by_instance(instance_uuid: str) -> dict[str, Any] | None:
    with engines.reader(_url()) as conn:
        rows = list(conn.execute(sa.select(groups_t).join(
            members_t, members_t.c.group_id == groups_t.c.id).where(
            members_t.c.instance_uuid == instance_uuid)).mappings())
        return _load(conn, rows)[0] if rows else None
