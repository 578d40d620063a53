"""Request schemas of /flavors, its extra specs and access actions, and the
family's version table (TABLE)."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema

SORT_KEYS = ['created_at', 'description', 'disabled', 'ephemeral_gb', 'flavorid', 'id',
             'is_public', 'memory_mb', 'name', 'root_gb', 'rxtx_factor', 'swap',
             'updated_at', 'vcpu_weight', 'vcpus']

create: Schema = {
    'type': 'object',
    'properties': {
        'flavor': {
            'type': 'object',
            'properties': {
                'name': types.name,
                'id': {'type': ['string', 'number', 'null'], 'minLength': 1,
                       'maxLength': 255, 'pattern': '^(?! )[a-zA-Z0-9. _-]+(?<! )$'},
                'ram': types.flavor_param_positive,
                'vcpus': types.flavor_param_positive,
                'disk': types.flavor_param_non_negative,
                'OS-FLV-EXT-DATA:ephemeral': types.flavor_param_non_negative,
                'swap': types.flavor_param_non_negative,
                'rxtx_factor': {'type': ['number', 'string'],
                                'pattern': r'^[0-9]+(\.[0-9]+)?$',
                                'minimum': 0, 'exclusiveMinimum': True,
                                'maximum': 3.40282e+38},
                'os-flavor-access:is_public': types.boolean,
            },
            'required': ['name', 'ram', 'vcpus', 'disk'],
            'additionalProperties': False,
        },
    },
    'required': ['flavor'],
    'additionalProperties': False,
}

_description = {'type': ['string', 'null'], 'minLength': 0, 'maxLength': 65535,
                'pattern': r'^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$'}

create_v255 = copy.deepcopy(create)
create_v255['properties']['flavor']['properties']['description'] = _description

create_v2102 = copy.deepcopy(create_v255)
del create_v2102['properties']['flavor']['properties']['rxtx_factor']

update: Schema = {
    'type': 'object',
    'properties': {
        'flavor': {
            'type': 'object',
            'properties': {'description': _description},
            'required': ['description'],
            'additionalProperties': False,
        },
    },
    'required': ['flavor'],
    'additionalProperties': False,
}

_index_props: dict[str, Any] = {
    'limit': types.multi(types.non_negative_integer),
    'marker': types.multi({'type': 'string'}),
    'is_public': types.multi({'type': 'string'}),
    'minRam': types.multi({'type': 'string'}),
    'minDisk': types.multi({'type': 'string'}),
    'sort_key': types.multi({'type': 'string', 'enum': SORT_KEYS}),
    'sort_dir': types.multi({'type': 'string', 'enum': ['asc', 'desc']}),
}
index_query = types.query(_index_props, strict=False)
index_query_v275 = types.query(_index_props, strict=True)
index_query_v2102 = copy.deepcopy(index_query_v275)
index_query_v2102['properties']['name'] = types.multi({'type': 'string'})
index_query_v2102['properties']['sort_key']['items']['enum'] = [
    k for k in SORT_KEYS if k != 'rxtx_factor']

show_query = types.query({}, strict=False)
show_query_v2102 = types.query({}, strict=True)

_spec_key = '^[a-zA-Z0-9-_:. ]{1,255}$'
_spec_value = {'type': ['string', 'number', 'boolean'], 'minLength': 0, 'maxLength': 255}

extra_specs_create = {
    'type': 'object',
    'properties': {
        'extra_specs': {
            'type': 'object',
            'patternProperties': {_spec_key: _spec_value},
            'additionalProperties': False,
        },
    },
    'required': ['extra_specs'],
    'additionalProperties': False,
}

extra_spec_update = {
    'type': 'object',
    'patternProperties': {_spec_key: _spec_value},
    'minProperties': 1,
    'maxProperties': 1,
    'additionalProperties': False,
}

_tenant = {'type': 'object',
           'properties': {'tenant': {'type': 'string', 'minLength': 1, 'maxLength': 255}},
           'required': ['tenant'], 'additionalProperties': False}

access_action = {
    'type': 'object',
    'properties': {'addTenantAccess': _tenant, 'removeTenantAccess': _tenant},
    'minProperties': 1, 'maxProperties': 1,
    'additionalProperties': False,
}


@dataclass(frozen=True)
class Flavors:
    """What /flavors does at one microversion."""

    create: Schema
    update: Schema | None        # PUT /flavors/{id}; None: no such method (404)
    index_query: Schema
    show_query: Schema
    public_access_conflict: bool = False   # adding access to a public flavor is a 409
    name_filter: bool = False


TABLE = versioned.history(
    Flavors(create=create, update=None, index_query=index_query, show_query=show_query),
    ('2.7', {'public_access_conflict': True}),
    ('2.55', {'create': create_v255, 'update': update}),        # description
    ('2.75', {'index_query': index_query_v275}),
    ('2.102', {'create': create_v2102, 'index_query': index_query_v2102,
               'show_query': show_query_v2102, 'name_filter': True}),   # no rxtx_factor
)
