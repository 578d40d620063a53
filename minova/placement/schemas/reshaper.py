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
