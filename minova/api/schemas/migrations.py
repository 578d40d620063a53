"""Query schemas of GET /os-migrations (each microversion is the previous plus a
change) and the family's version table (TABLE); the body is views/migrations.py."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema

_one = {'type': 'array', 'items': {'type': 'string'}, 'maxItems': 1}
_datetime_one = {'type': 'array', 'items': {'type': 'string', 'format': 'date-time'},
                 'maxItems': 1}

index_query: dict[str, Any] = types.query(
    {name: types.multi({'type': 'string'}) for name in (
        'hidden', 'host', 'instance_uuid', 'source_compute', 'status', 'migration_type')},
    strict=False)

# 2.59: paging and changes-since; unknown parameters are a 400 from here on.
index_query_v259 = copy.deepcopy(index_query)
index_query_v259['properties'].update({
    'limit': {'type': 'array', 'items': types.non_negative_integer, 'maxItems': 1},
    'marker': _one,
    'changes-since': _datetime_one,
})
index_query_v259['additionalProperties'] = False

index_query_v266 = copy.deepcopy(index_query_v259)
index_query_v266['properties']['changes-before'] = _datetime_one

index_query_v280 = copy.deepcopy(index_query_v266)
index_query_v280['properties'].update({'user_id': _one, 'project_id': _one})



@dataclass(frozen=True)
class Migrations:
    """What /os-migrations does at one microversion."""

    index_query: Schema
    paging: bool = False     # limit, marker (a migration uuid), changes-since, next links


TABLE = versioned.history(
    Migrations(index_query=index_query),
    ('2.59', {'index_query': index_query_v259, 'paging': True}),
    ('2.66', {'index_query': index_query_v266}),
    ('2.80', {'index_query': index_query_v280}),     # user_id, project_id
)
