"""A compute restarted in the middle of a resize finishes or rolls it back.

As Nova's _init_instance: a resize that had not yet reached its destination
guest (task states resize_prep, resize_migrating, and on one host also
resize_migrated and resize_finish) is rolled back onto the source: the kept
guest running again with the old flavor (stopped if the server was), the
migration's allocation back on the server, the migration 'error', the server
ACTIVE (or STOPPED) with a fault that says why. A confirm or revert the
restart interrupted is done again. A destination on a host of its own that
was making the resized guest (resize_finish) ends it as a failed finish: the
server ERROR there with a fault. A step another live host still owns is left
to it; a roll back that fails leaves the server in ERROR with a fault.
"""
from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any, Protocol, cast

from minova import exception, states

if TYPE_CHECKING:
    from minova.clients.placement import Client as PlacementClient
    from minova.conductor.rpcapi import ConductorAPI
    from minova.context import RequestContext
    from minova.db.instances import Instance
    from minova.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)

# Task states of a resize whose server is still the source's to give back.
ROLLBACK_TASKS = (states.RESIZE_PREP, states.RESIZE_MIGRATING, states.RESIZE_MIGRATED,
                  states.RESIZE_FINISH)
# The source guest is untouched until resize_instance starts powering it off.
UNTOUCHED_TASKS = (states.RESIZE_PREP,)
# Those that run on the destination: only a destination on this very host
# is known to have lost them.
DESTINATION_TASKS = (states.RESIZE_MIGRATED, states.RESIZE_FINISH)


class _ResizeHost(Protocol):
    host: str
    driver: ComputeDriver
    conductor: ConductorAPI
    placement: PlacementClient

    def _update(self, ctx: RequestContext, uuid: str, values: dict[str, Any],
                expected: list[str | None] | None = None) -> Instance: ...

    @staticmethod
    def _flavor_values(flavor: dict[str, Any]) -> dict[str, Any]: ...

    @staticmethod
    def _sysmeta_flavor(instance: Instance, key: str) -> dict[str, Any]: ...

    @staticmethod
    def _resize_done_sysmeta(instance: Instance) -> dict[str, str]: ...

    def confirm_resize(self, context: RequestContext, instance: Instance,
                       migration: dict[str, Any]) -> None: ...

    def revert_resize(self, context: RequestContext, instance: Instance,
                      migration: dict[str, Any]) -> None: ...

    def _roll_back_resize(self, ctx: RequestContext, inst: Instance,
                          migration: dict[str, Any]) -> None: ...

    def _end_stale_migration(self, ctx: RequestContext, inst: Instance | None,
                             migration: dict[str, Any]) -> None: ...

    def _fail_interrupted_finish(self, ctx: RequestContext, inst: Instance,
                                 migration: dict[str, Any]) -> None: ...


