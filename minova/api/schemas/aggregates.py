"""Request schemas of /os-aggregates."""
from __future__ import annotations

from typing import Any

from minova.api.schemas import types

# An AZ name may not hold ':' (it separates az:host:node in a boot request).
az_name: dict[str, Any] = {'type': ['string', 'null'], 'minLength': 1, 'maxLength': 255,
                           'pattern': r'^[^:]*$'}
_name = {'type': 'string', 'minLength': 1, 'maxLength': 255,
         'pattern': r'^(?! )[^\x00-\x1f\x7f]*(?<! )$'}


def _wrap(key: str, props: dict[str, Any], required: list[str],
          min_props: int = 0) -> dict[str, Any]:
    inner: dict[str, Any] = {'type': 'object', 'properties': props,
                             'additionalProperties': False}
    if required:  # draft 4 wants a non-empty list
        inner['required'] = required
    if min_props:
        inner['minProperties'] = min_props
    return {'type': 'object', 'properties': {key: inner}, 'required': [key],
            'additionalProperties': False}


create = _wrap('aggregate', {'name': _name, 'availability_zone': az_name}, ['name'])
update = _wrap('aggregate', {'name': _name, 'availability_zone': az_name}, [], min_props=1)
add_host = _wrap('add_host', {'host': types.fqdn}, ['host'])
remove_host = _wrap('remove_host', {'host': types.fqdn}, ['host'])
set_metadata = _wrap('set_metadata', {'metadata': {
    'type': 'object',
    'patternProperties': {
        '^[a-zA-Z0-9-_:. /]{1,255}$': {'type': ['string', 'null'], 'maxLength': 255},
    },
    'additionalProperties': False,
}}, ['metadata'])
