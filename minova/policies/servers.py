"""Servers, extended server attributes and instance actions."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import (
    ADMIN,
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    SERVICE,
    api_rule,
)

SERVERS = 'os_compute_api:servers:%s'
EXTENDED_ATTRS = 'os_compute_api:os-extended-server-attributes'
ACTIONS = 'os_compute_api:os-instance-actions:%s'
DIAGNOSTICS = 'os_compute_api:os-server-diagnostics'
EXTERNAL_EVENTS = 'os_compute_api:os-server-external-events:%s'
IPS = 'os_compute_api:ips:%s'
REQUESTED_DESTINATION = 'compute:servers:create:requested_destination'
NETWORK_ATTACH_EXTERNAL = 'network:attach_external_network'

_S = '/servers'
_ONE = '/servers/{server_id}'

rules: list[policy.RuleDefault] = [
    api_rule(SERVERS % 'index', PROJECT_READER_OR_ADMIN, 'List all servers', [('GET', _S)]),
    api_rule(SERVERS % 'detail', PROJECT_READER_OR_ADMIN, 'List all servers with details',
             [('GET', _S + '/detail')]),
    api_rule(SERVERS % 'index:get_all_tenants', ADMIN, 'List all servers for all projects',
             [('GET', _S)]),
    api_rule(SERVERS % 'detail:get_all_tenants', ADMIN,
             'List all servers with details for all projects', [('GET', _S + '/detail')]),
    api_rule(SERVERS % 'allow_all_filters', ADMIN, 'Allow all filters when listing servers',
             [('GET', _S), ('GET', _S + '/detail')]),
    api_rule(SERVERS % 'show', PROJECT_READER_OR_ADMIN, 'Show a server', [('GET', _ONE)]),
    api_rule(SERVERS % 'show:flavor-extra-specs', PROJECT_READER_OR_ADMIN,
             'Starting with microversion 2.47, the flavor and its extra specs used for a '
             'server are embedded in the server response',
             [('GET', _ONE), ('GET', _S + '/detail'), ('PUT', _ONE)]),
    api_rule(SERVERS % 'show:host_status', ADMIN,
             'Show a server with the host_status attribute (2.16)',
             [('GET', _ONE), ('GET', _S + '/detail')]),
    api_rule(SERVERS % 'show:host_status:unknown-only', ADMIN,
             'Show a server with host_status only when it is UNKNOWN',
             [('GET', _ONE), ('GET', _S + '/detail')]),
    api_rule(SERVERS % 'create', PROJECT_MEMBER_OR_ADMIN, 'Create a server', [('POST', _S)]),
    api_rule(SERVERS % 'create:forced_host', ADMIN,
             'Create a server on the host given in availability_zone', [('POST', _S)]),
    api_rule(REQUESTED_DESTINATION, ADMIN,
             'Create a server on the host/node requested in the body (2.74)',
             [('POST', _S)]),
    api_rule(SERVERS % 'create:attach_volume', PROJECT_MEMBER_OR_ADMIN,
             'Create a server with the requested volume attached', [('POST', _S)]),
    api_rule(SERVERS % 'create:attach_network', PROJECT_MEMBER_OR_ADMIN,
             'Create a server with the requested network attached', [('POST', _S)]),
    api_rule(SERVERS % 'create:trusted_certs', PROJECT_MEMBER_OR_ADMIN,
             'Create a server with trusted image certificate IDs', [('POST', _S)]),
    api_rule(SERVERS % 'create:zero_disk_flavor', ADMIN,
             'Create an image-backed server with a flavor of zero root disk',
             [('POST', _S)]),
    api_rule(NETWORK_ATTACH_EXTERNAL, ADMIN, 'Attach an unshared external network',
             [('POST', _S)]),
    api_rule(SERVERS % 'delete', PROJECT_MEMBER_OR_ADMIN, 'Delete a server',
             [('DELETE', _ONE)]),
    api_rule(SERVERS % 'update', PROJECT_MEMBER_OR_ADMIN, 'Update a server', [('PUT', _ONE)]),
    api_rule(SERVERS % 'rebuild', PROJECT_MEMBER_OR_ADMIN, 'Rebuild a server',
             [('POST', _ONE + '/action (rebuild)')]),
    api_rule(SERVERS % 'rebuild:trusted_certs', PROJECT_MEMBER_OR_ADMIN,
             'Rebuild a server with trusted image certificate IDs',
             [('POST', _ONE + '/action (rebuild)')]),
    api_rule(EXTENDED_ATTRS, ADMIN,
             'Return extended attributes (OS-EXT-SRV-ATTR:*) for a server',
             [('GET', _ONE), ('GET', _S + '/detail'), ('PUT', _ONE)]),
    api_rule(ACTIONS % 'events:details', ADMIN,
             'Add "details" to the events of an instance action (2.84)',
             [('GET', _ONE + '/os-instance-actions/{request_id}')]),
    api_rule(ACTIONS % 'events', ADMIN,
             'Add the events traceback to the details of an instance action',
             [('GET', _ONE + '/os-instance-actions/{request_id}')]),
    api_rule(EXTERNAL_EVENTS % 'create', SERVICE, 'Report events about servers (Neutron, '
             'Cinder)', [('POST', '/os-server-external-events')]),
    api_rule(DIAGNOSTICS, ADMIN, "Show a server's diagnostics",
             [('GET', _ONE + '/diagnostics')]),
    api_rule(IPS % 'index', PROJECT_READER_OR_ADMIN,
             "List a server's addresses by network", [('GET', _ONE + '/ips')]),
    api_rule(IPS % 'show', PROJECT_READER_OR_ADMIN,
             "Show a server's addresses on one network",
             [('GET', _ONE + '/ips/{network_label}')]),
    api_rule(ACTIONS % 'list', PROJECT_READER_OR_ADMIN, 'List actions of a server',
             [('GET', _ONE + '/os-instance-actions')]),
    api_rule(ACTIONS % 'show', PROJECT_READER_OR_ADMIN, 'Show an action of a server',
             [('GET', _ONE + '/os-instance-actions/{request_id}')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
