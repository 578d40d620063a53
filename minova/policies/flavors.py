"""Flavor management, extra specs and access."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, PROJECT_READER_OR_ADMIN, api_rule

MANAGE = 'os_compute_api:os-flavor-manage:%s'
EXTRA_SPECS = 'os_compute_api:os-flavor-extra-specs:%s'
ACCESS = 'os_compute_api:os-flavor-access'
ACCESS_ROOT = 'os_compute_api:os-flavor-access:%s'

_F = '/flavors'
_ONE = '/flavors/{flavor_id}'
_SPECS = _ONE + '/os-extra_specs'

rules: list[policy.RuleDefault] = [
    api_rule(MANAGE % 'create', ADMIN, 'Create a flavor', [('POST', _F)]),
    api_rule(MANAGE % 'update', ADMIN, 'Update a flavor', [('PUT', _ONE)]),
    api_rule(MANAGE % 'delete', ADMIN, 'Delete a flavor', [('DELETE', _ONE)]),
    api_rule(EXTRA_SPECS % 'show', PROJECT_READER_OR_ADMIN, 'Show an extra spec',
             [('GET', _SPECS + '/{key}')]),
    api_rule(EXTRA_SPECS % 'create', ADMIN, 'Create extra specs', [('POST', _SPECS)]),
    api_rule(EXTRA_SPECS % 'update', ADMIN, 'Update an extra spec',
             [('PUT', _SPECS + '/{key}')]),
    api_rule(EXTRA_SPECS % 'delete', ADMIN, 'Delete an extra spec',
             [('DELETE', _SPECS + '/{key}')]),
    api_rule(EXTRA_SPECS % 'index', PROJECT_READER_OR_ADMIN, 'List extra specs',
             [('GET', _SPECS), ('GET', _ONE), ('GET', _F + '/detail')]),
    api_rule(ACCESS_ROOT % 'add_tenant_access', ADMIN, 'Add flavor access to a tenant',
             [('POST', _ONE + '/action (addTenantAccess)')]),
    api_rule(ACCESS_ROOT % 'remove_tenant_access', ADMIN,
             'Remove flavor access from a tenant',
             [('POST', _ONE + '/action (removeTenantAccess)')]),
    api_rule(ACCESS, ADMIN, 'List flavor access information',
             [('GET', _ONE + '/os-flavor-access')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
