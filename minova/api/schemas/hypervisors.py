"""Query schemas of /os-hypervisors and the family's version table (TABLE)."""
from __future__ import annotations

from dataclasses import dataclass

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema

_list_props = {'limit': types.multi(types.non_negative_integer),
               'marker': types.multi({'type': 'string'}),
               'hypervisor_hostname_pattern': types.multi({'type': 'string'}),
               'with_servers': types.multi(types.boolean)}
list_query = types.query({}, strict=False)
list_query_v233 = types.query({k: _list_props[k] for k in ('limit', 'marker')}, strict=False)
list_query_v253 = types.query(_list_props, strict=False)
list_query_v275 = types.query(_list_props, strict=True)
show_query_v253 = types.query({'with_servers': _list_props['with_servers']}, strict=False)
show_query_v275 = types.query({'with_servers': _list_props['with_servers']}, strict=True)


@dataclass(frozen=True)
class Hypervisors:
    """What /os-hypervisors does at one microversion."""

    list_query: Schema
    show_query: Schema | None     # None: GET /os-hypervisors/{id} reads no query string
    paging: bool = False
    # Node uuids for ids; hypervisor_hostname_pattern and with_servers replace
    # the /{pattern}/search and /{pattern}/servers routes.
    by_uuid: bool = False
    search: bool = True
    statistics: bool = True       # /statistics and /{id}/uptime


TABLE = versioned.history(
    Hypervisors(list_query=list_query, show_query=None),
    ('2.33', {'list_query': list_query_v233, 'paging': True}),
    ('2.53', {'list_query': list_query_v253, 'show_query': show_query_v253,
              'by_uuid': True, 'search': False}),
    ('2.75', {'list_query': list_query_v275, 'show_query': show_query_v275}),
    ('2.88', {'statistics': False}),
)
