"""Quota limits in the API DB: per project (quotas) and per class (quota_classes)."""
from __future__ import annotations

import sqlalchemy as sa

from minova import utils
from minova.db import engines
from minova.db.api_tables import quota_classes, quotas


def _url() -> str:
    return engines.api_url()


def get_all_by_project(project_id: str) -> dict[str, int]:
    with engines.reader(_url()) as conn:
        rows = conn.execute(sa.select(quotas.c.resource, quotas.c.hard_limit).where(
            quotas.c.project_id == project_id))
        return {r[0]: r[1] for r in rows}


def set_limits(project_id: str, limits: dict[str, int]) -> None:
    now = utils.utcnow()
    with engines.writer(_url()) as conn:
        for resource, hard_limit in limits.items():
            res = conn.execute(quotas.update().where(
                quotas.c.project_id == project_id, quotas.c.resource == resource)
                .values(hard_limit=hard_limit, updated_at=now))
            if res.rowcount == 0:
                conn.execute(quotas.insert().values(
                    project_id=project_id, resource=resource, hard_limit=hard_limit,
                    created_at=now))


def destroy_all_by_project(project_id: str) -> None:
    with engines.writer(_url()) as conn:
        conn.execute(quotas.delete().where(quotas.c.project_id == project_id))


def get_class(class_name: str) -> dict[str, int]:
    """{resource: hard limit} the class sets (resources it does not set are absent)."""
    with engines.reader(_url()) as conn:
        rows = conn.execute(sa.select(quota_classes.c.resource, quota_classes.c.hard_limit)
                            .where(quota_classes.c.class_name == class_name))
        return {r[0]: r[1] for r in rows}


def set_class(class_name: str, limits: dict[str, int]) -> None:
    now = utils.utcnow()
    with engines.writer(_url()) as conn:
        for resource, hard_limit in limits.items():
            res = conn.execute(quota_classes.update().where(
                quota_classes.c.class_name == class_name,
                quota_classes.c.resource == resource)
                .values(hard_limit=hard_limit, updated_at=now))
            if res.rowcount == 0:
                conn.execute(quota_classes.insert().values(
                    class_name=class_name, resource=resource, hard_limit=hard_limit,
                    created_at=now))
