"""os-volume_attachments, with Nova's rule names and defaults."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, api_rule

ATTACHMENTS = 'os_compute_api:os-volumes-attachments:%s'
VOLUMES = 'os_compute_api:os-volumes:%s'
SNAPSHOTS = 'os_compute_api:os-volumes:snapshots:%s'

_VA = '/servers/{server_id}/os-volume_attachments'

rules: list[policy.RuleDefault] = [
    api_rule(ATTACHMENTS % 'index', PROJECT_READER_OR_ADMIN,
             'List volume attachments for an instance', [('GET', _VA)]),
    api_rule(ATTACHMENTS % 'create', PROJECT_MEMBER_OR_ADMIN,
             'Attach a volume to an instance', [('POST', _VA)]),
    api_rule(ATTACHMENTS % 'show', PROJECT_READER_OR_ADMIN,
             'Show details of a volume attachment', [('GET', _VA + '/{volume_id}')]),
    api_rule(ATTACHMENTS % 'update', PROJECT_MEMBER_OR_ADMIN,
             'Update a volume attachment. New \'update\' policy about \'swap + update\' '
             'request (which is possible only >2.85) only <swap policy> is checked.',
             [('PUT', _VA + '/{volume_id}')]),
    # Cinder's volume migration and retype call it with the service role.
    api_rule(ATTACHMENTS % 'swap', 'rule:service_or_admin',
             'Update a volume attachment with a different volumeId',
             [('PUT', _VA + '/{volume_id}')]),
    api_rule(ATTACHMENTS % 'delete', PROJECT_MEMBER_OR_ADMIN,
             'Detach a volume from an instance', [('DELETE', _VA + '/{volume_id}')]),
    # Nova's deprecated proxies to Cinder (2.1-2.35)
    api_rule(VOLUMES % 'list', PROJECT_READER_OR_ADMIN, 'List volumes (deprecated proxy)',
             [('GET', '/os-volumes')]),
    api_rule(VOLUMES % 'create', PROJECT_MEMBER_OR_ADMIN, 'Create volume (deprecated proxy)',
             [('POST', '/os-volumes')]),
    api_rule(VOLUMES % 'detail', PROJECT_READER_OR_ADMIN,
             'List volumes detail (deprecated proxy)', [('GET', '/os-volumes/detail')]),
    api_rule(VOLUMES % 'show', PROJECT_READER_OR_ADMIN, 'Show volume (deprecated proxy)',
             [('GET', '/os-volumes/{volume_id}')]),
    api_rule(VOLUMES % 'delete', PROJECT_MEMBER_OR_ADMIN, 'Delete volume (deprecated proxy)',
             [('DELETE', '/os-volumes/{volume_id}')]),
    api_rule(SNAPSHOTS % 'list', PROJECT_READER_OR_ADMIN, 'List snapshots (deprecated proxy)',
             [('GET', '/os-snapshots')]),
    api_rule(SNAPSHOTS % 'create', PROJECT_MEMBER_OR_ADMIN,
             'Create snapshots (deprecated proxy)', [('POST', '/os-snapshots')]),
    api_rule(SNAPSHOTS % 'detail', PROJECT_READER_OR_ADMIN,
             'List snapshots details (deprecated proxy)', [('GET', '/os-snapshots/detail')]),
    api_rule(SNAPSHOTS % 'show', PROJECT_READER_OR_ADMIN, 'Show snapshot (deprecated proxy)',
             [('GET', '/os-snapshots/{snapshot_id}')]),
    api_rule(SNAPSHOTS % 'delete', PROJECT_MEMBER_OR_ADMIN,
             'Delete snapshot (deprecated proxy)', [('DELETE', '/os-snapshots/{snapshot_id}')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
