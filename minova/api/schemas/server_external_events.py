"""Request schemas of POST /os-server-external-events per microversion (CREATE):
each adds an event name."""
from __future__ import annotations

import copy
from typing import Any

STATUSES = ['failed', 'completed', 'in-progress']
TAG_REQUIRED = ('volume-extended', 'power-update', 'accelerator-request-bound')

create: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'events': {
            'type': 'array', 'minItems': 1,
            'items': {
                'type': 'object',
                'properties': {
                    'name': {'type': 'string', 'enum': [
                        'network-changed', 'network-vif-plugged', 'network-vif-unplugged',
                        'network-vif-deleted']},
                    'server_uuid': {'type': 'string', 'format': 'uuid'},
                    'status': {'type': 'string', 'enum': STATUSES},
                    'tag': {'type': 'string', 'maxLength': 255},
                },
                'required': ['name', 'server_uuid'],
                'additionalProperties': False,
            },
        },
    },
    'required': ['events'],
    'additionalProperties': False,
}


def _with_event(schema: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out['properties']['events']['items']['properties']['name']['enum'].append(name)
    return out


create_v251 = _with_event(create, 'volume-extended')
create_v276 = _with_event(create_v251, 'power-update')
create_v282 = _with_event(create_v276, 'accelerator-request-bound')
create_v293 = _with_event(create_v282, 'volume-reimaged')
CREATE = [('2.1', create), ('2.51', create_v251), ('2.76', create_v276),
          ('2.82', create_v282), ('2.93', create_v293)]
