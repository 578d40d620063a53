"""Server power actions and the console log, with Nova's rule names."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import PROJECT_MEMBER_OR_ADMIN, api_rule

REBOOT = 'os_compute_api:servers:reboot'
STOP = 'os_compute_api:servers:stop'
START = 'os_compute_api:servers:start'
CONSOLE_OUTPUT = 'os_compute_api:os-console-output'

_ACTION = [('POST', '/servers/{server_id}/action (%s)')]


def _ops(name: str) -> list[tuple[str, str]]:
    return [(method, path % name) for method, path in _ACTION]


rules: list[policy.RuleDefault] = [
    api_rule(REBOOT, PROJECT_MEMBER_OR_ADMIN, 'Reboot a server', _ops('reboot')),
    api_rule(STOP, PROJECT_MEMBER_OR_ADMIN, 'Stop a server', _ops('os-stop')),
    api_rule(START, PROJECT_MEMBER_OR_ADMIN, 'Start a server', _ops('os-start')),
    api_rule(CONSOLE_OUTPUT, PROJECT_MEMBER_OR_ADMIN, 'Show console output for a server',
             _ops('os-getConsoleOutput')),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
