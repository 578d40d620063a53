"""Body of POST /reshaper (1.30)."""
import copy
from typing import Any

from minova.placement.schemas import allocation, inventory
from minova.placement.schemas.common import UUID

POST_V1_30: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'inventories': {
            'type': 'object',
            'patternProperties': {UUID['pattern']: copy.deepcopy(inventory.INVENTORIES)},
            'additionalProperties': False,
        },
        'allocations': copy.deepcopy(allocation.POST_V1_28),
    },
    'required': ['inventories', 'allocations'],
    'additionalProperties': False,
}
POST_V1_30['properties']['allocations']['minProperties'] = 0

# 1.34: allocations may carry mappings; 1.38: and need consumer_type.
POST_V1_34 = copy.deepcopy(POST_V1_30)
POST_V1_34['properties']['allocations'] = copy.deepcopy(allocation.POST_V1_34)
POST_V1_34['properties']['allocations']['minProperties'] = 0
POST_V1_38 = copy.deepcopy(POST_V1_30)
POST_V1_38['properties']['allocations'] = copy.deepcopy(allocation.POST_V1_38)
POST_V1_38['properties']['allocations']['minProperties'] = 0

POST: tuple[tuple[str, dict[str, Any]], ...] = (
    ('1.38', POST_V1_38), ('1.34', POST_V1_34), ('1.30', POST_V1_30))
