"""Key pairs (per user) in the API DB."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from minova import exception, utils
from minova.db import engines
from minova.db.api_tables import key_pairs


class KeyPairExists(exception.Conflict):
    msg_fmt = "Key pair '%(key_name)s' already exists."


class KeypairNotFound(exception.NotFound):
    msg_fmt = 'Keypair %(name)s not found for user %(user_id)s'


def _url() -> str:
    return engines.api_url()


def create(user_id: str, name: str, public_key: str, fingerprint: str,
           key_type: str = 'ssh') -> dict[str, Any]:
    values = dict(user_id=user_id, name=name, public_key=public_key,
                  fingerprint=fingerprint, type=key_type, created_at=utils.utcnow())
    try:
        with engines.writer(_url()) as conn:
            values['id'] = engines.inserted_id(conn.execute(
                key_pairs.insert().values(**values)))
    except sa.exc.IntegrityError:
        raise KeyPairExists(key_name=name) from None
    values['updated_at'] = None
    return values


def get(user_id: str, name: str) -> dict[str, Any]:
    with engines.reader(_url()) as conn:
        row = conn.execute(sa.select(key_pairs).where(
            key_pairs.c.user_id == user_id, key_pairs.c.name == name)).mappings().first()
    if row is None:
        raise KeypairNotFound(user_id=user_id, name=name)
    return dict(row)


def get_all(user_id: str, limit: int | None = None,
            marker: str | None = None) -> list[dict[str, Any]]:
    """The user's key pairs by id; an unknown marker (a name) raises NotFound."""
    q = sa.select(key_pairs).where(key_pairs.c.user_id == user_id).order_by(key_pairs.c.id)
    with engines.reader(_url()) as conn:
        if marker is not None:
            m = conn.execute(sa.select(key_pairs.c.id).where(
                key_pairs.c.user_id == user_id, key_pairs.c.name == marker)).first()
            if m is None:
                raise exception.NotFound(f'Marker {marker} could not be found.')
            q = q.where(key_pairs.c.id > m[0])
        if limit is not None:
            q = q.limit(limit)
        return [dict(r) for r in conn.execute(q).mappings()]


def count(user_id: str) -> int:
    with engines.reader(_url()) as conn:
        return conn.execute(sa.select(sa.func.count(key_pairs.c.id)).where(
            key_pairs.c.user_id == user_id)).scalar_one()


def destroy(user_id: str, name: str) -> None:
    with engines.writer(_url()) as conn:
        res = conn.execute(key_pairs.delete().where(
            key_pairs.c.user_id == user_id, key_pairs.c.name == name))
    if res.rowcount == 0:
        raise KeypairNotFound(user_id=user_id, name=name)
