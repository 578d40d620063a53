"""Request schemas of /os-keypairs."""
from __future__ import annotations

import copy
from typing import Any

from minova.api.schemas import types

_name = {'type': 'string', 'minLength': 1, 'maxLength': 255,
         'pattern': '^[a-zA-Z0-9 _-]+$'}

create: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'keypair': {
            'type': 'object',
            'properties': {'name': _name, 'public_key': {'type': 'string'}},
            'required': ['name'],
            'additionalProperties': False,
        },
    },
    'required': ['keypair'],
    'additionalProperties': False,
}

create_v22 = copy.deepcopy(create)
create_v22['properties']['keypair']['properties']['type'] = {
    'type': 'string', 'enum': ['ssh', 'x509']}

create_v210 = copy.deepcopy(create_v22)
create_v210['properties']['keypair']['properties']['user_id'] = {'type': 'string'}

create_v292 = copy.deepcopy(create_v210)
create_v292['properties']['keypair']['properties']['name'] = dict(
    _name, pattern=r'^[a-zA-Z0-9 @._-]+$')
create_v292['properties']['keypair']['required'] = ['name', 'public_key']

CREATE = [('2.92', create_v292), ('2.10', create_v210), ('2.2', create_v22),
          ('2.1', create)]

_user = {'user_id': types.multi({'type': 'string'})}
_paging = {'limit': types.multi(types.non_negative_integer),
           'marker': types.multi({'type': 'string'})}

index_query = types.query({}, strict=False)
index_query_v210 = types.query(dict(_user), strict=False)
index_query_v235 = types.query(dict(_user, **_paging), strict=False)
index_query_v275 = types.query(dict(_user, **_paging), strict=True)
INDEX_QUERY = [('2.75', index_query_v275), ('2.35', index_query_v235),
               ('2.10', index_query_v210), ('2.1', index_query)]

show_query = types.query({}, strict=False)
show_query_v210 = types.query(dict(_user), strict=False)
show_query_v275 = types.query(dict(_user), strict=True)
SHOW_QUERY = [('2.75', show_query_v275), ('2.10', show_query_v210), ('2.1', show_query)]
