"""Server metadata, tags and the server password, with Nova's rule names and defaults."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, api_rule

METADATA = 'os_compute_api:server-metadata:%s'
TAGS = 'os_compute_api:os-server-tags:%s'
PASSWORD = 'os_compute_api:os-server-password:%s'

_META = '/servers/{server_id}/metadata'
_TAGS = '/servers/{server_id}/tags'

rules: list[policy.RuleDefault] = [
    api_rule(METADATA % 'index', PROJECT_READER_OR_ADMIN, 'List all metadata of a server',
             [('GET', _META)]),
    api_rule(METADATA % 'show', PROJECT_READER_OR_ADMIN, 'Show metadata for a server',
             [('GET', _META + '/{key}')]),
    api_rule(METADATA % 'create', PROJECT_MEMBER_OR_ADMIN, 'Create metadata for a server',
             [('POST', _META)]),
    api_rule(METADATA % 'update_all', PROJECT_MEMBER_OR_ADMIN,
             'Replace metadata for a server', [('PUT', _META)]),
    api_rule(METADATA % 'update', PROJECT_MEMBER_OR_ADMIN,
             'Update metadata from a server', [('PUT', _META + '/{key}')]),
    api_rule(METADATA % 'delete', PROJECT_MEMBER_OR_ADMIN,
             'Delete metadata from a server', [('DELETE', _META + '/{key}')]),
    api_rule(TAGS % 'delete_all', PROJECT_MEMBER_OR_ADMIN, 'Delete all the server tags',
             [('DELETE', _TAGS)]),
    api_rule(TAGS % 'index', PROJECT_READER_OR_ADMIN, 'List all tags for given server',
             [('GET', _TAGS)]),
    api_rule(TAGS % 'update_all', PROJECT_MEMBER_OR_ADMIN,
             'Replace all tags on specified server with the new set of tags.',
             [('PUT', _TAGS)]),
    api_rule(TAGS % 'delete', PROJECT_MEMBER_OR_ADMIN, 'Delete a single tag from the '
             'specified server', [('DELETE', _TAGS + '/{tag}')]),
    api_rule(TAGS % 'update', PROJECT_MEMBER_OR_ADMIN, 'Add a single tag to the server if '
             'server has no specified tag', [('PUT', _TAGS + '/{tag}')]),
    api_rule(TAGS % 'show', PROJECT_READER_OR_ADMIN, 'Check tag existence on the server.',
             [('GET', _TAGS + '/{tag}')]),
    api_rule(PASSWORD % 'show', PROJECT_READER_OR_ADMIN, 'Show the encrypted administrative '
             'password of a server', [('GET', '/servers/{server_id}/os-server-password')]),
    api_rule(PASSWORD % 'clear', PROJECT_MEMBER_OR_ADMIN, 'Clear the encrypted administrative '
             'password of a server', [('DELETE', '/servers/{server_id}/os-server-password')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
