"""Query schemas of /os-simple-tenant-usage and the family's version table (TABLE)."""
from __future__ import annotations

from dataclasses import dataclass

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema

_period = {'start': types.multi({'type': 'string'}), 'end': types.multi({'type': 'string'})}
_paging = {'limit': types.multi(types.non_negative_integer),
           'marker': types.multi({'type': 'string'})}
_detailed = {'detailed': types.multi({'type': 'string'})}


@dataclass(frozen=True)
class SimpleTenantUsage:
    """What /os-simple-tenant-usage does at one microversion."""

    index_query: Schema
    show_query: Schema
    # limit, marker (an instance uuid) and next links; before, a page is
    # [api] max_limit servers with no way to the next one
    paging: bool = False


TABLE = versioned.history(
    SimpleTenantUsage(index_query=types.query(dict(_period, **_detailed), strict=False),
                      show_query=types.query(dict(_period), strict=False)),
    ('2.40', {'index_query': types.query(dict(_period, **_detailed, **_paging), strict=False),
              'show_query': types.query(dict(_period, **_paging), strict=False),
              'paging': True}),
    ('2.75', {'index_query': types.query(dict(_period, **_detailed, **_paging), strict=True),
              'show_query': types.query(dict(_period, **_paging), strict=True)}),
)
