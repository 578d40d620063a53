"""shelve, shelveOffload and unshelve, with Nova's rule names and defaults."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, PROJECT_MEMBER_OR_ADMIN, api_rule

SHELVE = 'os_compute_api:os-shelve:shelve'
SHELVE_OFFLOAD = 'os_compute_api:os-shelve:shelve_offload'
UNSHELVE = 'os_compute_api:os-shelve:unshelve'
UNSHELVE_TO_HOST = 'os_compute_api:os-shelve:unshelve_to_host'


def _ops(name: str) -> list[tuple[str, str]]:
    return [('POST', f'/servers/{{server_id}}/action ({name})')]


rules: list[policy.RuleDefault] = [
    api_rule(SHELVE, PROJECT_MEMBER_OR_ADMIN, 'Shelve server', _ops('shelve')),
    api_rule(UNSHELVE, PROJECT_MEMBER_OR_ADMIN, 'Unshelve (restore) shelved server',
             _ops('unshelve')),
    api_rule(UNSHELVE_TO_HOST, ADMIN, 'Unshelve (restore) shelve offloaded server to a '
             'specific host', _ops('unshelve')),
    api_rule(SHELVE_OFFLOAD, ADMIN, 'Shelf-offload (remove) server', _ops('shelveOffload')),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
