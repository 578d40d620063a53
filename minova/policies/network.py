"""os-interface and the security group actions, with Nova's rule names and defaults."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, api_rule

INTERFACES = 'os_compute_api:os-attach-interfaces:%s'
SECURITY_GROUPS = 'os_compute_api:os-security-groups:%s'
FLOATING_IPS = 'os_compute_api:os-floating-ips:%s'

_IF = '/servers/{server_id}/os-interface'
_ACTION = '/servers/{server_id}/action'

rules: list[policy.RuleDefault] = [
    api_rule(INTERFACES % 'list', PROJECT_READER_OR_ADMIN,
             'List port interfaces attached to a server', [('GET', _IF)]),
    api_rule(INTERFACES % 'show', PROJECT_READER_OR_ADMIN,
             'Show details of a port interface attached to a server',
             [('GET', _IF + '/{port_id}')]),
    api_rule(INTERFACES % 'create', PROJECT_MEMBER_OR_ADMIN,
             'Attach an interface to a server', [('POST', _IF)]),
    api_rule(INTERFACES % 'delete', PROJECT_MEMBER_OR_ADMIN,
             'Detach an interface from a server', [('DELETE', _IF + '/{port_id}')]),
    api_rule(SECURITY_GROUPS % 'list', PROJECT_READER_OR_ADMIN,
             'List security groups of server.',
             [('GET', '/servers/{server_id}/os-security-groups')]),
    api_rule(SECURITY_GROUPS % 'add', PROJECT_MEMBER_OR_ADMIN,
             'Add security groups to server', [('POST', _ACTION + ' (addSecurityGroup)')]),
    api_rule(SECURITY_GROUPS % 'remove', PROJECT_MEMBER_OR_ADMIN,
             'Remove security groups from server',
             [('POST', _ACTION + ' (removeSecurityGroup)')]),
    # the deprecated os-security-groups proxy (minova/api/handlers/security_groups.py)
    api_rule(SECURITY_GROUPS % 'get', PROJECT_READER_OR_ADMIN,
             'List security groups. This API is deprecated.',
             [('GET', '/os-security-groups')]),
    api_rule(SECURITY_GROUPS % 'show', PROJECT_READER_OR_ADMIN,
             'Show security group. This API is deprecated.',
             [('GET', '/os-security-groups/{security_group_id}')]),
    api_rule(SECURITY_GROUPS % 'create', PROJECT_MEMBER_OR_ADMIN,
             'Create security group. This API is deprecated.',
             [('POST', '/os-security-groups')]),
    api_rule(SECURITY_GROUPS % 'update', PROJECT_MEMBER_OR_ADMIN,
             'Update security group. This API is deprecated.',
             [('PUT', '/os-security-groups/{security_group_id}')]),
    api_rule(SECURITY_GROUPS % 'delete', PROJECT_MEMBER_OR_ADMIN,
             'Delete security group. This API is deprecated.',
             [('DELETE', '/os-security-groups/{security_group_id}')]),
    api_rule(SECURITY_GROUPS % 'rule:create', PROJECT_MEMBER_OR_ADMIN,
             'Create security group Rule. This API is deprecated.',
             [('POST', '/os-security-group-rules')]),
    api_rule(SECURITY_GROUPS % 'rule:delete', PROJECT_MEMBER_OR_ADMIN,
             'Delete security group Rule. This API is deprecated.',
             [('DELETE', '/os-security-group-rules/{security_group_id}')]),
    # floating IPs (minova/api/handlers/floating_ips.py)
    api_rule(FLOATING_IPS % 'add', PROJECT_MEMBER_OR_ADMIN,
             'Associate floating IPs to server. This API is deprecated.',
             [('POST', _ACTION + ' (addFloatingIp)')]),
    api_rule(FLOATING_IPS % 'remove', PROJECT_MEMBER_OR_ADMIN,
             'Disassociate floating IPs to server. This API is deprecated.',
             [('POST', _ACTION + ' (removeFloatingIp)')]),
    api_rule(FLOATING_IPS % 'list', PROJECT_READER_OR_ADMIN,
             'List floating IPs. This API is deprecated.', [('GET', '/os-floating-ips')]),
    api_rule(FLOATING_IPS % 'create', PROJECT_MEMBER_OR_ADMIN,
             'Create floating IPs. This API is deprecated.', [('POST', '/os-floating-ips')]),
    api_rule(FLOATING_IPS % 'show', PROJECT_READER_OR_ADMIN,
             'Show floating IPs. This API is deprecated.',
             [('GET', '/os-floating-ips/{floating_ip_id}')]),
    api_rule(FLOATING_IPS % 'delete', PROJECT_MEMBER_OR_ADMIN,
             'Delete floating IPs. This API is deprecated.',
             [('DELETE', '/os-floating-ips/{floating_ip_id}')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
