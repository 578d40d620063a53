"""Small helpers shared by every service."""
from __future__ import annotations

import datetime
import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, overload

LOG = logging.getLogger(__name__)


def utcnow() -> datetime.datetime:
    """Naive UTC now: what the DB stores."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def generate_uuid() -> str:
    return str(uuid.uuid4())


def is_uuid_like(val: Any) -> bool:
    try:
        return str(uuid.UUID(str(val))) == str(val).lower()
    except (TypeError, ValueError, AttributeError):
        return False


def isotime(dt: datetime.datetime | str | None) -> str | None:
    """'2026-11-21T10:00:00Z' as Nova renders timestamps."""
    if dt is None:
        return None
    if isinstance(dt, str):
        dt = parse_time(dt)
    if dt.tzinfo is None and dt.year >= 1000:
        # the same text, at a third of strftime's cost (two per server listed)
        return dt.isoformat(timespec='seconds') + 'Z'
    return dt.strftime('%Y-%m-%dT%H:%M:%SZ')


@overload
def parse_time(value: None) -> None: ...
@overload
def parse_time(value: str | datetime.datetime) -> datetime.datetime: ...
@overload
def parse_time(value: str | datetime.datetime | None) -> datetime.datetime | None: ...
def parse_time(value: str | datetime.datetime | None) -> datetime.datetime | None:
    """A naive UTC datetime (what the DB holds) from ISO 8601 text or a datetime.

    An offset is applied, not dropped, as Nova's timeutils.normalize_time
    does: `2020-01-01T00:00:00-05:00` is 05:00 UTC, and comparable with every
    other time here. ValueError for text that is not a time or that falls
    outside the years 1-9999 once in UTC.
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        stamp = value
    else:
        text = value.strip()
        if text[-1:] in ('Z', 'z'):
            text = text[:-1] + '+00:00'
        stamp = datetime.datetime.fromisoformat(text)
    if stamp.tzinfo is not None:
        try:
            stamp = stamp.astimezone(datetime.UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError(f'{value} is out of range in UTC') from None
    return stamp


def json_loads(value: str | None, default: Any = None) -> Any:
    if value in (None, ''):
        return default
    return json.loads(value)


def json_dumps(value: Any) -> str:
    return json.dumps(value, default=str)


class Periodic:
    """Run `fn` every `interval` seconds in a daemon thread until stopped.

    A plain thread and Event, so it runs unchanged under eventlet's monkey
    patching and under native threads.
    """

    def __init__(self, name: str, fn: Callable[[], Any], interval: float,
                 initial_delay: float | None = None) -> None:
        self.name = name
        self.fn = fn
        self.interval = interval
        self.initial_delay = interval if initial_delay is None else initial_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        if self._stop.wait(self.initial_delay):
            return
        while True:
            try:
                self.fn()
            except Exception:
                LOG.exception('Periodic task %s failed', self.name)
            if self._stop.wait(self.interval):
                return
