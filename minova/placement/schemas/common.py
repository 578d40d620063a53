"""Pieces shared by the JSON schemas."""
from typing import Any

UUID: dict[str, Any] = {
    'type': 'string',
    'pattern': r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
               r'[0-9a-fA-F]{12}$'}
RC_NAME: dict[str, Any] = {'type': 'string', 'pattern': '^[A-Z0-9_]+$', 'maxLength': 255}
CUSTOM_NAME: dict[str, Any] = {'type': 'string', 'pattern': '^CUSTOM_[A-Z0-9_]+$',
                               'maxLength': 255}
GENERATION: dict[str, Any] = {'type': 'integer'}
