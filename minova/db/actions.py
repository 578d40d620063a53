"""Instance actions and their events (os-instance-actions) in a cell DB."""
from __future__ import annotations

import traceback as tb
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from minova import exception, utils
from minova.db import engines
from minova.db.main_tables import instance_actions, instance_actions_events


@engines.retry_on_disconnect
def action_start(url: str, instance_uuid: str, action: str, request_id: str | None,
                 user_id: str | None, project_id: str | None,
                 start_time: Any = None) -> int:
    """Open an action; start_time defaults to now (for 'create': when the API took it)."""
    with engines.writer(url) as conn:
        return action_start_in(conn, instance_uuid, action, request_id, user_id,
                               project_id, start_time)


def action_start_in(conn: sa.Connection, instance_uuid: str, action: str,
                    request_id: str | None, user_id: str | None, project_id: str | None,
                    start_time: Any = None,
                    events: Sequence[tuple[str, Any, Any]] = ()) -> int:
    """action_start inside the caller's transaction, with `events` already
    begun (name, start, finish or None for one still running)."""
    now = utils.utcnow()
    action_id: int = engines.inserted_id(conn.execute(instance_actions.insert().values(
        action=action, instance_uuid=instance_uuid, request_id=request_id,
        user_id=user_id, project_id=project_id,
        start_time=utils.parse_time(start_time) or now, created_at=now,
    )))
    for name, start, finish in events:
        conn.execute(instance_actions_events.insert().values(
            action_id=action_id, event=name, start_time=utils.parse_time(start),
            finish_time=utils.parse_time(finish), result='Success' if finish else None,
            created_at=now))
    return action_id


def _action_for(conn: sa.Connection, instance_uuid: str,
                request_id: str | None) -> dict[str, Any] | None:
    q = (sa.select(instance_actions).where(instance_actions.c.instance_uuid == instance_uuid)
         .order_by(instance_actions.c.id.desc()).limit(1))
    if request_id:
        q = q.where(instance_actions.c.request_id == request_id)
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


@engines.retry_on_disconnect
def event_start(url: str, instance_uuid: str, request_id: str | None, event: str,
                host: str | None = None) -> None:
    with engines.writer(url) as conn:
        events_write_in(conn, instance_uuid, request_id, host, start=(event, None))


@engines.retry_on_disconnect
def event_finish(url: str, instance_uuid: str, request_id: str | None, event: str,
                 result: str = 'Success', exc_tb: str | None = None,
                 host: str | None = None, finished_too: bool = False,
                 details: str | None = None) -> None:
    """Close the event; an 'Error' result also marks the action's message.
    With finished_too, an event already closed gets this result instead. An
    event never opened is recorded whole, as started now. details: what went
    wrong, in words (the API shows it from 2.84)."""
    now = utils.utcnow()
    with engines.writer(url) as conn:
        action = _action_for(conn, instance_uuid, request_id)
        if action is None:
            return
        if not _close(conn, action['id'], event, now, result, exc_tb, finished_too, details):
            conn.execute(instance_actions_events.insert().values(
                action_id=action['id'], event=event, start_time=now, finish_time=now,
                result=result, traceback=exc_tb, host=host, created_at=now,
                details=details))
        values: dict[str, Any] = {'updated_at': now}
        if result == 'Error':
            values['message'] = 'Error'
        conn.execute(instance_actions.update().where(instance_actions.c.id == action['id'])
                     .values(**values))


def _close(conn: sa.Connection, action_id: int, event: str, now: Any, result: str,
           exc_tb: str | None = None, finished_too: bool = False,
           details: str | None = None) -> bool:
    """Close the action's open event of that name (or, with finished_too, any);
    False when there was none."""
    q = instance_actions_events.update().where(
        instance_actions_events.c.action_id == action_id,
        instance_actions_events.c.event == event)
    if not finished_too:
        q = q.where(instance_actions_events.c.finish_time.is_(None))
    return bool(conn.execute(q.values(finish_time=now, result=result, traceback=exc_tb,
                                      details=details, updated_at=now)).rowcount)


