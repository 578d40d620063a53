"""Bodies of the inventory routes."""
import copy
from typing import Any

from minova.placement.schemas.common import GENERATION, MAX_INT, RC_NAME

_FIELDS: dict[str, Any] = {
    'total': {'type': 'integer', 'maximum': MAX_INT, 'minimum': 1},
    'reserved': {'type': 'integer', 'maximum': MAX_INT, 'minimum': 0},
    'min_unit': {'type': 'integer', 'maximum': MAX_INT, 'minimum': 1},
    'max_unit': {'type': 'integer', 'maximum': MAX_INT, 'minimum': 1},
    'step_size': {'type': 'integer', 'maximum': MAX_INT, 'minimum': 1},
    'allocation_ratio': {'type': 'number', 'maximum': 3.40282e38, 'exclusiveMinimum': 0},
}

# PUT /resource_providers/{uuid}/inventories/{rc}
INVENTORY: dict[str, Any] = {
    'type': 'object',
    'properties': {'resource_provider_generation': GENERATION, **copy.deepcopy(_FIELDS)},
    'required': ['total', 'resource_provider_generation'],
    'additionalProperties': False,
}

# POST /resource_providers/{uuid}/inventories
POST_INVENTORY: dict[str, Any] = copy.deepcopy(INVENTORY)
POST_INVENTORY['properties']['resource_class'] = RC_NAME
POST_INVENTORY['required'].append('resource_class')

# PUT /resource_providers/{uuid}/inventories
INVENTORIES: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'resource_provider_generation': GENERATION,
        'inventories': {
            'type': 'object',
            'patternProperties': {
                '^[A-Z0-9_]+$': {
                    'type': 'object',
                    'properties': copy.deepcopy(_FIELDS),
                    'required': ['total'],
                    'additionalProperties': False,
                },
            },
            'additionalProperties': False,
        },
    },
    'required': ['resource_provider_generation', 'inventories'],
    'additionalProperties': False,
}
