"""Key pairs: each user's own, or anybody's for an admin."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, api_rule

KEYPAIRS = 'os_compute_api:os-keypairs:%s'
_OWNER = '(' + ADMIN + ') or user_id:%(user_id)s'

rules: list[policy.RuleDefault] = [
    api_rule(KEYPAIRS % 'index', _OWNER, 'List all keypairs', [('GET', '/os-keypairs')]),
    api_rule(KEYPAIRS % 'create', _OWNER, 'Create a keypair', [('POST', '/os-keypairs')]),
    api_rule(KEYPAIRS % 'delete', _OWNER, 'Delete a keypair',
             [('DELETE', '/os-keypairs/{keypair_name}')]),
    api_rule(KEYPAIRS % 'show', _OWNER, 'Show details of a keypair',
             [('GET', '/os-keypairs/{keypair_name}')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
