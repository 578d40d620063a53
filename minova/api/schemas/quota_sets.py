"""Request schemas of /os-quota-sets and the family's version table (TABLE)."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minova import quota
from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema

# Resources shown before 2.57 / 2.36 that mini-Nova does not count, with the
# limits Nova shows for them.
LEGACY_V257 = {'injected_file_content_bytes': 10240, 'injected_file_path_bytes': 255,
               'injected_files': 5}
LEGACY_V236 = {'fixed_ips': -1, 'floating_ips': -1, 'security_group_rules': -1,
               'security_groups': -1}

LIMIT_SCHEMA = {'type': ['integer', 'string'], 'pattern': '^-?[0-9]+$', 'minimum': -1,
                'maximum': types.MAX_INT}

query = types.query({'user_id': types.multi({'type': 'string'})}, strict=False)
query_v275 = types.query({'user_id': types.multi({'type': 'string'})}, strict=True)


@dataclass(frozen=True)
class QuotaSets:
    """What /os-quota-sets does at one microversion."""

    query: Schema
    legacy: Mapping[str, int]    # resources shown with fixed limits (legacy ones)

    @functools.cached_property
    def update(self) -> Schema:
        props: dict[str, Any] = {n: LIMIT_SCHEMA for n in [*quota.RESOURCES, *self.legacy]}
        props['force'] = types.boolean
        return {'type': 'object',
                'properties': {'quota_set': {'type': 'object', 'properties': props,
                                             'additionalProperties': False}},
                'required': ['quota_set'], 'additionalProperties': False}


TABLE = versioned.history(
    QuotaSets(query=query, legacy={**LEGACY_V257, **LEGACY_V236}),
    ('2.36', {'legacy': LEGACY_V257}),      # no network resources
    ('2.57', {'legacy': {}}),               # no injected files
    ('2.75', {'query': query_v275}),
)
