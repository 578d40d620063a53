"""Instance action and event bodies per microversion: (version, field, getter) rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon

from minova import utils
from minova.api.views import servers as server_view
from minova.api.views.fields import OMIT, Field, Fields

Row = dict[str, Any]


def _time(value: Any) -> str | None:
    if isinstance(value, str):
        value = utils.parse_time(value)
    return value.isoformat() if value is not None else None


def _plain(name: str) -> Field[Row]:
    return Field('2.1', name, lambda a: a.get(name))


ACTION: Fields[Row] = Fields(
    *(_plain(name) for name in ('action', 'instance_uuid', 'message', 'project_id',
                                'request_id')),
    Field('2.1', 'start_time', lambda a: _time(a.get('start_time'))),
    Field('2.1', 'user_id', lambda a: a.get('user_id')),
    Field('2.58', 'updated_at', lambda a: _time(a.get('updated_at') or a.get('start_time'))),
)


@dataclass
class Event:
    event: Row
    project_id: str
    show_traceback: bool   # the events policy
    show_details: bool     # the events:details policy

    @property
    def host(self) -> str:
        return self.event.get('host') or ''


EVENT: Fields[Event] = Fields(
    Field('2.1', 'event', lambda e: e.event.get('event')),
    Field('2.1', 'start_time', lambda e: _time(e.event.get('start_time'))),
    Field('2.1', 'finish_time', lambda e: _time(e.event.get('finish_time'))),
    Field('2.1', 'result', lambda e: e.event.get('result')),
    Field('2.1', 'traceback', lambda e: e.event.get('traceback') if e.show_traceback else OMIT),
    Field('2.62', 'host', lambda e: e.host if e.show_traceback else OMIT),
    Field('2.62', 'hostId', lambda e: server_view.host_id({'host': e.host,
                                                           'project_id': e.project_id})),
    Field('2.84', 'details', lambda e: e.event.get('details') if e.show_details else OMIT),
)


def action(req: falcon.Request, row: Row) -> dict[str, Any]:
    return ACTION.render(req, row)


def event(req: falcon.Request, context: Event) -> dict[str, Any]:
    return EVENT.render(req, context)