class ResizeRecoveryMixin:
    """init_host's part for moves: see the module's docstring."""

    def _recover_resizes(self: _ResizeHost, ctx: RequestContext) -> None:
        try:
            migrations = self.conductor.migration_get_in_progress_by_host(ctx, self.host)
        except Exception:
            LOG.exception('Could not list the moves in progress on %s', self.host)
            return
        for migration in migrations:
            if migration.get('migration_type') not in ('resize', 'migration'):
                continue
            uuid = migration['instance_uuid']
            try:
                inst: Instance | None = self.conductor.instance_get(ctx, uuid)
            except exception.InstanceNotFound:
                inst = None
            try:   # before the RPC server starts: no step runs beside it
                _recover_one(self, ctx, inst, migration)
            except Exception:
                LOG.exception('Recovery of the move %s of %s failed', migration['uuid'], uuid)

    def _roll_back_resize(self: _ResizeHost, ctx: RequestContext, inst: Instance,
                          migration: dict[str, Any]) -> None:
        uuid = inst['uuid']
        task = inst.get('task_state')
        sysmeta = inst.get('system_metadata') or {}
        old_vm_state = sysmeta.get('old_vm_state') or states.ACTIVE
        power_on = old_vm_state != states.STOPPED
        placed = dict(self._flavor_values(self._sysmeta_flavor(inst, 'old_flavor')),
                      host=self.host, node=migration.get('source_node') or self.host)
        LOG.warning('Resize of %s was interrupted (%s) by a restart of %s; rolling it back',
                    uuid, task, self.host)
        message = (f'Resize of the instance was interrupted by a restart of its compute '
                   f'host {self.host}; it was rolled back.')
        values: dict[str, Any] = dict(
            placed, vm_state=old_vm_state, task_state=None,
            system_metadata=self._resize_done_sysmeta(inst),
            power_state=states.RUNNING if power_on else states.SHUTDOWN)
        try:
            if task not in UNTOUCHED_TASKS:
                self.driver.finish_revert_migration(
                    ctx, cast('Instance', {**inst, **placed}),
                    inst.get('network_info') or [], power_on)
        except Exception as e:  # noqa: BLE001 - told as the server's fault
            LOG.exception('Could not roll back the resize of %s', uuid)
            message = (f'Resize of the instance was interrupted by a restart of its '
                       f'compute host {self.host} and could not be rolled back: {e}')
            values = {'vm_state': states.ERROR, 'task_state': None}
        with contextlib.suppress(exception.PlacementAPIConnectFailure):
            self.placement.move_allocations(ctx, migration['uuid'], uuid)
        self.conductor.migration_update(ctx, migration['uuid'], {'status': 'error'})
        with contextlib.suppress(exception.InstanceNotFound):
            self.conductor.instance_fault_create(ctx, uuid, 500, message, None, self.host)
            self._update(ctx, uuid, values)

    def _fail_interrupted_finish(self: _ResizeHost, ctx: RequestContext, inst: Instance,
                                 migration: dict[str, Any]) -> None:
        """This host, the destination of a move from another host, was
        making the resized guest: as a finish_resize that fails, the server
        ERROR here with a fault, keeping this host's allocation, the
        migration's on the source dropped, the migration 'error'."""
        uuid = inst['uuid']
        LOG.warning('Finish of the resize of %s was interrupted by a restart of %s',
                    uuid, self.host)
        with contextlib.suppress(exception.PlacementAPIConnectFailure):
            self.placement.delete_allocation_for_instance(ctx, migration['uuid'])
        self.conductor.migration_update(ctx, migration['uuid'], {'status': 'error'})
        with contextlib.suppress(exception.InstanceNotFound):
            self.conductor.instance_fault_create(
                ctx, uuid, 500, 'Resize of the instance was interrupted by a restart of '
                f'its destination host {self.host}.', None, self.host)
            self._update(ctx, uuid, {'vm_state': states.ERROR, 'task_state': None,
                                     'host': self.host,
                                     'node': migration.get('dest_node') or self.host})

    def _end_stale_migration(self: _ResizeHost, ctx: RequestContext, inst: Instance | None,
                             migration: dict[str, Any]) -> None:
        """A migration no step works on any more (its server gone, or back
        from the move): 'error', and whatever it still holds in placement
        back on the server (or dropped, if the server holds its own)."""
        LOG.warning('Move %s of %s left %s; set to error', migration['uuid'],
                    migration['instance_uuid'], migration['status'])
        with contextlib.suppress(exception.PlacementAPIConnectFailure):
            held = inst is not None and self.placement.get_allocations_for_consumer(
                ctx, inst['uuid'])
            if inst is not None and not held:
                self.placement.move_allocations(ctx, migration['uuid'], inst['uuid'])
            else:
                self.placement.delete_allocation_for_instance(ctx, migration['uuid'])
        self.conductor.migration_update(ctx, migration['uuid'], {'status': 'error'})


def _recover_one(mgr: _ResizeHost, ctx: RequestContext, inst: Instance | None,
                 migration: dict[str, Any]) -> None:
    status = migration['status']
    here_source = migration.get('source_compute') == mgr.host
    here_dest = migration.get('dest_compute') == mgr.host
    task = inst.get('task_state') if inst is not None else None
    if inst is None or inst.get('deleted'):
        mgr._end_stale_migration(ctx, None, migration)
    elif status == 'confirming' and here_source and inst.get('vm_state') == states.RESIZED:
        LOG.info('Completing the interrupted confirm of the resize of %s', inst['uuid'])
        mgr.confirm_resize(ctx, inst, migration)
    elif status == 'reverting' and here_dest and task == states.RESIZE_REVERTING:
        LOG.info('Completing the interrupted revert of the resize of %s', inst['uuid'])
        mgr.revert_resize(ctx, inst, migration)
    elif task in ROLLBACK_TASKS:
        if here_source and (here_dest or task not in DESTINATION_TASKS):
            mgr._roll_back_resize(ctx, inst, migration)
        elif here_dest and task == states.RESIZE_FINISH:
            mgr._fail_interrupted_finish(ctx, inst, migration)
        # else another host owns the step (a finish_resize still queued here
        # for resize_migrated runs once this host serves again)
    elif task is None and inst.get('vm_state') != states.RESIZED:
        mgr._end_stale_migration(ctx, inst, migration)
