"""Bodies of PUT /allocations/{consumer_uuid} and POST /allocations."""
import copy
from typing import Any

from minova.placement.schemas.common import (
    CONSUMER_TYPE,
    GENERATION,
    GROUP_SUFFIX_V1_33,
    MAX_INT,
    UUID,
)

_RESOURCES: dict[str, Any] = {
    'type': 'object',
    'minProperties': 1,
    'patternProperties': {'^[A-Z0-9_]+$': {'type': 'integer', 'minimum': 1,
                                           'maximum': MAX_INT}},
    'additionalProperties': False,
}

# 1.0: a list of {resource_provider: {uuid}, resources}.
PUT_V1_0: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'allocations': {
            'type': 'array',
            'minItems': 1,
            'items': {
                'type': 'object',
                'properties': {
                    'resource_provider': {
                        'type': 'object',
                        'properties': {'uuid': UUID},
                        'required': ['uuid'],
                        'additionalProperties': False,
                    },
                    'resources': _RESOURCES,
                },
                'required': ['resource_provider', 'resources'],
                'additionalProperties': False,
            },
        },
        'project_id': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'user_id': {'type': 'string', 'minLength': 1, 'maxLength': 255},
    },
    'required': ['allocations'],
    'additionalProperties': False,
}

# 1.8: project_id and user_id are required.
PUT_V1_8 = copy.deepcopy(PUT_V1_0)
PUT_V1_8['required'] = ['allocations', 'project_id', 'user_id']

# 1.12: allocations is a dict keyed by provider uuid.
PUT_V1_12 = copy.deepcopy(PUT_V1_8)
PUT_V1_12['properties']['allocations'] = {
    'type': 'object',
    'minProperties': 1,
    'patternProperties': {
        UUID['pattern']: {
            'type': 'object',
            'properties': {'generation': GENERATION, 'resources': _RESOURCES},
            'required': ['resources'],
            'additionalProperties': False,
        },
    },
    'additionalProperties': False,
}

# 1.28: consumer_generation is required; empty allocations delete.
PUT_V1_28 = copy.deepcopy(PUT_V1_12)
PUT_V1_28['properties']['allocations']['minProperties'] = 0
PUT_V1_28['properties']['consumer_generation'] = {**GENERATION, 'type': ['integer', 'null']}
PUT_V1_28['required'].append('consumer_generation')


def _post(put: dict[str, Any]) -> dict[str, Any]:
    entry = copy.deepcopy(put)
    return {'type': 'object', 'minProperties': 1,
            'patternProperties': {UUID['pattern']: entry}, 'additionalProperties': False}


# 1.13: POST /allocations, a dict of consumer uuid -> PUT body (dict form).
POST_V1_13 = _post(PUT_V1_12)
POST_V1_13['patternProperties'][UUID['pattern']]['properties']['allocations'][
    'minProperties'] = 0
POST_V1_28 = _post(PUT_V1_28)


# 1.34: `mappings` (as allocation candidates give them) may come along; they
# are not kept.
MAPPINGS: dict[str, Any] = {
    'type': 'object',
    'minProperties': 1,
    'patternProperties': {
        # Unanchored, as upstream's: any key goes, and a value is a list
        # of provider uuids.
        GROUP_SUFFIX_V1_33: {'type': 'array', 'minItems': 1,
                             'items': {'type': 'string', 'format': 'uuid'}},
    },
}
PUT_V1_34 = copy.deepcopy(PUT_V1_28)
PUT_V1_34['properties']['mappings'] = MAPPINGS
POST_V1_34 = _post(PUT_V1_34)

# 1.38: consumer_type is required.
PUT_V1_38 = copy.deepcopy(PUT_V1_34)
PUT_V1_38['properties']['consumer_type'] = CONSUMER_TYPE
PUT_V1_38['required'].append('consumer_type')
POST_V1_38 = _post(PUT_V1_38)

PUT: tuple[tuple[str, dict[str, Any]], ...] = (
    ('1.38', PUT_V1_38), ('1.34', PUT_V1_34), ('1.28', PUT_V1_28), ('1.12', PUT_V1_12),
    ('1.8', PUT_V1_8), ('1.0', PUT_V1_0))
POST: tuple[tuple[str, dict[str, Any]], ...] = (
    ('1.38', POST_V1_38), ('1.34', POST_V1_34), ('1.28', POST_V1_28),
    ('1.13', POST_V1_13))
