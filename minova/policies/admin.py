"""Services, hypervisors and availability zones."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, ANY, api_rule

SERVICES = 'os_compute_api:os-services:%s'
HYPERVISORS = 'os_compute_api:os-hypervisors:%s'
AZ = 'os_compute_api:os-availability-zone:%s'
AGGREGATES = 'os_compute_api:os-aggregates:%s'

_H = '/os-hypervisors'

rules: list[policy.RuleDefault] = [
    api_rule(SERVICES % 'list', ADMIN, 'List all running Compute services',
             [('GET', '/os-services')]),
    api_rule(SERVICES % 'update', ADMIN, 'Update a Compute service',
             [('PUT', '/os-services/{service_id}')]),
    api_rule(SERVICES % 'delete', ADMIN, 'Delete a Compute service',
             [('DELETE', '/os-services/{service_id}')]),
    api_rule(HYPERVISORS % 'list', ADMIN, 'List all hypervisors', [('GET', _H)]),
    api_rule(HYPERVISORS % 'list-detail', ADMIN, 'List all hypervisors with details',
             [('GET', _H + '/detail')]),
    api_rule(HYPERVISORS % 'statistics', ADMIN, 'Show summary statistics of hypervisors',
             [('GET', _H + '/statistics')]),
    api_rule(HYPERVISORS % 'show', ADMIN, 'Show details of a hypervisor',
             [('GET', _H + '/{hypervisor_id}')]),
    api_rule(HYPERVISORS % 'uptime', ADMIN, 'Show the uptime of a hypervisor',
             [('GET', _H + '/{hypervisor_id}/uptime')]),
    api_rule(HYPERVISORS % 'search', ADMIN, 'Search hypervisors by hostname pattern',
             [('GET', _H + '/{hypervisor_hostname_pattern}/search')]),
    api_rule(HYPERVISORS % 'servers', ADMIN, 'List servers on hypervisors',
             [('GET', _H + '/{hypervisor_hostname_pattern}/servers')]),
    api_rule(AGGREGATES % 'index', ADMIN, 'List all aggregates',
             [('GET', '/os-aggregates')]),
    api_rule(AZ % 'list', ANY, 'List availability zone information without host details',
             [('GET', '/os-availability-zone')]),
    api_rule(AZ % 'detail', ADMIN, 'List detailed availability zone information with hosts',
             [('GET', '/os-availability-zone/detail')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
