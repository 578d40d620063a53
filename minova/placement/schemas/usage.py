"""Query string of GET /usages."""
import copy
from typing import Any

_ID: dict[str, Any] = {'type': 'string', 'minLength': 1, 'maxLength': 255}

GET_V1_9: dict[str, Any] = {
    'type': 'object',
    'properties': {'project_id': _ID, 'user_id': _ID},
    'required': ['project_id'],
    'additionalProperties': False,
}

# 1.38: consumer_type, a type's name or `all` or `unknown`.
GET_V1_38 = copy.deepcopy(GET_V1_9)
GET_V1_38['properties']['consumer_type'] = {
    'type': 'string', 'pattern': '^[A-Z0-9_]+$|^all|^unknown$',
    'minLength': 1, 'maxLength': 255}
