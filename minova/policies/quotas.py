"""Limits and quota sets."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, ANY, PROJECT_READER_OR_ADMIN, api_rule

LIMITS = 'os_compute_api:limits'
LIMITS_OTHER_PROJECT = 'os_compute_api:limits:other_project'
QUOTA_SETS = 'os_compute_api:os-quota-sets:%s'
QUOTA_CLASS_SETS = 'os_compute_api:os-quota-class-sets:%s'

_Q = '/os-quota-sets/{tenant_id}'

rules: list[policy.RuleDefault] = [
    api_rule(LIMITS, ANY, 'Show rate and absolute limits for the current user project',
             [('GET', '/limits')]),
    api_rule(LIMITS_OTHER_PROJECT, ADMIN,
             'Show rate and absolute limits of another project', [('GET', '/limits')]),
    api_rule(QUOTA_SETS % 'update', ADMIN, 'Update the quotas', [('PUT', _Q)]),
    api_rule(QUOTA_SETS % 'defaults', ANY, 'List default quotas', [('GET', _Q + '/defaults')]),
    api_rule(QUOTA_SETS % 'show', PROJECT_READER_OR_ADMIN, 'Show a quota', [('GET', _Q)]),
    api_rule(QUOTA_SETS % 'delete', ADMIN, 'Revert quotas to defaults', [('DELETE', _Q)]),
    api_rule(QUOTA_SETS % 'detail', PROJECT_READER_OR_ADMIN, 'Show the detail of quota',
             [('GET', _Q + '/detail')]),
    api_rule(QUOTA_CLASS_SETS % 'show', ADMIN, 'Show the limits of a quota class',
             [('GET', '/os-quota-class-sets/{quota_class}')]),
    api_rule(QUOTA_CLASS_SETS % 'update', ADMIN, 'Set the limits of a quota class',
             [('PUT', '/os-quota-class-sets/{quota_class}')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