@engines.retry_on_disconnect
def event_record(url: str, instance_uuid: str, request_id: str | None, event: str,
                 start_time: Any, finish_time: Any, result: str = 'Success',
                 host: str | None = None) -> None:
    """Write an event that already happened (timed elsewhere) in one go."""
    with engines.writer(url) as conn:
        events_write_in(conn, instance_uuid, request_id, host,
                        records=[(event, start_time, finish_time, result)])


def events_write_in(conn: sa.Connection, instance_uuid: str, request_id: str | None,
                    host: str | None, start: tuple[str, Any] | None = None,
                    records: list[Any] | tuple = (),
                    finish: tuple[str, Any] | None = None) -> None:
    """The event writes of one update, in the caller's transaction, with one
    look-up of the action and one touch of its row (for an opened or closed
    event): open `start` (name, start time or None for now), record finished
    events ([name, start, finish] or [name, start, finish, result]; default
    'Success'), close `finish` (name, start time if it was never opened)."""
    action = _action_for(conn, instance_uuid, request_id)
    if action is None:
        return
    now = utils.utcnow()
    rows = [dict(event=name, start_time=begin, finish_time=None, result=None)
            for name, begin in ([start] if start else [])]
    rows += [dict(event=rec[0], start_time=rec[1], finish_time=utils.parse_time(rec[2]),
                  result=rec[3] if len(rec) > 3 else 'Success') for rec in records]
    if finish and not _close(conn, action['id'], finish[0], now, 'Success'):
        rows.append(dict(event=finish[0], start_time=finish[1], finish_time=now,
                         result='Success'))
    if rows:
        conn.execute(instance_actions_events.insert(),
                     [dict(row, start_time=utils.parse_time(row['start_time']) or now,
                           action_id=action['id'], host=host, traceback=None,
                           created_at=now) for row in rows])
    if start or finish:
        conn.execute(instance_actions.update().where(instance_actions.c.id == action['id'])
                     .values(updated_at=now))


def format_tb() -> str:
    return tb.format_exc()


@engines.retry_on_disconnect
def action_list(url: str, instance_uuid: str, limit: int | None = None,
                marker: str | None = None, changes_since: Any = None,
                changes_before: Any = None) -> list[dict[str, Any]]:
    q = (sa.select(instance_actions).where(instance_actions.c.instance_uuid == instance_uuid)
         .order_by(instance_actions.c.created_at.desc(), instance_actions.c.id.desc()))
    if changes_since is not None:
        q = q.where(instance_actions.c.updated_at >= utils.parse_time(changes_since))
    if changes_before is not None:
        q = q.where(instance_actions.c.updated_at <= utils.parse_time(changes_before))
    with engines.reader(url) as conn:
        if marker is not None:
            mrow = conn.execute(sa.select(instance_actions).where(
                instance_actions.c.instance_uuid == instance_uuid,
                instance_actions.c.request_id == marker)).mappings().first()
            if mrow is None:
                raise exception.NotFound(f'Marker {marker} could not be found.')
            q = q.where(instance_actions.c.id < mrow['id'])
        if limit is not None:
            q = q.limit(limit)
        return [dict(r) for r in conn.execute(q).mappings()]


@engines.retry_on_disconnect
def action_get_by_request_id(url: str, instance_uuid: str,
                             request_id: str) -> dict[str, Any] | None:
    with engines.reader(url) as conn:
        row = conn.execute(sa.select(instance_actions).where(
            instance_actions.c.instance_uuid == instance_uuid,
            instance_actions.c.request_id == request_id)
            .order_by(instance_actions.c.id.desc())).mappings().first()
    return dict(row) if row else None


@engines.retry_on_disconnect
def events_get(url: str, action_id: int) -> list[dict[str, Any]]:
    with engines.reader(url) as conn:
        rows = conn.execute(sa.select(instance_actions_events)
                            .where(instance_actions_events.c.action_id == action_id)
                            .order_by(instance_actions_events.c.id.desc())).mappings()
        return [dict(r) for r in rows]
