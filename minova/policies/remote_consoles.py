"""Remote consoles and console auth tokens, with Nova's rule names."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, PROJECT_MEMBER_OR_ADMIN, api_rule

REMOTE_CONSOLES = 'os_compute_api:os-remote-consoles'
CONSOLE_AUTH_TOKENS = 'os_compute_api:os-console-auth-tokens'

rules: list[policy.RuleDefault] = [
    api_rule(REMOTE_CONSOLES, PROJECT_MEMBER_OR_ADMIN,
             'Generate a URL to access a remote server console',
             [('POST', '/servers/{server_id}/action (os-getVNCConsole)'),
              ('POST', '/servers/{server_id}/action (os-getSerialConsole)'),
              ('POST', '/servers/{server_id}/action (os-getSPICEConsole)'),
              ('POST', '/servers/{server_id}/action (os-getRDPConsole)'),
              ('POST', '/servers/{server_id}/remote-consoles')]),
    api_rule(CONSOLE_AUTH_TOKENS, ADMIN,
             'Show console connection information for a given console authentication '
             'token', [('GET', '/os-console-auth-tokens/{console_token}')]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
