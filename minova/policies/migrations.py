"""GET /os-migrations, with Nova's rule names and defaults."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, PROJECT_MANAGER_OR_ADMIN, api_rule

MIGRATIONS = 'os_compute_api:os-migrations:%s'

_M = [('GET', '/os-migrations')]

rules: list[policy.RuleDefault] = [
    api_rule(MIGRATIONS % 'index', PROJECT_MANAGER_OR_ADMIN,
             'List migrations (host fields null without index:host)', _M),
    api_rule(MIGRATIONS % 'index:all_projects', ADMIN,
             "List other projects' or all projects' migrations", _M),
    api_rule(MIGRATIONS % 'index:host', ADMIN, 'Show the host fields of migrations', _M),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
