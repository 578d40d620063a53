"""os-volume_attachments, with Nova's rule names and defaults."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, api_rule

ATTACHMENTS = 'os_compute_api:os-volumes-attachments:%s'

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
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
