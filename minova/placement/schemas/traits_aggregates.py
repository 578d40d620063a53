"""Bodies of the trait, aggregate and resource class routes."""
import copy
from typing import Any

from minova.placement.schemas.common import CUSTOM_NAME, GENERATION, UUID

# PUT /resource_providers/{uuid}/traits
PROVIDER_TRAITS: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'traits': {'type': 'array', 'items': {'type': 'string', 'pattern': '^[A-Z0-9_]+$'},
                   'uniqueItems': True},
        'resource_provider_generation': GENERATION,
    },
    'required': ['traits', 'resource_provider_generation'],
    'additionalProperties': False,
}

# PUT /resource_providers/{uuid}/aggregates: 1.1 a bare list of uuids.
AGGREGATES_V1_1: dict[str, Any] = {'type': 'array', 'items': UUID, 'uniqueItems': True}
# 1.19: an object with the provider generation.
AGGREGATES_V1_19: dict[str, Any] = {
    'type': 'object',
    'properties': {'aggregates': copy.deepcopy(AGGREGATES_V1_1),
                   'resource_provider_generation': GENERATION},
    'required': ['aggregates', 'resource_provider_generation'],
    'additionalProperties': False,
}

# POST /resource_classes
RESOURCE_CLASS: dict[str, Any] = {
    'type': 'object',
    'properties': {'name': CUSTOM_NAME},
    'required': ['name'],
    'additionalProperties': False,
}
