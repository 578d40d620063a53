"""Nova's deprecated APIs mini-Nova still serves: os-hosts, os-networks, extensions."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, ANY, PROJECT_READER_OR_ADMIN, api_rule

HOSTS = 'os_compute_api:os-hosts:%s'
NETWORKS = 'os_compute_api:os-networks:%s'
EXTENSIONS = 'os_compute_api:extensions'

_H = '/os-hosts/{host_name}'

rules: list[policy.RuleDefault] = [
    api_rule(HOSTS % 'list', ADMIN, 'List hosts (deprecated)', [('GET', '/os-hosts')]),
    api_rule(HOSTS % 'show', ADMIN, "Show a host's resources (deprecated)", [('GET', _H)]),
    api_rule(HOSTS % 'update', ADMIN, 'Enable a host or set its maintenance mode '
             '(deprecated)', [('PUT', _H)]),
    api_rule(HOSTS % 'reboot', ADMIN, 'Reboot a host (deprecated)',
             [('GET', _H + '/reboot')]),
    api_rule(HOSTS % 'shutdown', ADMIN, 'Shut a host down (deprecated)',
             [('GET', _H + '/shutdown')]),
    api_rule(HOSTS % 'start', ADMIN, 'Start a host (deprecated)',
             [('GET', _H + '/startup')]),
    api_rule(NETWORKS % 'list', PROJECT_READER_OR_ADMIN, 'List networks (deprecated proxy)',
             [('GET', '/os-networks')]),
    api_rule(NETWORKS % 'show', PROJECT_READER_OR_ADMIN, 'Show a network (deprecated proxy)',
             [('GET', '/os-networks/{network_id}')]),
    api_rule(EXTENSIONS, ANY, 'List the API extensions, or show one by alias',
             [('GET', '/extensions'), ('GET', '/extensions/{alias}')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
