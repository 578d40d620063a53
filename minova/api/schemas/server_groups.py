"""Request schemas of /os-server-groups and the family's version table (TABLE)."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema

_name = {'type': 'string', 'minLength': 1, 'maxLength': 255,
         'pattern': r'^(?! )[^\x00-\x1f\x7f]*(?<! )$'}
HARD = ['anti-affinity', 'affinity']
SOFT = ['soft-anti-affinity', 'soft-affinity']

create: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'server_group': {
            'type': 'object',
            'properties': {
                'name': _name,
                'policies': {'type': 'array', 'items': [{'type': 'string', 'enum': HARD}],
                             'uniqueItems': True, 'minItems': 1, 'maxItems': 1,
                             'additionalItems': False},
            },
            'required': ['name', 'policies'],
            'additionalProperties': False,
        },
    },
    'required': ['server_group'],
    'additionalProperties': False,
}

# 2.15: the soft policies.
create_v215 = copy.deepcopy(create)
create_v215['properties']['server_group']['properties']['policies']['items'] = [
    {'type': 'string', 'enum': HARD + SOFT}]

# 2.64: one `policy` and its `rules` replace the `policies` list.
create_v264 = copy.deepcopy(create_v215)
_g = create_v264['properties']['server_group']
del _g['properties']['policies']
_g['properties']['policy'] = {'type': 'string', 'enum': HARD + SOFT}
_g['properties']['rules'] = {
    'type': 'object',
    'properties': {'max_server_per_host': types.positive_integer},
    'additionalProperties': False,
}
_g['required'] = ['name', 'policy']

_index = {'all_projects': types.multi(types.boolean),
          'limit': types.multi(types.non_negative_integer),
          'offset': types.multi(types.non_negative_integer)}
index_query = types.query(_index, strict=False)
index_query_v275 = types.query(_index, strict=True)


@dataclass(frozen=True)
class ServerGroups:
    """What /os-server-groups does at one microversion."""

    create: Schema
    index_query: Schema


TABLE = versioned.history(
    ServerGroups(create=create, index_query=index_query),
    ('2.15', {'create': create_v215}),     # soft policies
    ('2.64', {'create': create_v264}),     # policy and rules
    ('2.75', {'index_query': index_query_v275}),
)
