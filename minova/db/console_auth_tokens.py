"""Console authorization tokens in a cell database (Nova's ConsoleAuthToken).

A token is 32 random bytes (urlsafe base64); the table keeps its sha256 and
what the console proxy connects to. `create` answers the token itself, which
only the URL handed to the user carries. `validate` finds a live token of a
live instance; `destroy_for_instance` runs with a server's delete and
`clean_expired` on the proxy's and the API's lookups.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any, TypedDict, cast
from urllib.parse import urlencode

import sqlalchemy as sa

from minova import utils
from minova.db import engines
from minova.db.main_tables import console_auth_tokens as cat
from minova.db.main_tables import instances


class ConsoleAuth(TypedDict):
    id: int
    token_hash: str
    console_type: str
    host: str
    port: int
    internal_access_path: str | None
    instance_uuid: str
    expires: int
    access_url_base: str | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def access_url(base: str, console_type: str, token: str) -> str:
    """The URL a user opens, as Nova builds it: noVNC reads the token from its
    'path' parameter (noVNC >= 1.1 dropped the top-level 'token')."""
    if console_type == 'novnc':
        return f'{base}?{urlencode({"path": f"?token={token}"})}'
    return f'{base}?token={token}'


def create(url: str, instance_uuid: str, console_type: str, host: str, port: int,
           internal_access_path: str | None, access_url_base: str | None,
           ttl: int) -> str:
    """Store a new token's hash (valid for ttl seconds); answer the token."""
    token = secrets.token_urlsafe(32)
    now = utils.utcnow()
    with engines.writer(url) as conn:
        conn.execute(cat.insert().values(
            token_hash=token_hash(token), console_type=console_type, host=host,
            port=int(port), internal_access_path=internal_access_path,
            instance_uuid=instance_uuid, expires=int(time.time()) + ttl,
            access_url_base=access_url_base, created_at=now, updated_at=now))
    return token


def validate(url: str, token: str) -> ConsoleAuth | None:
    """The token's record if it is unexpired and its instance still lives
    (expired tokens are removed on the way)."""
    now = int(time.time())
    with engines.reader(url) as conn:
        row = conn.execute(
            sa.select(cat).join(instances, sa.and_(instances.c.uuid == cat.c.instance_uuid,
                                                   instances.c.deleted == 0))
            .where(cat.c.token_hash == token_hash(token), cat.c.expires > now)
        ).mappings().first()
    if row is None:
        clean_expired(url)
        return None
    return cast(ConsoleAuth, dict(row))


def get_for_instance(url: str, instance_uuid: str) -> list[dict[str, Any]]:
    with engines.reader(url) as conn:
        rows = conn.execute(sa.select(cat).where(cat.c.instance_uuid == instance_uuid)
                            .order_by(cat.c.id)).mappings()
        return [dict(r) for r in rows]


def destroy_for_instance(conn: sa.Connection, instance_uuid: str) -> None:
    """Inside a server's delete: its tokens die with it."""
    conn.execute(cat.delete().where(cat.c.instance_uuid == instance_uuid))


def clean_expired(url: str) -> int:
    with engines.writer(url) as conn:
        return conn.execute(cat.delete().where(cat.c.expires <= int(time.time()))).rowcount
