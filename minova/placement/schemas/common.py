"""Pieces shared by the JSON schemas."""
from typing import Any

UUID: dict[str, Any] = {
    'type': 'string',
    'pattern': r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
               r'[0-9a-fA-F]{12}$'}
RC_NAME: dict[str, Any] = {'type': 'string', 'pattern': '^[A-Z0-9_]+$', 'maxLength': 255}
CUSTOM_NAME: dict[str, Any] = {'type': 'string', 'pattern': '^CUSTOM_[A-Z0-9_]+$',
                               'maxLength': 255}
# Request group suffixes: numbers from 1.25, strings from 1.33.
GROUP_SUFFIX_V1_25 = '[1-9][0-9]*'
GROUP_SUFFIX_V1_33 = '[a-zA-Z0-9_-]{1,64}'
CONSUMER_TYPE: dict[str, Any] = {'type': 'string', 'pattern': '^[A-Z0-9_]+$',
                                 'minLength': 1, 'maxLength': 255}

# Generations and amounts are stored in integer columns; a number no column
# holds is refused here rather than reaching the database (SQLite cannot even
# bind one past 64 bits). Upstream leaves these unbounded and fails in its DB.
MAX_INT = 2147483647
MAX_BIGINT = 2 ** 63 - 1
GENERATION: dict[str, Any] = {'type': 'integer', 'minimum': -MAX_BIGINT - 1,
                              'maximum': MAX_BIGINT}
