"""Server actions (power, pause, suspend, lock, rescue, reset state, crash dump) and the
console log, with Nova's rule names and defaults."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, PROJECT_MEMBER_OR_ADMIN, api_rule

REBOOT = 'os_compute_api:servers:reboot'
STOP = 'os_compute_api:servers:stop'
START = 'os_compute_api:servers:start'
CONSOLE_OUTPUT = 'os_compute_api:os-console-output'
PAUSE = 'os_compute_api:os-pause-server:pause'
UNPAUSE = 'os_compute_api:os-pause-server:unpause'
SUSPEND = 'os_compute_api:os-suspend-server:suspend'
RESUME = 'os_compute_api:os-suspend-server:resume'
LOCK = 'os_compute_api:os-lock-server:lock'
UNLOCK = 'os_compute_api:os-lock-server:unlock'
UNLOCK_OVERRIDE = 'os_compute_api:os-lock-server:unlock:unlock_override'
RESET_STATE = 'os_compute_api:os-admin-actions:reset_state'
TRIGGER_CRASH_DUMP = 'os_compute_api:servers:trigger_crash_dump'
CREATE_IMAGE = 'os_compute_api:servers:create_image'
CREATE_BACKUP = 'os_compute_api:os-create-backup'
RESCUE = 'os_compute_api:os-rescue'
CHANGE_PASSWORD = 'os_compute_api:os-admin-password'
UNRESCUE = 'os_compute_api:os-unrescue'
RESTORE = 'os_compute_api:os-deferred-delete:restore'
FORCE_DELETE = 'os_compute_api:os-deferred-delete:force'
RESIZE = 'os_compute_api:servers:resize'
CONFIRM_RESIZE = 'os_compute_api:servers:confirm_resize'
REVERT_RESIZE = 'os_compute_api:servers:revert_resize'
MIGRATE = 'os_compute_api:os-migrate-server:migrate'
MIGRATE_HOST = 'os_compute_api:os-migrate-server:migrate:host'
EVACUATE = 'os_compute_api:os-evacuate'

_ACTION = [('POST', '/servers/{server_id}/action (%s)')]


def _ops(name: str) -> list[tuple[str, str]]:
    return [(method, path % name) for method, path in _ACTION]


rules: list[policy.RuleDefault] = [
    api_rule(REBOOT, PROJECT_MEMBER_OR_ADMIN, 'Reboot a server', _ops('reboot')),
    api_rule(RESIZE, PROJECT_MEMBER_OR_ADMIN, 'Resize a server', _ops('resize')),
    api_rule(CONFIRM_RESIZE, PROJECT_MEMBER_OR_ADMIN, 'Confirm a server resize',
             _ops('confirmResize')),
    api_rule(REVERT_RESIZE, PROJECT_MEMBER_OR_ADMIN, 'Revert a server resize',
             _ops('revertResize')),
    api_rule(MIGRATE, ADMIN, 'Cold migrate a server to a host', _ops('migrate')),
    api_rule(MIGRATE_HOST, ADMIN, 'Cold migrate a server to a specified host',
             _ops('migrate')),
    api_rule(STOP, PROJECT_MEMBER_OR_ADMIN, 'Stop a server', _ops('os-stop')),
    api_rule(START, PROJECT_MEMBER_OR_ADMIN, 'Start a server', _ops('os-start')),
    api_rule(CONSOLE_OUTPUT, PROJECT_MEMBER_OR_ADMIN, 'Show console output for a server',
             _ops('os-getConsoleOutput')),
    api_rule(PAUSE, PROJECT_MEMBER_OR_ADMIN, 'Pause a server', _ops('pause')),
    api_rule(UNPAUSE, PROJECT_MEMBER_OR_ADMIN, 'Unpause a paused server', _ops('unpause')),
    api_rule(SUSPEND, PROJECT_MEMBER_OR_ADMIN, 'Suspend a server', _ops('suspend')),
    api_rule(RESUME, PROJECT_MEMBER_OR_ADMIN, 'Resume a suspended server', _ops('resume')),
    api_rule(LOCK, PROJECT_MEMBER_OR_ADMIN, 'Lock a server', _ops('lock')),
    api_rule(UNLOCK, PROJECT_MEMBER_OR_ADMIN, 'Unlock a server', _ops('unlock')),
    api_rule(UNLOCK_OVERRIDE, ADMIN, 'Unlock a server locked by another party '
             '(an admin\'s lock, for a non-admin caller)', _ops('unlock')),
    api_rule(RESET_STATE, ADMIN, 'Reset the state of a given server',
             _ops('os-resetState')),
    api_rule(TRIGGER_CRASH_DUMP, PROJECT_MEMBER_OR_ADMIN, 'Trigger crash dump in a server',
             _ops('trigger_crash_dump')),
    api_rule(CREATE_IMAGE, PROJECT_MEMBER_OR_ADMIN, 'Create an image from a server',
             _ops('createImage')),
    api_rule(CREATE_BACKUP, PROJECT_MEMBER_OR_ADMIN, 'Create a back up of a server',
             _ops('createBackup')),
    api_rule(RESCUE, PROJECT_MEMBER_OR_ADMIN, 'Rescue a server', _ops('rescue')),
    api_rule(CHANGE_PASSWORD, PROJECT_MEMBER_OR_ADMIN, 'Change the administrative password '
             'for a server', _ops('changePassword')),
    api_rule(UNRESCUE, PROJECT_MEMBER_OR_ADMIN, 'Unrescue a server', _ops('unrescue')),
    api_rule(RESTORE, PROJECT_MEMBER_OR_ADMIN, 'Restore a soft deleted server',
             _ops('restore')),
    api_rule(FORCE_DELETE, PROJECT_MEMBER_OR_ADMIN, 'Force delete a server before '
             'deferred cleanup', _ops('forceDelete')),
    api_rule(EVACUATE, ADMIN, 'Evacuate a server from a failed host to a new host',
             _ops('evacuate')),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
