"""Host aggregates: administrators only, as in Nova (index is in admin.py)."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.admin import AGGREGATES
from minova.policies.base import ADMIN, api_rule

_A = '/os-aggregates/{aggregate_id}'

rules: list[policy.RuleDefault] = [
    api_rule(AGGREGATES % 'create', ADMIN, 'Create an aggregate', [('POST', '/os-aggregates')]),
    api_rule(AGGREGATES % 'show', ADMIN, 'Show details for an aggregate', [('GET', _A)]),
    api_rule(AGGREGATES % 'update', ADMIN, 'Update name and/or availability zone of an '
             'aggregate', [('PUT', _A)]),
    api_rule(AGGREGATES % 'delete', ADMIN, 'Delete an aggregate', [('DELETE', _A)]),
    api_rule(AGGREGATES % 'add_host', ADMIN, 'Add a host to an aggregate',
             [('POST', _A + '/action (add_host)')]),
    api_rule(AGGREGATES % 'remove_host', ADMIN, 'Remove a host from an aggregate',
             [('POST', _A + '/action (remove_host)')]),
    api_rule(AGGREGATES % 'set_metadata', ADMIN, 'Create or replace metadata for an '
             'aggregate', [('POST', _A + '/action (set_metadata)')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
