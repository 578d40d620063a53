"""Query schemas of /servers/{id}/os-instance-actions and the family's version
table (TABLE); the bodies are views/instance_actions.py."""
from __future__ import annotations

from dataclasses import dataclass

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema

_query_props = {'limit': types.multi(types.non_negative_integer),
                'marker': types.multi({'type': 'string'}),
                'changes-since': types.multi({'type': 'string', 'format': 'date-time'})}
list_query_v258 = types.query(_query_props, strict=False)
list_query_v266 = types.query(dict(_query_props, **{
    'changes-before': types.multi({'type': 'string', 'format': 'date-time'})}), strict=False)
list_query_v2102 = dict(list_query_v266, additionalProperties=False)


@dataclass(frozen=True)
class InstanceActions:
    """What os-instance-actions does at one microversion."""

    list_query: Schema | None = None    # None: the query string is not read
    show_query: Schema | None = None
    paging: bool = False                # limit, marker, changes-since, next links
    deleted_servers: bool = False       # the actions of a deleted server
    events_for_all: bool = False        # events (no traceback) without the events policy


TABLE = versioned.history(
    InstanceActions(),
    ('2.21', {'deleted_servers': True}),
    ('2.51', {'events_for_all': True}),
    ('2.58', {'list_query': list_query_v258, 'paging': True}),
    ('2.66', {'list_query': list_query_v266}),
    ('2.102', {'list_query': list_query_v2102, 'show_query': types.query({}, strict=True)}),
)
