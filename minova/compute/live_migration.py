"""The compute hosts' part of a live migration (RPC 1.12), as Nova's.

Conductor has claimed the destination and asked it (check_can_live_migrate_
destination); then, on the source, live_migration runs in a thread:

  queued -> preparing (pre_live_migration on the destination)
         -> running (the driver moves the guest, writing its progress into
            the migration's memory_* and disk_* fields)
         -> the source's files go, the destination takes the server
            (post_live_migration_at_destination: host, node, power state,
            no task), the migration's allocation on the source is dropped
         -> completed

A failure rolls back (rollback_live_migration_at_destination, the
migration's allocation back on the server, replacing its claim on the
destination): the server stays on the source with no task state, the
migration 'failed' and the action's compute_live_migration event an error.
An abort (live_migration_abort; from 2.65 also while queued or preparing)
rolls back the same way, the migration 'cancelled'.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from minova import exception, states
from minova.compute import rpcapi as compute_rpcapi
from minova.conf import CONF
from minova.context import RequestContext
from minova.virt.driver import MigrationProgress

if TYPE_CHECKING:
    from minova.clients.placement import Client as PlacementClient
    from minova.compute.resource_tracker import ResourceTracker
    from minova.conductor.rpcapi import ConductorAPI
    from minova.db.instances import VIF, Instance
    from minova.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)

EVENT = 'compute_live_migration'
# How long an abort waits for a migration that is starting in the driver.
ABORT_WAIT = 5.0


class _Job:
    """A live migration leaving this host: where it is, and whether it was aborted
    before the driver had it."""

    def __init__(self, migration: dict[str, Any]) -> None:
        self.migration = migration
        self.phase = 'queued'
        self.cancelled = False
        self.lock = threading.Lock()


class _Cancelled(Exception):
    """Aborted while queued or preparing."""


class LiveMigrationMixin:
    """Part of ComputeManager."""

    host: str
    driver: ComputeDriver
    conductor: ConductorAPI
    placement: PlacementClient
    rt: ResourceTracker

    if TYPE_CHECKING:
        def _update(self, ctx: RequestContext, uuid: str, values: dict[str, Any],
                    expected: list[str | None] | None = None) -> Instance: ...

        def _event(self, ctx: RequestContext, uuid: str, event: str,
                   by_body: bool = False) -> contextlib.AbstractContextManager[None]: ...

        def _power_state(self, instance: Instance) -> int | None: ...

        def _bind_ports_here(self, instance: Instance) -> list[VIF]: ...
        # compute/volumes.py
        def _volumes_pre_live_migration(self, ctx: RequestContext, instance: Instance,
                                        migrate_data: dict[str, Any]) -> dict[str, Any]: ...

        def _volumes_post_live_migration_at_source(
                self, ctx: RequestContext, instance: Instance,
                migrate_data: dict[str, Any]) -> None: ...

        def _volumes_post_live_migration_at_destination(
                self, ctx: RequestContext, migrate_data: dict[str, Any]) -> None: ...

        def _volumes_rollback_live_migration(self, ctx: RequestContext,
                                             migrate_data: dict[str, Any]) -> None: ...

    @property
    def _live_jobs(self) -> dict[str, _Job]:
        return cast('dict[str, _Job]', self.__dict__.setdefault('_live_jobs_map', {}))

    # -- on the destination ------------------------------------------------------

    def check_can_live_migrate_destination(self, context: RequestContext,
                                           instance: Instance,
                                           block_migration: bool | None) -> dict[str, Any]:
        with self._event(context, instance['uuid'],
                         'compute_check_can_live_migrate_destination'):
            try:
                data = self.driver.check_can_live_migrate_destination(
                    context, instance, block_migration)
            except NotImplementedError:
                raise exception.MigrationPreCheckError(
                    reason=f'the hypervisor of {self.host} cannot live migrate') from None
            return dict(data, dest_compute=self.host)

    def pre_live_migration(self, context: RequestContext, instance: Instance,
                           migrate_data: dict[str, Any]) -> dict[str, Any]:
        with self._event(context, instance['uuid'], 'compute_pre_live_migration'):
            # Its volumes connected here too (compute/volumes.py), then the driver.
            migrate_data = self._volumes_pre_live_migration(context, instance, migrate_data)
            try:
                return self.driver.pre_live_migration(context, instance, migrate_data)
            except Exception:
                self._volumes_rollback_live_migration(context, migrate_data)
                raise

    def post_live_migration_at_destination(self, context: RequestContext,
                                           instance: Instance, migration: dict[str, Any],
                                           migrate_data: dict[str, Any]) -> None:
        """The server is this host's: its host and node, the guest's power
        state, no task; its vm_state (ACTIVE or PAUSED) stays."""
        uuid = instance['uuid']
        with self._event(context, uuid, 'compute_post_live_migration_at_destination'):
            placed: dict[str, Any] = {'host': self.host,
                                      'node': migration.get('dest_node') or self.host}
            here = cast('Instance', {**instance, **placed})
            self.driver.post_live_migration_at_destination(context, here, migrate_data)
            self._volumes_post_live_migration_at_destination(context, migrate_data)
            power = self._power_state(here)
            values = dict(placed, power_state=states.RUNNING if power is None else power,
                          task_state=None, progress=0)
            try:
                # Its ports follow it here (binding:host_id), as Nova's
                # migrate_instance_finish; the guest runs here whatever Neutron says.
                values['network_info'] = self._bind_ports_here(here)
            except Exception:
                LOG.exception('Could not bind the ports of %s to %s', uuid, self.host)
            try:
                inst = self._update(context, uuid, values, [states.MIGRATING])
            except (exception.InstanceNotFound, exception.InstanceInvalidState):
                # Deleted meanwhile: its guest must not stay here.
                self.driver.destroy(context, here, [], None, True)
                raise
            self.rt.instance_added(inst)

    def rollback_live_migration_at_destination(self, context: RequestContext,
                                               instance: Instance,
                                               migrate_data: dict[str, Any]) -> None:
        with self._event(context, instance['uuid'],
                         'compute_rollback_live_migration_at_destination'):
            self.driver.rollback_live_migration_at_destination(context, instance,
                                                               migrate_data)
            self._volumes_rollback_live_migration(context, migrate_data)

    # -- on the source -------------------------------------------------------------

    def live_migration(self, context: RequestContext, instance: Instance, dest: str,
                       migration: dict[str, Any], migrate_data: dict[str, Any]) -> None:
        """Queued now; the move runs in its own thread, so abort and
        force_complete are answered while it goes on."""
        uuid = instance['uuid']
        job = _Job(self._set_status(context, migration, 'queued'))
        self._live_jobs[uuid] = job
        self.conductor.action_event_start(context, uuid, EVENT, self.host)
        threading.Thread(target=self._run_live_migration, name=f'live-migration-{uuid}',
                         args=(context, instance, dest, job, migrate_data),
                         daemon=True).start()

    def _set_status(self, context: RequestContext, migration: dict[str, Any],
                    status: str) -> dict[str, Any]:
        return self.conductor.migration_update(context, migration['uuid'],
                                               {'status': status})

    def _wait_for_slot(self, job: _Job) -> threading.Semaphore | None:
        """[DEFAULT] max_concurrent_live_migrations: wait (queued) for a
        free one; an abort meanwhile ends the wait."""
        limit = CONF.max_concurrent_live_migrations
        if not limit:
            return None
        slots = cast('threading.Semaphore', self.__dict__.setdefault(
            '_live_slots', threading.Semaphore(limit)))
        while not slots.acquire(timeout=0.1):
            with job.lock:
                if job.cancelled:
                    raise _Cancelled()
        return slots

    @contextlib.contextmanager
    def _phase(self, job: _Job, phase: str) -> Iterator[None]:
        """Enter phase unless the job was aborted before it."""
        with job.lock:
            if job.cancelled:
                raise _Cancelled()
            job.phase = phase
        yield

    def _run_live_migration(self, context: RequestContext, instance: Instance,
                            dest: str, job: _Job, migrate_data: dict[str, Any]) -> None:
        uuid = instance['uuid']
        migration = job.migration
        made = False      # pre_live_migration ran on dest
        outcome, error = 'completed', None
        slot = None
        try:
            slot = self._wait_for_slot(job)
            with self._phase(job, 'preparing'):
                self._set_status(context, migration, 'preparing')
            made = True
            migrate_data = compute_rpcapi.for_cell(None).pre_live_migration(
                context, dest, instance, migrate_data)
            with self._phase(job, 'running'):
                self._set_status(context, migration, 'running')

            def progress(p: MigrationProgress) -> None:
                with contextlib.suppress(Exception):   # progress is best effort
                    self.conductor.migration_update(context, migration['uuid'], dict(p))
                    total = p.get('memory_total', 0) + p.get('disk_total', 0)
                    if total:   # the server's progress (%), as Nova's libvirt monitor
                        done = p.get('memory_processed', 0) + p.get('disk_processed', 0)
                        self._update(context, uuid, {'progress': round(100 * done / total)})
            self.driver.live_migration(context, instance, dest, migrate_data, progress)
        except (_Cancelled, exception.MigrationAborted):
            outcome = 'cancelled'
        except Exception as e:
            LOG.error('Live migration of %s to %s failed: %s', uuid, dest, e,
                      exc_info=not isinstance(e, exception.MinovaException))
            outcome, error = 'failed', e
        finally:
            self._live_jobs.pop(uuid, None)
            if slot is not None:
                slot.release()
        if outcome == 'completed':
            try:
                self._post_live_migration(context, instance, dest, migration, migrate_data)
            except Exception as e:
                LOG.exception('Live migration of %s to %s failed after the move', uuid,
                              dest)
                self._after_move_failed(context, instance, migration, e)
                return
            self._finish_event(context, uuid, None)
            return
        self._rollback_live_migration(context, instance, dest, migration, migrate_data,
                                      outcome, made)
        self._finish_event(context, uuid, error)

    def _finish_event(self, context: RequestContext, uuid: str,
                      error: BaseException | None) -> None:
        with contextlib.suppress(Exception):
            if error is None:
                self.conductor.action_event_finish(context, uuid, EVENT, 'Success', None,
                                                   self.host)
            else:
                message = str(error) or error.__class__.__name__
                self.conductor.action_event_finish(context, uuid, EVENT, 'Error', message,
                                                   self.host, details=message)

    def _post_live_migration(self, context: RequestContext, instance: Instance, dest: str,
                             migration: dict[str, Any], migrate_data: dict[str, Any]
                             ) -> None:
        uuid = instance['uuid']
        self.driver.post_live_migration_at_source(context, instance, migrate_data)
        self._volumes_post_live_migration_at_source(context, instance, migrate_data)
        compute_rpcapi.for_cell(None).post_live_migration_at_destination(
            context, dest, instance, migration, migrate_data)
        self.placement.delete_allocation_for_instance(context, migration['uuid'])
        self.rt.instance_removed(uuid)
        self._set_status(context, migration, 'completed')
        LOG.info('Live migration of %s to %s completed', uuid, dest)

    def _after_move_failed(self, context: RequestContext, instance: Instance,
                           migration: dict[str, Any], e: BaseException) -> None:
        """The guest left, but the destination did not take the server: ERROR
        with a fault (an admin sorts it out, as in Nova); the source holds
        nothing any more."""
        uuid = instance['uuid']
        with contextlib.suppress(Exception):
            self.placement.delete_allocation_for_instance(context, migration['uuid'])
        with contextlib.suppress(Exception):
            self._set_status(context, migration, 'error')
        with contextlib.suppress(exception.InstanceNotFound):
            message = str(e) or e.__class__.__name__
            self.conductor.instance_fault_create(context, uuid, 500, message, None,
                                                 self.host)
            self._update(context, uuid, {'vm_state': states.ERROR, 'task_state': None})
        self._finish_event(context, uuid, e)

    def _rollback_live_migration(self, context: RequestContext, instance: Instance,
                                 dest: str, migration: dict[str, Any],
                                 migrate_data: dict[str, Any], status: str,
                                 made: bool) -> None:
        """Back on the source: the destination's leftovers removed, the
        source allocation back on the server, the migration `status`."""
        uuid = instance['uuid']
        if made:
            try:
                compute_rpcapi.for_cell(None).rollback_live_migration_at_destination(
                    context, dest, instance, migrate_data)
            except Exception:
                LOG.exception('Rollback of the live migration of %s on %s failed', uuid,
                              dest)
        try:
            if self._being_deleted(context, uuid):
                # Its delete dropped the server's allocations; the source's
                # goes with the migration rather than back to a deleted server.
                self.placement.delete_allocation_for_instance(context, migration['uuid'])
            else:
                self.placement.move_allocations(context, migration['uuid'], uuid)
        except Exception:
            LOG.exception('Allocation of migration %s could not go back to %s',
                          migration['uuid'], uuid)
        with contextlib.suppress(Exception):
            self._set_status(context, migration, status)
        values: dict[str, Any] = {'task_state': None, 'progress': 0}
        power = self._power_state(instance)
        if power is not None:
            values['power_state'] = power
        with contextlib.suppress(exception.InstanceNotFound, exception.InstanceInvalidState):
            self._update(context, uuid, values, [states.MIGRATING])
        LOG.info('Live migration of %s to %s rolled back (%s)', uuid, dest, status)

    def _being_deleted(self, context: RequestContext, uuid: str) -> bool:
        try:
            current = self.conductor.instance_get(context, uuid)
        except exception.InstanceNotFound:
            return True
        return current.get('task_state') == states.DELETING or bool(current.get('deleted'))

    def _reconcile_live_migrations(self, context: RequestContext) -> None:
        """At start: live migrations this host was running when it stopped.
        As Nova: the driver's job aborted if still there, the migration
        'error', the server's task cleared; and here also rolled back, so
        placement holds the server's allocation on the host it is on and
        nothing for the migration."""
        for migration in self.conductor.live_migrations_in_progress(context, self.host):
            uuid = migration['instance_uuid']
            if uuid in self._live_jobs:
                continue
            try:
                instance = self.conductor.instance_get(context, uuid)
            except exception.InstanceNotFound:
                with contextlib.suppress(Exception):
                    self.placement.delete_allocation_for_instance(context,
                                                                  migration['uuid'])
                    self._set_status(context, migration, 'error')
                continue
            LOG.warning('Live migration of %s to %s was interrupted by a restart of %s',
                        uuid, migration.get('dest_compute'), self.host)
            with contextlib.suppress(Exception):
                self.driver.live_migration_abort(instance)
            if instance.get('host') != self.host:
                # The destination took it before the restart: only the
                # migration's allocation here is left to drop.
                with contextlib.suppress(Exception):
                    self.placement.delete_allocation_for_instance(context,
                                                                  migration['uuid'])
                    self._set_status(context, migration, 'error')
                continue
            self._rollback_live_migration(context, instance,
                                          str(migration.get('dest_compute')), migration,
                                          {}, 'error', made=bool(migration.get('dest_compute')))

    def live_migration_force_complete(self, context: RequestContext, instance: Instance,
                                      migration: dict[str, Any]) -> None:
        with self._event(context, instance['uuid'],
                         'compute_live_migration_force_complete'):
            self.driver.live_migration_force_complete(instance)

    def live_migration_abort(self, context: RequestContext, instance: Instance,
                             migration: dict[str, Any]) -> None:
        """Queued or preparing: it stops before the driver starts; running:
        the driver stops it. Either way it rolls back as 'cancelled'."""
        uuid = instance['uuid']
        with self._event(context, uuid, 'compute_live_migration_abort'):
            job = self._live_jobs.get(uuid)
            if job is None:
                raise exception.InvalidMigrationState(
                    migration_id=migration['id'], instance_uuid=uuid,
                    state=migration.get('status'), method='abort live migration')
            with job.lock:
                if job.phase != 'running':
                    job.cancelled = True
                    return
            deadline = time.monotonic() + ABORT_WAIT
            while True:   # the driver may not have the migration yet
                try:
                    self.driver.live_migration_abort(instance)
                    return
                except exception.InstanceNotFound:
                    if uuid not in self._live_jobs or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
