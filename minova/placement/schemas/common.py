"""Pieces shared by the JSON schemas."""
from typing import Any

UUID: dict[str, Any] = {
    'type': 'string',
    'pattern': r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
               r'[0-9a-fA-F]{12}$'}
RC_NAME: dict[str, Any] = {'type': 'string', 'pattern': '^[A-Z0-9_]+$', 'maxLength': 255}
CUSTOM_NAME: dict[str, Any] = {'type': 'string', 'pattern': '^CUSTOM_[A-Z0-9_]+$',
                               'maxLength': 255}
# Generations and amounts are stored in integer columns; a number no column
# holds is refused here rather than reaching the database (SQLite cannot even
# bind one past 64 bits). Upstream leaves these unbounded and fails in its DB.
MAX_INT = 2147483647
MAX_BIGINT = 2 ** 63 - 1
GENERATION: dict[str, Any] = {'type': 'integer', 'minimum': -MAX_BIGINT - 1,
                              'maximum': MAX_BIGINT}
