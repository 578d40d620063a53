"""Usage reports: os-simple-tenant-usage and os-instance_usage_audit_log."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, PROJECT_READER_OR_ADMIN, api_rule

USAGE = 'os_compute_api:os-simple-tenant-usage:%s'
AUDIT_LOG = 'os_compute_api:os-instance-usage-audit-log:%s'

rules: list[policy.RuleDefault] = [
    api_rule(USAGE % 'show', PROJECT_READER_OR_ADMIN,
             "Show one project's usage in a period",
             [('GET', '/os-simple-tenant-usage/{tenant_id}')]),
    api_rule(USAGE % 'list', ADMIN, "List every project's usage in a period",
             [('GET', '/os-simple-tenant-usage')]),
    api_rule(AUDIT_LOG % 'list', ADMIN,
             'Show the instance usage audit of the last completed period',
             [('GET', '/os-instance_usage_audit_log')]),
    api_rule(AUDIT_LOG % 'show', ADMIN,
             'Show the instance usage audit of the period completed before a time',
             [('GET', '/os-instance_usage_audit_log/{before_timestamp}')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
