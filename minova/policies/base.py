"""Base rules every other default refers to, as Nova defines them."""
from __future__ import annotations

from oslo_policy import policy

ADMIN = 'rule:context_is_admin'
ADMIN_API = 'rule:admin_api'
PROJECT_MEMBER_OR_ADMIN = 'rule:project_member_or_admin'
PROJECT_READER_OR_ADMIN = 'rule:project_reader_or_admin'
PROJECT_MANAGER_OR_ADMIN = 'rule:project_manager_or_admin'
SERVICE = 'rule:service_api'
ANY = '@'
NOBODY = '!'

rules = [
    policy.RuleDefault('context_is_admin', 'role:admin',
                       'Decides what is required for the is_admin:True check to succeed.'),
    policy.RuleDefault('admin_or_owner', 'is_admin:True or project_id:%(project_id)s',
                       'Default rule for most non-Admin APIs (legacy).'),
    policy.RuleDefault('admin_api', 'is_admin:True', 'Default rule for most Admin APIs.'),
    policy.RuleDefault('project_manager_api', 'role:manager and project_id:%(project_id)s',
                       'Default rule for project-level manager APIs.'),
    policy.RuleDefault('project_member_api', 'role:member and project_id:%(project_id)s',
                       'Default rule for project-level non-admin APIs.'),
    policy.RuleDefault('project_reader_api', 'role:reader and project_id:%(project_id)s',
                       'Default rule for project-level read-only APIs.'),
    policy.RuleDefault('project_manager_or_admin', 'rule:project_manager_api or ' + ADMIN,
                       'Default rule for project manager or admin APIs.'),
    policy.RuleDefault('project_member_or_admin', 'rule:project_member_api or ' + ADMIN,
                       'Default rule for project member or admin APIs.'),
    policy.RuleDefault('project_reader_or_admin', 'rule:project_reader_api or ' + ADMIN,
                       'Default rule for project reader or admin APIs.'),
    policy.RuleDefault('service_api', 'role:service', 'Default rule for service-to-service APIs.'),
    policy.RuleDefault('service_or_admin', 'rule:service_api or ' + ADMIN,
                       'Default rule for service-to-service or admin APIs.'),
]


def api_rule(name: str, check_str: str, description: str,
             operations: list[tuple[str, str]]) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{'method': m, 'path': p} for m, p in operations],
        scope_types=['project'])


def list_rules() -> list[policy.RuleDefault]:
    return rules
