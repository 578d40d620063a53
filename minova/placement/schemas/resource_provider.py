"""Bodies of POST /resource_providers and PUT /resource_providers/{uuid}."""
import copy
from typing import Any

from minova.placement.schemas.common import UUID

POST_V1_0: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'name': {'type': 'string', 'minLength': 1, 'maxLength': 200},
        'uuid': UUID,
    },
    'required': ['name'],
    'additionalProperties': False,
}
# 1.14: nested providers.
POST_V1_14 = copy.deepcopy(POST_V1_0)
POST_V1_14['properties']['parent_provider_uuid'] = {'anyOf': [UUID, {'type': 'null'}]}

PUT_V1_0: dict[str, Any] = copy.deepcopy(POST_V1_0)
del PUT_V1_0['properties']['uuid']
PUT_V1_14 = copy.deepcopy(PUT_V1_0)
PUT_V1_14['properties']['parent_provider_uuid'] = {'anyOf': [UUID, {'type': 'null'}]}
