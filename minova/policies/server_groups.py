"""Server groups: owned by a project; listing all projects' groups is admin."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, api_rule

SERVER_GROUPS = 'os_compute_api:os-server-groups:%s'

rules: list[policy.RuleDefault] = [
    api_rule(SERVER_GROUPS % 'create', PROJECT_MEMBER_OR_ADMIN, 'Create a new server group',
             [('POST', '/os-server-groups')]),
    api_rule(SERVER_GROUPS % 'delete', PROJECT_MEMBER_OR_ADMIN, 'Delete a server group',
             [('DELETE', '/os-server-groups/{server_group_id}')]),
    api_rule(SERVER_GROUPS % 'index', PROJECT_READER_OR_ADMIN,
             'List all server groups', [('GET', '/os-server-groups')]),
    api_rule(SERVER_GROUPS % 'index:all_projects', ADMIN,
             'List all server groups for all projects', [('GET', '/os-server-groups')]),
    api_rule(SERVER_GROUPS % 'show', PROJECT_READER_OR_ADMIN, 'Show details of a server group',
             [('GET', '/os-server-groups/{server_group_id}')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
