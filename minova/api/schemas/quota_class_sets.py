"""Request schemas of /os-quota-class-sets and the family's version table (TABLE)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from minova import quota
from minova.api import versioned
from minova.api.schemas import types
from minova.api.schemas.quota_sets import LEGACY_V236, LEGACY_V257, LIMIT_SCHEMA
from minova.api.versioned import Schema

SERVER_GROUPS = ('server_groups', 'server_group_members')
_ALL = [*quota.RESOURCES, *LEGACY_V236, *LEGACY_V257]


@dataclass(frozen=True)
class QuotaClassSets:
    """What /os-quota-class-sets does at one microversion."""

    resources: tuple[str, ...]    # what a class shows and takes
    show_query: Schema

    @functools.cached_property
    def update(self) -> Schema:
        # Before 2.50 the schema takes server group limits it does not show, as Nova's.
        names = [*self.resources, *(r for r in SERVER_GROUPS if r not in self.resources)]
        return {'type': 'object',
                'properties': {'quota_class_set': {
                    'type': 'object', 'properties': dict.fromkeys(names, LIMIT_SCHEMA),
                    'additionalProperties': False}},
                'required': ['quota_class_set'], 'additionalProperties': False}


TABLE = versioned.history(
    QuotaClassSets(resources=tuple(r for r in _ALL if r not in SERVER_GROUPS),
                   show_query=types.query({}, strict=False)),
    ('2.50', {'resources': tuple(r for r in _ALL if r not in LEGACY_V236)}),
    ('2.57', {'resources': tuple(r for r in _ALL
                                 if r not in LEGACY_V236 and r not in LEGACY_V257)}),
    ('2.102', {'show_query': types.query({}, strict=True)}),
)
