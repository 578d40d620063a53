"""Request schemas of /os-keypairs and the family's version table (TABLE)."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema

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


_user = {'user_id': types.multi({'type': 'string'})}
_paging = {'limit': types.multi(types.non_negative_integer),
           'marker': types.multi({'type': 'string'})}

index_query = types.query({}, strict=False)
index_query_v210 = types.query(dict(_user), strict=False)
index_query_v235 = types.query(dict(_user, **_paging), strict=False)
index_query_v275 = types.query(dict(_user, **_paging), strict=True)

show_query = types.query({}, strict=False)
show_query_v210 = types.query(dict(_user), strict=False)
show_query_v275 = types.query(dict(_user), strict=True)


@dataclass(frozen=True)
class Keypairs:
    """What /os-keypairs does at one microversion."""

    create: Schema
    index_query: Schema
    show_query: Schema
    create_status: int = 200
    delete_status: int = 202
    other_users: bool = False    # admins name another user's pairs (user_id)
    paging: bool = False


TABLE = versioned.history(
    Keypairs(create=create, index_query=index_query, show_query=show_query),
    ('2.2', {'create': create_v22, 'create_status': 201, 'delete_status': 204}),
    ('2.10', {'create': create_v210, 'index_query': index_query_v210,
              'show_query': show_query_v210, 'other_users': True}),
    ('2.35', {'index_query': index_query_v235, 'paging': True}),
    ('2.75', {'index_query': index_query_v275, 'show_query': show_query_v275}),
    ('2.92', {'create': create_v292}),     # no generated keys; '@' and '.' in names
)
