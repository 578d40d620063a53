"""vm_state, task_state and power_state values, and the API status they map to."""
from __future__ import annotations

# vm_state
ACTIVE = 'active'
BUILDING = 'building'
STOPPED = 'stopped'
PAUSED = 'paused'
SUSPENDED = 'suspended'
RESIZED = 'resized'
SOFT_DELETED = 'soft-delete'
DELETED = 'deleted'
ERROR = 'error'
SHELVED = 'shelved'
SHELVED_OFFLOADED = 'shelved_offloaded'
RESCUED = 'rescued'

# task_state
SCHEDULING = 'scheduling'
NETWORKING = 'networking'
BLOCK_DEVICE_MAPPING = 'block_device_mapping'
SPAWNING = 'spawning'
DELETING = 'deleting'
SOFT_DELETING = 'soft-deleting'
RESTORING = 'restoring'
REBOOTING = 'rebooting'
REBOOTING_HARD = 'rebooting_hard'
REBOOT_PENDING = 'reboot_pending'
REBOOT_STARTED = 'reboot_started'
REBOOT_PENDING_HARD = 'reboot_pending_hard'
REBOOT_STARTED_HARD = 'reboot_started_hard'
POWERING_OFF = 'powering-off'
POWERING_ON = 'powering-on'
PAUSING = 'pausing'
UNPAUSING = 'unpausing'
SUSPENDING = 'suspending'
RESUMING = 'resuming'
# createImage / createBackup, as Nova's task states
IMAGE_SNAPSHOT_PENDING = 'image_snapshot_pending'
IMAGE_SNAPSHOT = 'image_snapshot'
IMAGE_BACKUP = 'image_backup'
IMAGE_PENDING_UPLOAD = 'image_pending_upload'
IMAGE_UPLOADING = 'image_uploading'
REBUILDING = 'rebuilding'
REBUILD_BLOCK_DEVICE_MAPPING = 'rebuild_block_device_mapping'
REBUILD_SPAWNING = 'rebuild_spawning'
RESCUING = 'rescuing'
UPDATING_PASSWORD = 'updating_password'
UNRESCUING = 'unrescuing'
RESIZE_PREP = 'resize_prep'
RESIZE_MIGRATING = 'resize_migrating'
RESIZE_MIGRATED = 'resize_migrated'
RESIZE_FINISH = 'resize_finish'
RESIZE_REVERTING = 'resize_reverting'
# A rebuild's task states, in order (the API status is REBUILD through them).
REBUILD_STEPS = (REBUILDING, REBUILD_BLOCK_DEVICE_MAPPING, REBUILD_SPAWNING)
# vm_states a server may be rebuilt from, as Nova's.
ALLOW_REBUILD = (ACTIVE, STOPPED, ERROR)

# vm_states a server may be rescued from, as Nova's (unrescue: RESCUED only).
ALLOW_RESCUE = (ACTIVE, STOPPED, ERROR)
ALLOW_RESIZE = (ACTIVE, STOPPED)

# vm_states a crash dump (NMI) may be triggered in, as Nova's ALLOW_TRIGGER_CRASH_DUMP.
ALLOW_TRIGGER_CRASH_DUMP = (ACTIVE, PAUSED, RESCUED, RESIZED, ERROR)
# vm_states a server may be snapshotted or backed up in, as Nova's.
ALLOW_SNAPSHOT = (ACTIVE, STOPPED, PAUSED, SUSPENDED)

# power_state (integers, as in the hypervisor API)
NOSTATE = 0
RUNNING = 1
PAUSED_POWER = 3
SHUTDOWN = 4
CRASHED = 6
SUSPENDED_POWER = 7

POWER_STATE_NAMES = {NOSTATE: 'NOSTATE', RUNNING: 'RUNNING', PAUSED_POWER: 'PAUSED',
                     SHUTDOWN: 'SHUTDOWN', CRASHED: 'CRASHED', SUSPENDED_POWER: 'SUSPENDED'}
# Nova's power_state.STATE_MAP: how messages name a power state.
POWER_STATE_MAP = {NOSTATE: 'pending', RUNNING: 'running', PAUSED_POWER: 'paused',
                   SHUTDOWN: 'shutdown', CRASHED: 'crashed', SUSPENDED_POWER: 'suspended'}

_STATUS_BY_VM_STATE = {
    ACTIVE: 'ACTIVE', BUILDING: 'BUILD', STOPPED: 'SHUTOFF', PAUSED: 'PAUSED',
    SUSPENDED: 'SUSPENDED', RESIZED: 'VERIFY_RESIZE', SOFT_DELETED: 'SOFT_DELETED',
    DELETED: 'DELETED', ERROR: 'ERROR', SHELVED: 'SHELVED',
    SHELVED_OFFLOADED: 'SHELVED_OFFLOADED', RESCUED: 'RESCUE',
}

_ACTIVE_TASK_STATUS = {
    REBOOTING: 'REBOOT', REBOOT_PENDING: 'REBOOT', REBOOT_STARTED: 'REBOOT',
    REBOOTING_HARD: 'HARD_REBOOT', REBOOT_PENDING_HARD: 'HARD_REBOOT',
    REBOOT_STARTED_HARD: 'HARD_REBOOT', UPDATING_PASSWORD: 'PASSWORD',
}
# Nova: a resize under way is RESIZE (from ACTIVE or STOPPED).
RESIZE_STEPS = (RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH)


def status_from_state(vm_state: str | None, task_state: str | None) -> str:
    """The API 'status' of a server, as Nova derives it."""
    if task_state in REBUILD_STEPS and vm_state in ALLOW_REBUILD:
        return 'REBUILD'
    if task_state in RESIZE_STEPS and vm_state in ALLOW_RESIZE:
        return 'RESIZE'
    if vm_state == RESIZED and task_state == RESIZE_REVERTING:
        return 'REVERT_RESIZE'
    if vm_state == ACTIVE and task_state in _ACTIVE_TASK_STATUS:
        return _ACTIVE_TASK_STATUS[task_state]
    return _STATUS_BY_VM_STATE.get(vm_state or BUILDING, 'UNKNOWN')


def states_for_status(status: str) -> list[str] | None:
    """vm_states matching an API status filter (None: no match)."""
    status = status.upper()
    if status in ('REBOOT', 'HARD_REBOOT', 'MIGRATING'):
        return [ACTIVE]
    if status == 'REBUILD':
        return list(ALLOW_REBUILD)
    found = [vm for vm, st in _STATUS_BY_VM_STATE.items() if st == status]
    return found or None

# Live migration's task state: an ACTIVE server's status is MIGRATING while
# it runs (a PAUSED one stays PAUSED), as Nova shows it.
MIGRATING = 'migrating'
_ACTIVE_TASK_STATUS[MIGRATING] = 'MIGRATING'
