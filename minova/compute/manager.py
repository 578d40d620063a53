"""The compute agent: runs guests on this host through the virt driver.

It holds no DB credentials: every read and write of its cell DB goes
through conductor. Build and terminate of one instance are serialised by a
per-instance lock, so a delete that arrives mid-build waits and then cleans up.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import logging
import threading
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import oslo_messaging as messaging

from minova import exception, states, utils
from minova.clients import placement as placement_client
from minova.compute import rpcapi as compute_rpcapi
from minova.compute.evacuate import EvacuateMixin
from minova.compute.events import EventsMixin
from minova.compute.live_migration import LiveMigrationMixin
from minova.compute.network import NetworkMixin, no_reschedule_reason
from minova.compute.resize_recovery import ResizeRecoveryMixin
from minova.compute.resource_tracker import ResourceTracker
from minova.compute.shelve import ShelveMixin
from minova.compute.volumes import VolumesMixin, block_device_info
from minova.conductor import rpcapi as conductor_rpcapi
from minova.conf import CONF
from minova.context import RequestContext, get_admin_context
from minova.virt import driver as virt_driver

if TYPE_CHECKING:
    from minova.clients.placement import AllocationRequest
    from minova.db.build_requests import RequestSpec
    from minova.db.instances import Instance
    from minova.scheduler.rpcapi import Selection

LOG = logging.getLogger(__name__)

BINARY = 'minova-compute'
SERVICE_VERSION = 1


BUILD_EVENT = 'compute_build_and_run_instance'
# The task states a build passes before its spawn are reported only if the
# spawn is still running after this long (seconds): a guest that is up sooner
# goes straight to ACTIVE, and its host's ACTIVE update does not queue behind
# a write nobody could have seen.
STEPS_REPORT_DELAY = 0.05
# The task states of a build on its host, in order.
BUILD_STEPS: list[str | None] = [states.SCHEDULING, states.NETWORKING,
                                 states.BLOCK_DEVICE_MAPPING, states.SPAWNING]


def _describe(e: BaseException) -> str:
    """An error in words for a fault or an event: its message, else its class."""
    return str(e) or e.__class__.__name__


class ComputeManager(NetworkMixin, EventsMixin, ShelveMixin, ResizeRecoveryMixin,
                     LiveMigrationMixin, EvacuateMixin, VolumesMixin):
    target = messaging.Target(version='1.18')

    def __init__(self, host: str | None = None) -> None:
        self.host = host or CONF.host
        self.driver = virt_driver.load_driver()
        self._init_events(self.driver)      # sets driver.virtapi
        self.conductor = conductor_rpcapi.ConductorAPI()
        self.placement = placement_client.Client()
        self.rt = ResourceTracker(self.host, self.driver, self.conductor, self.placement)
        self.service: dict[str, Any] | None = None
        self.rt.service_disabled = self._service_disabled
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- start-up --------------------------------------------------------------

    def _service_disabled(self, ctx: RequestContext) -> bool | None:
        """Whether an operator disabled this compute service now (its record,
        read again: the API changes it), for the COMPUTE_STATUS_DISABLED
        trait; None when it cannot be read."""
        svc = self.service
        if svc is None:
            return None
        try:
            svc = self.conductor.service_get_or_create(
                ctx, self.host, svc['binary'], svc['topic'], svc.get('version') or 1)
        except Exception as e:
            LOG.warning('Could not read the service record of %s: %s', self.host, e)
            return None
        return bool(svc.get('disabled'))

    def init_host(self, service: dict[str, Any]) -> None:
        self.service = service
        self.driver.init_host(self.host, service.get('deployment_id'))
        ctx = get_admin_context()
        # The agent starts whatever its peers do: a placement that does not
        # answer is logged by the tracker (one line) and its periodic update
        # tries again; anything else is logged here, and retried the same way.
        try:
            self.rt.update_available_resource(ctx, service_id=service['id'])
        except Exception:
            LOG.exception('Resource update of %s failed at start; the periodic task '
                          'retries it every %ss', self.host, CONF.update_resources_interval)
        # First, as Nova: servers evacuated while this host was down are not
        # this host's any more (their local guests go); the rest is theirs.
        evacuated: set[str] = set()
        if self.driver.capabilities.get('supports_evacuate'):
            try:
                evacuated = self.destroy_evacuated_instances(ctx)
            except Exception:
                LOG.exception('Clean-up of the servers evacuated from %s failed; the '
                              'next start tries again', self.host)
        self._reconcile(ctx, evacuated)
        self._reconcile_live_migrations(ctx)

    def _reconcile(self, ctx: RequestContext, evacuated: set[str] | None = None) -> None:
        """Finish what a restart interrupted: deletes complete, builds end in
        ERROR. Servers evacuated from this host are left alone."""
        self._recover_resizes(ctx)
        guests = set(self.driver.list_instance_uuids())
        for inst in self.conductor.instance_get_all_by_host(ctx, self.host):
            if evacuated and inst['uuid'] in evacuated:
                continue
            if self._reconcile_shelve(ctx, inst):   # compute/shelve.py
                continue
            if inst['task_state'] == states.DELETING:
                LOG.info('Completing interrupted delete of %s', inst['uuid'])
                self.terminate_instance(ctx, inst)
            elif inst['task_state'] == states.SOFT_DELETING:
                LOG.info('Completing interrupted soft delete of %s', inst['uuid'])
                self.soft_delete_instance(ctx, inst)
            elif inst['task_state'] == states.RESTORING:
                LOG.info('Completing interrupted restore of %s', inst['uuid'])
                self.restore_instance(ctx, inst)
            elif inst['vm_state'] == states.BUILDING and inst['uuid'] not in guests:
                LOG.warning('Build of %s was interrupted by a restart', inst['uuid'])
                self._fail_build(ctx, inst, 'Build of the instance was interrupted by a '
                                 f'restart of its compute host {self.host}.', None)
            elif inst['task_state'] in states.REBUILD_STEPS:
                # As Nova: a rebuild a restart interrupted leaves the server in
                # ERROR; a rebuild (or hard reboot) recovers it.
                LOG.warning('Rebuild of %s was interrupted by a restart', inst['uuid'])
                with contextlib.suppress(exception.InstanceNotFound):
                    self.conductor.instance_fault_create(
                        ctx, inst['uuid'], 500, 'Rebuild of the instance was interrupted '
                        f'by a restart of its compute host {self.host}.', None, self.host)
                    self._update(ctx, inst['uuid'], {'vm_state': states.ERROR,
                                                     'task_state': None})
            elif inst['uuid'] not in guests and inst['vm_state'] in (
                    states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED) \
                    and inst.get('power_state') != states.NOSTATE \
                    and self.driver.capabilities.get('persistent_guests'):
                # As Nova: the record stays, its power state says the guest is gone.
                LOG.warning('The guest of %s is missing on %s', inst['uuid'], self.host)
                with contextlib.suppress(exception.InstanceNotFound):
                    self.conductor.instance_fault_create(
                        ctx, inst['uuid'], 500, f'The guest of this instance was not found on '
                        f'its compute host {self.host} when the host started.', None,
                        self.host)
                    self._update(ctx, inst['uuid'], {'power_state': states.NOSTATE,
                                                     'task_state': None})
        self._cleanup_running_deleted_instances(ctx, guests)

    def _cleanup_running_deleted_instances(self, ctx: RequestContext | None = None,
                                           guests: set[str] | None = None) -> None:
        """Reap this host's guests whose servers this deployment's DB knows as
        deleted (e.g. deleted while the host was down), as Nova does.

        The driver lists only guests that name this deployment and host. A
        guest the DB has never heard of (a DB restored from a backup, a
        domain made by hand) or whose server lives on another host is logged
        and left alone: nothing is destroyed that nobody asked to destroy.
        """
        ctx = ctx or get_admin_context()
        if guests is None:
            guests = set(self.driver.list_instance_uuids())
        if not guests:
            return
        known = {i['uuid']: i for i in self.conductor.instance_get_all_by_uuids(
            ctx, sorted(guests), read_deleted=True)}
        action = CONF.running_deleted_instance_action
        for uuid in sorted(guests):
            inst = known.get(uuid)
            if inst is None:
                LOG.warning('Guest %s on %s is unknown to this deployment\'s database; '
                            'left alone', uuid, self.host)
            elif not inst.get('deleted') and inst.get('vm_state') != states.DELETED:
                if inst.get('host') != self.host:
                    LOG.warning('Guest %s belongs to host %s; left alone', uuid,
                                inst.get('host'))
            elif action == 'reap':
                LOG.info('Destroying guest %s of a deleted server', uuid)
                try:
                    self.driver.destroy(ctx, inst, [], None, True)
                except Exception:
                    LOG.exception('Could not destroy the guest %s of a deleted server', uuid)
            elif action == 'log':
                LOG.warning('Guest %s of a deleted server is still on %s', uuid, self.host)

    def periodic_tasks(self) -> list[utils.Periodic]:
        tasks = [
            utils.Periodic('update_available_resource',
                           lambda: self.rt.update_available_resource(),
                           CONF.update_resources_interval),
            utils.Periodic('flush_usage', lambda: self.rt.flush(), 2.0),
        ]
        # (name, function, interval): each runs only with a positive interval.
        optional = [
            ('sync_power_states', self._sync_power_states, CONF.sync_power_state_interval),
            ('check_instance_build_time', self._check_build_timeouts,
             max(1.0, CONF.compute.build_timeout_seconds / 4)
             if CONF.compute.build_timeout_seconds else 0),
            ('cleanup_running_deleted_instances', self._cleanup_running_deleted_instances,
             CONF.running_deleted_instance_poll_interval),
            ('reclaim_queued_deletes', self._reclaim_queued_deletes,
             CONF.reclaim_instance_interval),
            ('poll_unconfirmed_resizes', self._poll_unconfirmed_resizes,
             max(1.0, CONF.resize_confirm_window / 4) if CONF.resize_confirm_window else 0),
            ('poll_shelved_instances', self._poll_shelved_instances,
             CONF.shelved_poll_interval if CONF.shelved_offload_time > 0 else 0),
            ('heal_instance_info_cache', self._heal_instance_info_cache,
             CONF.heal_instance_info_cache_interval),
        ]
        tasks += [utils.Periodic(name, fn, interval)
                  for name, fn, interval in optional if interval > 0]
        return tasks

    def _check_build_timeouts(self) -> None:
        """Builds on this host older than build_timeout_seconds end in ERROR.

        A build whose cast was lost (a broker restart) or whose driver hangs
        would otherwise stay in BUILD forever; one being worked on here right
        now (its lock held) is left alone.
        """
        ctx = get_admin_context()
        limit = datetime.timedelta(seconds=CONF.compute.build_timeout_seconds)
        now = utils.utcnow()
        for inst in self.conductor.instance_get_all_by_host(ctx, self.host):
            created = utils.parse_time(inst.get('created_at'))
            if inst['vm_state'] != states.BUILDING or created is None or now - created < limit:
                continue
            lock = self._locks.get(inst['uuid'])
            if lock is not None and lock.locked():
                continue
            LOG.warning('Build of %s timed out', inst['uuid'])
            self._cleanup_guest(ctx, inst)
            self._fail_build(ctx, inst, 'Instance build timed out. Set to error state.', None)

    # -- helpers -----------------------------------------------------------------

    @contextlib.contextmanager
    def _instance_lock(self, uuid: str) -> Iterator[None]:
        with self._locks_guard:
            lock = self._locks.setdefault(uuid, threading.Lock())
        with lock:
            yield

    def _update(self, ctx: RequestContext, uuid: str, values: dict[str, Any],
                expected: list[str | None] | None = None) -> Instance:
        return self.conductor.instance_update(ctx, uuid, values, expected_task_state=expected)

    @contextlib.contextmanager
    def _event(self, ctx: RequestContext, uuid: str, event: str,
               by_body: bool = False) -> Iterator[None]:
        """An instance action event: started now, finished with the outcome.
        With `by_body` the body's first and last updates open and close it
        (it only closes it here when it fails)."""
        if not by_body:
            self.conductor.action_event_start(ctx, uuid, event, self.host)
        try:
            yield
        except Exception as e:
            tb = traceback.format_exc()
            with contextlib.suppress(Exception):
                self.conductor.action_event_finish(ctx, uuid, event, 'Error', tb, self.host,
                                                   details=_describe(e))
            raise e
        if not by_body:
            self.conductor.action_event_finish(ctx, uuid, event, 'Success', None, self.host)

    def _fail_build(self, ctx: RequestContext, instance: Instance, message: str,
                    details: str | None) -> None:
        uuid = instance['uuid']
        with contextlib.suppress(exception.InstanceNotFound):
            self.conductor.instance_fault_create(ctx, uuid, 500, message, details, self.host)
            # A failed build holds nothing here any more, as in Nova.
            self._update(ctx, uuid, {'vm_state': states.ERROR, 'task_state': None,
                                     'host': None, 'node': None})
        try:
            self.placement.delete_allocation_for_instance(ctx, uuid)
        except exception.PlacementAPIConnectFailure as e:
            # The ERROR server keeps its allocation until it is deleted (the
            # API's delete removes it); the failure is not the build's.
            LOG.warning('The allocation of %s stays in placement for now: %s', uuid, e)

    # -- RPC methods ---------------------------------------------------------

    def build_and_run_instance(self, context: RequestContext, instance: Instance,
                               request_spec: RequestSpec, node: str,
                               allocations: AllocationRequest,
                               alternates: list[Selection]) -> None:
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            try:
                with self._event(context, uuid, BUILD_EVENT, by_body=True):
                    self._build(context, instance, request_spec, node, allocations)
            except (exception.InstanceNotFound, exception.InstanceInvalidState):
                LOG.info('Instance %s was deleted while building; cleaning up', uuid)
                self._cleanup_guest(context, instance)
                self._build_volumes_cleanup(context, instance, request_spec, delete=True)
                self._deallocate_network(context, instance, request_spec)
                self.placement.delete_allocation_for_instance(context, uuid)
            except Exception as e:
                LOG.exception('Build of %s failed on %s', uuid, self.host)
                self._cleanup_guest(context, instance)
                # Its ports go with it (the next host makes its own, as Nova's
                # drivers that deallocate on reschedule).
                self._deallocate_network(context, instance, request_spec)
                reason = no_reschedule_reason(e) or _describe(e)
                # Volumes are released; the ones made for it stay for the next
                # host, or go (delete_on_termination) with a build that ends here.
                final = not alternates or no_reschedule_reason(e) is not None
                self._build_volumes_cleanup(context, instance, request_spec, delete=final)
                if alternates and no_reschedule_reason(e) is None:
                    self.placement.delete_allocation_for_instance(context, uuid)
                    try:
                        inst = self._update(context, uuid, {'task_state': states.SCHEDULING,
                                                            'host': None, 'node': None})
                    except exception.InstanceNotFound:
                        return
                    self.conductor.reschedule_instance(
                        context, inst, request_spec, alternates, reason)
                else:
                    msg = str(exception.BuildAbortException(instance_uuid=uuid, reason=reason))
                    self._fail_build(context, instance, msg, traceback.format_exc())

    def _build(self, ctx: RequestContext, instance: Instance, spec: RequestSpec,
               node: str, allocations: AllocationRequest) -> None:
        uuid = instance['uuid']
        started = utils.utcnow()
        placed: Instance = {'host': self.host, 'node': node, 'launched_on': self.host}
        # Ports from Neutron take a while: 'networking' shows while they are made.
        first_expected = BUILD_STEPS[:1]
        if self._networking_waits(spec):
            self._update(ctx, uuid, dict(placed, task_state=states.NETWORKING),
                         BUILD_STEPS[:1])
            first_expected = BUILD_STEPS[:2]
        network_info = self._allocate_network(ctx, instance, spec)
        # The steps before the spawn go to conductor in one cast, without
        # waiting, and only once the spawn has taken STEPS_REPORT_DELAY.
        # (Embedded networking and block devices are local and instant; a
        # step that waits on another service reports itself before it
        # starts, as the Neutron networking above.) They open the build's
        # action event.
        steps = [(dict(placed, task_state=states.NETWORKING), first_expected),
                 (dict(placed, task_state=states.BLOCK_DEVICE_MAPPING,
                       network_info=network_info), BUILD_STEPS[:2]),
                 (dict(placed, task_state=states.SPAWNING), BUILD_STEPS[:3])]
        report = threading.Timer(STEPS_REPORT_DELAY, self._report_steps,
                                 (ctx, uuid, steps, started))
        report.daemon = True
        inst: Instance = {**instance, 'network_info': network_info, **placed}
        image_meta = {'id': inst.get('image_ref')}
        bdi = None
        if spec.get('block_device_mapping'):    # volumes: made and connected first
            bdi = self._prepare_block_devices(ctx, inst)
        spawn_start = utils.utcnow()
        report.start()
        try:
            if bdi:
                self.driver.spawn(ctx, inst, image_meta, [], None, allocations, network_info,
                                  block_device_info=bdi)
            else:
                self.driver.spawn(ctx, inst, image_meta, [], None, allocations, network_info)
        finally:
            report.cancel()
        self._complete_attachments(ctx, bdi)
        # ACTIVE (from whichever step the conductor has reached: a delete
        # meanwhile fails it), the spawn's timeline event and the end of the
        # build's event: one round trip.
        inst = self.conductor.instance_update(
            ctx, uuid, dict(placed, vm_state=states.ACTIVE, task_state=None,
                            power_state=states.RUNNING, launched_at=utils.utcnow(),
                            network_info=network_info),
            BUILD_STEPS, record_events=[('compute_spawn', spawn_start, utils.utcnow()),
                                        *self.driver.spawn_steps(inst)],
            finish_event=BUILD_EVENT, finish_event_start=started, host=self.host)
        self.rt.instance_added(inst)
        LOG.info('Instance %s is ACTIVE on %s', uuid, self.host)

    def _report_steps(self, ctx: RequestContext, uuid: str, steps: list[Any],
                      started: datetime.datetime) -> None:
        try:
            self.conductor.instance_progress(ctx, uuid, steps, start_event=BUILD_EVENT,
                                             start_time=started, host=self.host)
        except Exception:  # the build goes on; its ACTIVE update says the rest
            LOG.exception('Could not report the build steps of %s', uuid)

    def _cleanup_guest(self, ctx: RequestContext, instance: Instance) -> None:
        try:
            self.driver.destroy(ctx, instance, [], None, True)
        except Exception:
            LOG.exception('Could not clean up the guest of %s', instance['uuid'])

    def terminate_instance(self, context: RequestContext, instance: Instance) -> None:
        self._delete_instance(context, instance, 'compute_terminate_instance')

    def _delete_instance(self, context: RequestContext, instance: Instance,
                         event: str | None) -> None:
        """Guest destroyed, allocations removed, instance destroyed (its mapping
        queued for delete); event: the instance action event it is recorded
        under (None: no event, as a reclaim has no action)."""
        uuid = instance['uuid']
        self.instance_events.clear(uuid)    # nobody waits for a deleted server's events
        with self._instance_lock(uuid):
            try:
                with (self._event(context, uuid, event) if event
                      else contextlib.nullcontext()):
                    volumes = self._volume_bdms(context, instance)
                    self.driver.destroy(context, instance, instance.get('network_info') or [],
                                        block_device_info(volumes), True)
                    if volumes:     # detached; the delete_on_termination ones deleted
                        self._teardown_volumes(context, instance, delete=True)
                    self._deallocate_network(context, instance, raise_on_failure=True)
                    self.placement.delete_allocation_for_instance(context, uuid)
                    self.conductor.instance_destroy(context, uuid)
            except exception.InstanceNotFound:
                self.placement.delete_allocation_for_instance(context, uuid)
            except Exception as e:
                LOG.exception('Delete of %s failed', uuid)
                with contextlib.suppress(exception.InstanceNotFound):
                    self.conductor.instance_fault_create(context, uuid, 500, str(e),
                                                         traceback.format_exc(), self.host)
                    self._update(context, uuid, {'vm_state': states.ERROR, 'task_state': None})
                return
            finally:
                self.rt.instance_removed(uuid)
        with self._locks_guard:
            self._locks.pop(uuid, None)

    def _power_state(self, instance: Instance) -> int | None:
        """The guest's power state as the hypervisor tells it now (NOSTATE
        when it has no guest; None when it cannot say)."""
        try:
            return int(self.driver.get_info(instance)['state'])
        except exception.InstanceNotFound:
            return states.NOSTATE
        except Exception:  # noqa: BLE001 - the hypervisor itself is in trouble
            LOG.exception('Power state of %s unknown', instance['uuid'])
            return None

    def _power_action(self, ctx: RequestContext, instance: Instance, event: str,
                      fn: Any, done: dict[str, Any], error_unless_running: bool = False
                      ) -> None:
        """Run a power action; its outcome is what the server shows.

        On failure, as Nova: a fault says why, the action's event says Error,
        the task state is cleared so the server can be acted on again, and the
        power state is what the hypervisor reports. With error_unless_running
        (reboot) a guest that is not running afterwards puts the server in
        ERROR; a hard reboot then recovers it.
        """
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            try:
                with self._event(ctx, uuid, event):
                    try:
                        fn()
                    except NotImplementedError:
                        # A driver that cannot: Nova's 501 in the fault, never
                        # a silent success.
                        raise exception.NotSupported() from None
            except Exception as e:
                LOG.error('%s of %s failed: %s', event, uuid, e,
                          exc_info=not isinstance(e, exception.MinovaException))
                values: dict[str, Any] = {'task_state': None}
                power = self._power_state(instance)
                if power is not None:
                    values['power_state'] = power
                if error_unless_running and power != states.RUNNING:
                    values['vm_state'] = states.ERROR
                with contextlib.suppress(exception.InstanceNotFound):
                    self.conductor.instance_fault_create(
                        ctx, uuid, getattr(e, 'code', 500) or 500, _describe(e),
                        traceback.format_exc(), self.host)
                    self._update(ctx, uuid, values)
                return
            # The power state the hypervisor now reports (a stopped guest
            # whose domain had vanished is SHUTOFF with no state, as in Nova).
            power = self._power_state(instance)
            values = dict(done, task_state=None)
            if power is not None:
                values['power_state'] = power
            with contextlib.suppress(exception.InstanceNotFound):
                self._update(ctx, uuid, values)

    def reboot_instance(self, context: RequestContext, instance: Instance,
                        reboot_type: str) -> None:
        self._power_action(
            context, instance, 'compute_reboot_instance',
            lambda: self.driver.reboot(context, instance, instance.get('network_info') or [],
                                       reboot_type, **self._bdi_kwargs(context, instance)),
            {'vm_state': states.ACTIVE}, error_unless_running=True)

    def stop_instance(self, context: RequestContext, instance: Instance) -> None:
        self._power_action(context, instance, 'compute_stop_instance',
                           lambda: self.driver.power_off(instance, CONF.shutdown_timeout),
                           {'vm_state': states.STOPPED})

    def start_instance(self, context: RequestContext, instance: Instance) -> None:
        if instance.get('vm_state') == states.SHELVED:   # an unshelve (compute/shelve.py)
            self.start_shelved(context, instance)
            return
        self._power_action(
            context, instance, 'compute_start_instance',
            lambda: self.driver.power_on(context, instance, instance.get('network_info') or [],
                                         **self._bdi_kwargs(context, instance)),
            {'vm_state': states.ACTIVE})

    # -- pause, suspend, crash dump (rpc 1.3) -----------------------------------------

    def pause_instance(self, context: RequestContext, instance: Instance) -> None:
        self._power_action(context, instance, 'compute_pause_instance',
                           lambda: self.driver.pause(instance), {'vm_state': states.PAUSED})

    def unpause_instance(self, context: RequestContext, instance: Instance) -> None:
        self._power_action(context, instance, 'compute_unpause_instance',
                           lambda: self.driver.unpause(instance), {'vm_state': states.ACTIVE})

    def suspend_instance(self, context: RequestContext, instance: Instance) -> None:
        self._power_action(context, instance, 'compute_suspend_instance',
                           lambda: self.driver.suspend(context, instance),
                           {'vm_state': states.SUSPENDED})

    def resume_instance(self, context: RequestContext, instance: Instance) -> None:
        self._power_action(
            context, instance, 'compute_resume_instance',
            lambda: self.driver.resume(context, instance, instance.get('network_info') or [],
                                       **self._bdi_kwargs(context, instance)),
            {'vm_state': states.ACTIVE})

    def trigger_crash_dump(self, context: RequestContext, instance: Instance) -> None:
        # No state changes: the guest's kernel decides what an NMI does.
        self._power_action(context, instance, 'compute_trigger_crash_dump',
                           lambda: self.driver.trigger_crash_dump(instance), {})

    # -- rescue and unrescue (rpc 1.7) -----------------------------------------------

    def rescue_instance(self, context: RequestContext, instance: Instance,
                        rescue_password: str, rescue_image_ref: str | None = None) -> None:
        """The guest booted from the rescue image (rescue_image_ref, else the
        server's own image) with its own disk attached, as Nova's: then
        RESCUED. A failure: a fault, the task state cleared, the vm_state kept."""
        image: dict[str, Any] = {'id': rescue_image_ref} if rescue_image_ref else {}

        def rescue() -> None:
            # As Nova's: a clean shutdown first, so the disk the rescue
            # guest sees is consistent.
            self.driver.power_off(instance, CONF.shutdown_timeout)
            self.driver.rescue(context, instance, instance.get('network_info') or [],
                               image, rescue_password, **self._bdi_kwargs(context, instance))
        self._power_action(context, instance, 'compute_rescue_instance', rescue,
                           {'vm_state': states.RESCUED, 'launched_at': utils.utcnow()})

    # -- changePassword (rpc 1.10, a call) -----------------------------------------

    def set_admin_password(self, context: RequestContext, instance: Instance,
                           new_pass: str) -> None:
        """The guest's administrator password set by the driver, as Nova's: only
        in a running guest; the task state is cleared whatever happens, and the
        caller (a call) hears InstancePasswordSetFailed (409) or NotSupported (501)."""
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            try:
                with self._event(context, uuid, 'compute_set_admin_password'):
                    if self._power_state(instance) != states.RUNNING:
                        raise exception.InstancePasswordSetFailed(
                            instance=uuid, reason='instance is not running')
                    try:
                        self.driver.set_admin_password(instance, new_pass)
                    except NotImplementedError:
                        raise exception.NotSupported(
                            'Unable to set password on instance') from None
                    except exception.SetAdminPasswdNotSupported as e:
                        raise exception.InstancePasswordSetFailed(
                            instance=uuid, reason=e.message) from None
            finally:
                with contextlib.suppress(exception.InstanceNotFound,
                                         exception.InstanceInvalidState):
                    self._update(context, uuid, {'task_state': None},
                                 [states.UPDATING_PASSWORD])

    def unrescue_instance(self, context: RequestContext, instance: Instance) -> None:
        """The guest back on its own disk (the rescue disk dropped): ACTIVE."""
        self._power_action(context, instance, 'compute_unrescue_instance',
                           lambda: self.driver.unrescue(context, instance),
                           {'vm_state': states.ACTIVE})

    # -- soft delete and restore (rpc 1.8) ------------------------------------------

    def soft_delete_instance(self, context: RequestContext, instance: Instance) -> None:
        """The guest powered off (Nova's fallback where the driver has no soft
        delete of its own): SOFT_DELETED, resources and allocations kept until
        the reclaim or a forceDelete."""
        self._power_action(context, instance, 'compute_soft_delete_instance',
                           lambda: self.driver.power_off(instance, CONF.shutdown_timeout),
                           {'vm_state': states.SOFT_DELETED})

    def restore_instance(self, context: RequestContext, instance: Instance) -> None:
        """A SOFT_DELETED server's guest powered on again: ACTIVE."""
        self._power_action(
            context, instance, 'compute_restore_instance',
            lambda: self.driver.power_on(context, instance, instance.get('network_info') or []),
            {'vm_state': states.ACTIVE})

    def _reclaim_queued_deletes(self) -> None:
        """Delete for good this host's servers soft-deleted longer than
        [DEFAULT] reclaim_instance_interval, as Nova's periodic task."""
        interval = CONF.reclaim_instance_interval
        if interval <= 0:
            return
        ctx = get_admin_context()
        limit = datetime.timedelta(seconds=interval)
        now = utils.utcnow()
        for inst in self.conductor.instance_get_all_by_host(ctx, self.host):
            if inst.get('vm_state') != states.SOFT_DELETED or inst.get('task_state'):
                continue
            since = utils.parse_time(inst.get('deleted_at'))
            if since is not None and now - since < limit:
                continue
            LOG.info('Reclaiming soft-deleted instance %s', inst['uuid'])
            try:
                self._delete_instance(ctx, inst, None)
            except Exception as e:  # noqa: BLE001 - the next run tries again
                LOG.warning('Periodic reclaim failed to delete instance %s: %s',
                            inst['uuid'], e)

    # -- resize (rpc 1.9) --------------------------------------------------------------
    #
    # As Nova: prep_resize on the destination, resize_instance on the source
    # (power off, disk handed over), finish_resize on the destination
    # (VERIFY_RESIZE); then confirm_resize on the source, or revert_resize on
    # the destination and finish_revert_resize on the source. The migration
    # record goes pre-migrating -> migrating -> post-migrating -> finished ->
    # confirmed | reverted. The server's system metadata holds old_flavor,
    # new_flavor and old_vm_state (set by the API) until it is over.

    @staticmethod
    def _flavor_values(flavor: dict[str, Any]) -> dict[str, Any]:
        return {'flavor': flavor, 'vcpus': flavor.get('vcpus') or 0,
                'memory_mb': flavor.get('memory_mb') or 0,
                'root_gb': flavor.get('root_gb') or 0,
                'ephemeral_gb': flavor.get('ephemeral_gb') or 0}

    @staticmethod
    def _sysmeta_flavor(instance: Instance, key: str) -> dict[str, Any]:
        raw = (instance.get('system_metadata') or {}).get(key)
        return json.loads(raw) if raw else dict(instance.get('flavor') or {})

    @staticmethod
    def _resize_done_sysmeta(instance: Instance) -> dict[str, str]:
        sysmeta = dict(instance.get('system_metadata') or {})
        for key in ('old_flavor', 'new_flavor', 'old_vm_state'):
            sysmeta.pop(key, None)
        return sysmeta

    def _resize_failed(self, ctx: RequestContext, instance: Instance,
                       migration: dict[str, Any], e: BaseException,
                       event: str = '') -> None:
        """As Nova: a step that fails leaves the server in ERROR with a fault
        and the migration 'error' (a step that refused before it changed
        anything, InstanceFaultRollback, leaves it as it was, with the fault).
        Placement as Nova leaves it: before the disk was handed over the
        migration's allocation goes back to the server; after (the
        destination failed), the server keeps the destination's and the
        migration's on the source is dropped. Confirm and revert failures
        leave both until the server is deleted."""
        uuid = instance['uuid']
        rollback = isinstance(e, exception.InstanceFaultRollback)
        LOG.error('Resize of %s failed on %s: %s', uuid, self.host, e,
                  exc_info=not isinstance(e, exception.MinovaException))
        with contextlib.suppress(Exception):
            self.conductor.migration_update(ctx, migration['uuid'], {'status': 'error'})
        try:
            if event in ('compute_prep_resize', 'compute_resize_instance'):
                self.placement.move_allocations(ctx, migration['uuid'], uuid)
            elif event == 'compute_finish_resize':
                self.placement.delete_allocation_for_instance(ctx, migration['uuid'])
        except Exception as pe:  # noqa: BLE001 - the server's state is still told
            LOG.warning('Allocations of the failed resize of %s not put back: %s', uuid, pe)
        with contextlib.suppress(exception.InstanceNotFound):
            self.conductor.instance_fault_create(ctx, uuid, getattr(e, 'code', 500) or 500,
                                                 _describe(e), traceback.format_exc(),
                                                 self.host)
            values: dict[str, Any] = {'vm_state': states.ERROR, 'task_state': None}
            if rollback:
                current = self.conductor.instance_get(ctx, uuid)
                old = (current.get('system_metadata') or {}).get('old_vm_state')
                values = {'vm_state': old or states.ACTIVE, 'task_state': None,
                          'system_metadata': self._resize_done_sysmeta(current)}
            elif event == 'compute_finish_resize':
                # As Nova: resize_instance pointed the server at this host.
                values.update(host=self.host, node=migration.get('dest_node') or self.host)
            self._update(ctx, uuid, values)

    @contextlib.contextmanager
    def _resize_step(self, ctx: RequestContext, instance: Instance,
                     migration: dict[str, Any], event: str) -> Iterator[None]:
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            try:
                with self._event(ctx, uuid, event):
                    yield
            except (exception.InstanceNotFound, exception.InstanceInvalidState) as e:
                LOG.info('Resize step %s of %s given up: %s', event, uuid, e)
            except Exception as e:
                self._resize_failed(ctx, instance, migration, e, event)

    def prep_resize(self, context: RequestContext, instance: Instance,
                    flavor: dict[str, Any], migration: dict[str, Any], node: str) -> None:
        """Destination: the scheduler's claim holds the new flavor here; the
        source is asked to hand the server over."""
        with self._resize_step(context, instance, migration, 'compute_prep_resize'):
            if flavor.get('vcpus') is None:
                raise exception.MinovaException('The flavor of the resize is incomplete')
            if migration.get('migration_type') == 'migration' \
                    and migration.get('source_compute') == self.host \
                    and not self.driver.capabilities.get('supports_migrate_to_same_host'):
                raise exception.MinovaException(
                    f"Unable to migrate instance ({instance['uuid']}) to current host "
                    f'({self.host}).')
            # As Nova's claim: the address the source copies the disks to.
            migration = self.conductor.migration_update(context, migration['uuid'],
                                                        {'dest_host': CONF.my_ip})
            compute_rpcapi.for_cell(None).resize_instance(
                context, migration['source_compute'], instance, flavor, migration)

    def resize_instance(self, context: RequestContext, instance: Instance,
                        flavor: dict[str, Any], migration: dict[str, Any]) -> None:
        """Source: the guest powered off and its disk handed to the destination."""
        uuid = instance['uuid']
        with self._resize_step(context, instance, migration, 'compute_resize_instance'):
            self.conductor.migration_update(context, migration['uuid'],
                                            {'status': 'migrating'})
            self._update(context, uuid, {'task_state': states.RESIZE_MIGRATING},
                         [states.RESIZE_PREP])
            try:
                self.driver.migrate_disk_and_power_off(
                    context, instance, migration['dest_host'] or migration['dest_compute'],
                    flavor, instance.get('network_info') or [])
            except NotImplementedError:
                raise exception.NotSupported() from None
            volumes = self._volume_bdms(context, instance)
            if volumes:     # their connections to this host go; the destination's come
                self._disconnect_volumes(context, instance, volumes)
            self.conductor.migration_update(context, migration['uuid'],
                                            {'status': 'post-migrating'})
            self._update(context, uuid, {'task_state': states.RESIZE_MIGRATED,
                                         'power_state': states.SHUTDOWN},
                         [states.RESIZE_MIGRATING])
            compute_rpcapi.for_cell(None).finish_resize(
                context, migration['dest_compute'], instance, flavor, migration)

    def finish_resize(self, context: RequestContext, instance: Instance,
                      flavor: dict[str, Any], migration: dict[str, Any]) -> None:
        """Destination: the guest made with the new flavor; VERIFY_RESIZE."""
        uuid = instance['uuid']
        with self._resize_step(context, instance, migration, 'compute_finish_resize'):
            inst = self._update(context, uuid, {'task_state': states.RESIZE_FINISH},
                                [states.RESIZE_MIGRATED])
            power_on = (inst.get('system_metadata') or {}).get('old_vm_state') \
                != states.STOPPED
            placed = dict(self._flavor_values(flavor), host=self.host,
                          node=migration['dest_node'] or self.host)
            nw_info = self._bind_ports_here(inst)
            moved = cast('Instance', {**inst, **placed})
            bdi = self._prepare_block_devices(context, moved)   # connected here
            try:
                self.driver.finish_migration(context, moved, nw_info, power_on,
                                             **({'block_device_info': bdi} if bdi else {}))
            except NotImplementedError:
                raise exception.NotSupported() from None
            self._complete_attachments(context, bdi)
            self.conductor.migration_update(context, migration['uuid'],
                                            {'status': 'finished'})
            inst = self._update(context, uuid, dict(
                placed, vm_state=states.RESIZED, task_state=None, network_info=nw_info,
                power_state=states.RUNNING if power_on else states.SHUTDOWN),
                [states.RESIZE_FINISH])
            self.rt.instance_added(inst)
            LOG.info('Instance %s resized onto %s; awaiting confirmation', uuid, self.host)

    def confirm_resize(self, context: RequestContext, instance: Instance,
                       migration: dict[str, Any]) -> None:
        """Source: the copy kept for a revert and the migration's allocation
        (the old flavor's, here) dropped; ACTIVE, or STOPPED if it was."""
        uuid = instance['uuid']
        with self._resize_step(context, instance, migration, 'compute_confirm_resize'):
            self.driver.confirm_migration(context, instance,
                                          instance.get('network_info') or [])
            self.placement.delete_allocation_for_instance(context, migration['uuid'])
            if migration.get('dest_compute') != self.host:
                self.rt.instance_removed(uuid)
            self.conductor.migration_update(context, migration['uuid'],
                                            {'status': 'confirmed'})
            current = self.conductor.instance_get(context, uuid)
            stopped = current.get('power_state') == states.SHUTDOWN
            self._update(context, uuid, {
                'vm_state': states.STOPPED if stopped else states.ACTIVE, 'task_state': None,
                'system_metadata': self._resize_done_sysmeta(current)}, [None])
            LOG.info('Resize of %s confirmed', uuid)

    def revert_resize(self, context: RequestContext, instance: Instance,
                      migration: dict[str, Any]) -> None:
        """Destination: the new guest destroyed, then the source takes the
        server back (finish_revert_resize)."""
        uuid = instance['uuid']
        with self._resize_step(context, instance, migration, 'compute_revert_resize'):
            # As Nova: on the source's own host (storage shared with it) the
            # disks stay for finish_revert_migration to replace.
            volumes = self._volume_bdms(context, instance)
            self.driver.destroy(context, instance, instance.get('network_info') or [],
                                block_device_info(volumes),
                                migration.get('source_compute') != self.host)
            if volumes:     # the source connects them again
                self._disconnect_volumes(context, instance, volumes)
            if migration.get('source_compute') != self.host:
                self.rt.instance_removed(uuid)
            self.conductor.migration_update(context, migration['uuid'],
                                            {'status': 'reverted'})
            compute_rpcapi.for_cell(None).finish_revert_resize(
                context, migration['source_compute'], instance, migration)

    def finish_revert_resize(self, context: RequestContext, instance: Instance,
                             migration: dict[str, Any]) -> None:
        """Source: the old flavor back, the migration's allocation back on the
        server (the destination's dropped), the kept guest running again."""
        uuid = instance['uuid']
        with self._resize_step(context, instance, migration,
                               'compute_finish_revert_resize'):
            current = self.conductor.instance_get(context, uuid)
            old = self._sysmeta_flavor(current, 'old_flavor')
            power_on = (current.get('system_metadata') or {}).get('old_vm_state') \
                != states.STOPPED
            self.placement.move_allocations(context, migration['uuid'], uuid)
            placed = dict(self._flavor_values(old), host=self.host,
                          node=migration.get('source_node') or self.host)
            nw_info = self._bind_ports_here(current)
            back = cast('Instance', {**current, **placed})
            bdi = self._prepare_block_devices(context, back)
            try:
                self.driver.finish_revert_migration(
                    context, back, nw_info, power_on,
                    **({'block_device_info': bdi} if bdi else {}))
            except NotImplementedError:
                raise exception.NotSupported() from None
            self._complete_attachments(context, bdi)
            inst = self._update(context, uuid, dict(
                placed, vm_state=states.ACTIVE if power_on else states.STOPPED,
                network_info=nw_info,
                task_state=None, system_metadata=self._resize_done_sysmeta(current),
                power_state=states.RUNNING if power_on else states.SHUTDOWN),
                [states.RESIZE_REVERTING])
            self.rt.instance_added(inst)
            LOG.info('Resize of %s reverted onto %s', uuid, self.host)

    def _poll_unconfirmed_resizes(self) -> None:
        """[DEFAULT] resize_confirm_window: resizes to this host that waited
        that long for confirmation are confirmed, as Nova's periodic task."""
        ctx = get_admin_context()
        window = CONF.resize_confirm_window
        for migration in self.conductor.migration_get_unconfirmed_by_dest_compute(
                ctx, window, self.host):
            uuid = migration['instance_uuid']
            try:
                inst = self.conductor.instance_get(ctx, uuid)
            except exception.InstanceNotFound:
                self.conductor.migration_update(ctx, migration['uuid'], {'status': 'error'})
                continue
            if inst.get('vm_state') != states.RESIZED or inst.get('task_state') is not None:
                if inst.get('vm_state') != states.RESIZED:
                    self.conductor.migration_update(ctx, migration['uuid'],
                                                    {'status': 'error'})
                continue
            LOG.info('Automatically confirming the resize of %s after %ss', uuid, window)
            migration = self.conductor.migration_update(ctx, migration['uuid'],
                                                        {'status': 'confirming'})
            compute_rpcapi.for_cell(None).confirm_resize(
                ctx, migration['source_compute'], inst, migration)

    # -- createImage and createBackup (rpc 1.6) -------------------------------------

    def snapshot_instance(self, context: RequestContext, instance: Instance,
                          image_id: str) -> None:
        """The server's disk uploaded into the queued image image_id (createImage)."""
        self._snapshot(context, instance, image_id, 'compute_snapshot_instance',
                       states.IMAGE_SNAPSHOT_PENDING, states.IMAGE_SNAPSHOT)

    def backup_instance(self, context: RequestContext, instance: Instance, image_id: str,
                        backup_type: str, rotation: int) -> None:
        """A snapshot into image_id, then the server's backups of backup_type
        beyond the newest `rotation` deleted (rotation 0: the new one too), as Nova."""
        self._snapshot(context, instance, image_id, 'compute_backup_instance',
                       states.IMAGE_BACKUP, states.IMAGE_BACKUP,
                       after=lambda: self._rotate_backups(instance, backup_type, rotation))

    def _snapshot(self, ctx: RequestContext, instance: Instance, image_id: str, event: str,
                  pending: str, expected: str, after: Any = None) -> None:
        """Nova's _snapshot_instance: the driver snapshots and uploads, moving the
        task state on (image_pending_upload, image_uploading), then None. A server
        deleted meanwhile: the unfinished image is deleted. A failure: a fault, the
        task state cleared, the image deleted unless it became active."""
        from minova.clients import image as image_client
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            try:
                with self._event(ctx, uuid, event):
                    values: dict[str, Any] = {'task_state': expected}
                    power = self._power_state(instance)
                    if power is not None:
                        values['power_state'] = power
                    self._update(ctx, uuid, values, [pending])
                    if power != states.RUNNING:
                        LOG.warning('Snapshot of %s, which is not running (power state %s)',
                                    uuid, power)

                    def update_task_state(task_state: str,
                                          expected_state: str = expected) -> None:
                        self._update(ctx, uuid, {'task_state': task_state}, [expected_state])

                    try:
                        self.driver.snapshot(ctx, instance, image_id, update_task_state)
                    except NotImplementedError:
                        raise exception.NotSupported() from None
                    self._update(ctx, uuid, {'task_state': None}, [states.IMAGE_UPLOADING])
                    if after is not None:
                        after()
            except (exception.InstanceNotFound, exception.InstanceNotRunning,
                    exception.InstanceInvalidState):
                # Deleted meanwhile, or its task state taken over (a delete, a
                # reset): whoever did that owns the server's state now.
                LOG.info('Instance %s disappeared or changed hands during its snapshot',
                         uuid)
                self._delete_unfinished_image(image_id)
            except image_client.ImageNotFound:
                LOG.warning('Image %s of the snapshot of %s was deleted meanwhile',
                            image_id, uuid)
                with contextlib.suppress(exception.InstanceNotFound):
                    self._update(ctx, uuid, {'task_state': None})
            except Exception as e:
                LOG.error('Snapshot of %s into image %s failed: %s', uuid, image_id, e,
                          exc_info=not isinstance(e, exception.MinovaException))
                self._delete_unfinished_image(image_id)
                values = {'task_state': None}
                power = self._power_state(instance)
                if power is not None:
                    values['power_state'] = power
                with contextlib.suppress(exception.InstanceNotFound):
                    self.conductor.instance_fault_create(
                        ctx, uuid, getattr(e, 'code', 500) or 500, _describe(e),
                        traceback.format_exc(), self.host)
                    self._update(ctx, uuid, values)

    @staticmethod
    def _delete_unfinished_image(image_id: str) -> None:
        from minova.clients import image as image_client
        client = image_client.shared_client()
        try:
            if client.show(None, image_id).get('status') != 'active':
                client.delete_image(image_id)
        except image_client.ImageNotFound:
            pass
        except Exception:
            LOG.exception('Could not clean up image %s', image_id)

    @staticmethod
    def _rotate_backups(instance: Instance, backup_type: str, rotation: int) -> None:
        from minova.clients import image as image_client
        client = image_client.shared_client()
        backups = client.list_all({'image_type': 'backup', 'backup_type': backup_type,
                                   'instance_uuid': instance['uuid']})   # newest first
        for image in backups[rotation:]:
            LOG.info('Rotating out backup %s of %s', image['id'], instance['uuid'])
            with contextlib.suppress(image_client.ImageNotFound):
                client.delete_image(image['id'])

    # -- rebuild (rpc 1.5) ------------------------------------------------------------

    def rebuild_instance(self, context: RequestContext, instance: Instance,
                         image: dict[str, Any], preserve_ephemeral: bool = False,
                         reimage_boot_volume: bool = False) -> None:
        """The root disk made again from the server's (new) image, as Nova's:
        task states rebuilding -> rebuild_block_device_mapping -> rebuild_spawning,
        then ACTIVE; a server that was STOPPED is STOPPED again afterwards. A
        failure puts the server in ERROR with a fault (a rebuild can recover it).
        reimage_boot_volume (1.18, 2.93): the root volume of a volume-backed
        server is reimaged by Cinder first (compute/volumes.py)."""
        uuid = instance['uuid']
        was_stopped = instance.get('vm_state') == states.STOPPED
        with self._instance_lock(uuid):
            try:
                with self._event(context, uuid, 'compute_rebuild_instance'):
                    bdi_kwargs: dict[str, Any] | None = None
                    if reimage_boot_volume:
                        self._reimage_root_volume(context, instance, image)
                    self._update(context, uuid,
                                 {'task_state': states.REBUILD_BLOCK_DEVICE_MAPPING},
                                 [states.REBUILDING])
                    if reimage_boot_volume:     # the volumes connected again
                        info = self._prepare_block_devices(context, instance)
                        bdi_kwargs = {'block_device_info': info} if info else {}
                    self._update(context, uuid, {'task_state': states.REBUILD_SPAWNING},
                                 [states.REBUILD_BLOCK_DEVICE_MAPPING])
                    if bdi_kwargs is None:
                        bdi_kwargs = self._bdi_kwargs(context, instance)
                    try:
                        self.driver.rebuild(context, instance, image,
                                            instance.get('network_info') or [],
                                            power_on=not was_stopped,
                                            preserve_ephemeral=preserve_ephemeral,
                                            **bdi_kwargs)
                    except NotImplementedError:
                        raise exception.NotSupported() from None
                    if reimage_boot_volume:
                        self._complete_attachments(context,
                                                   bdi_kwargs.get('block_device_info'))
            except (exception.InstanceNotFound, exception.InstanceInvalidState) as e:
                LOG.info('Rebuild of %s given up: %s', uuid, e)
                return
            except Exception as e:
                LOG.error('Rebuild of %s failed: %s', uuid, e,
                          exc_info=not isinstance(e, exception.MinovaException))
                values: dict[str, Any] = {'vm_state': states.ERROR, 'task_state': None}
                power = self._power_state(instance)
                if power is not None:
                    values['power_state'] = power
                with contextlib.suppress(exception.InstanceNotFound):
                    self.conductor.instance_fault_create(
                        context, uuid, getattr(e, 'code', 500) or 500, _describe(e),
                        traceback.format_exc(), self.host)
                    self._update(context, uuid, values)
                return
            values = {'vm_state': states.STOPPED if was_stopped else states.ACTIVE,
                      'task_state': None, 'launched_at': utils.utcnow()}
            power = self._power_state(instance)
            if power is not None:
                values['power_state'] = power
            # (A delete meanwhile has the last word.)
            with contextlib.suppress(exception.InstanceNotFound,
                                     exception.InstanceInvalidState):
                self._update(context, uuid, values, [states.REBUILD_SPAWNING])
            LOG.info('Instance %s rebuilt from image %s on %s', uuid,
                     instance.get('image_ref'), self.host)

    # -- console and power-state sync (rpc 1.1, periodic) ---------------------------

    def get_console_output(self, context: RequestContext, instance: Instance,
                           tail_length: int | None) -> str | None:
        """The guest's console log (last tail_length lines); None when it has none."""
        try:
            output = self.driver.get_console_output(context, instance)
        except exception.InstanceNotFound:
            return None
        if tail_length is not None and tail_length >= 0:
            lines = output.splitlines(keepends=True)
            output = ''.join(lines[-tail_length:]) if tail_length else ''
        return output

    # -- remote consoles (rpc 1.4) -------------------------------------------------

    def get_vnc_console(self, context: RequestContext, instance: Instance,
                        console_type: str) -> dict[str, Any]:
        """Where the proxy reaches the guest's VNC display, and the base of the
        URL the user opens (this host's [vnc] novncproxy_base_url), as Nova."""
        if not CONF.vnc.enabled:
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        if console_type != 'novnc':
            raise exception.ConsoleTypeInvalid(console_type=console_type)
        return self._console(context, instance, console_type, CONF.vnc.novncproxy_base_url,
                             self.driver.get_vnc_console)

    def get_serial_console(self, context: RequestContext, instance: Instance,
                           console_type: str) -> dict[str, Any]:
        if not CONF.serial_console.enabled:
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        if console_type != 'serial':
            raise exception.ConsoleTypeInvalid(console_type=console_type)
        return self._console(context, instance, console_type, CONF.serial_console.base_url,
                             self.driver.get_serial_console)

    def _console(self, context: RequestContext, instance: Instance, console_type: str,
                 access_url_base: str, read: Any) -> dict[str, Any]:
        """A guest that is not running (or not yet there) has no console: Nova's
        InstanceNotReady (409); a driver without this console: 501."""
        try:
            running = self.driver.get_info(instance)['state'] == states.RUNNING
            info = read(context, instance) if running else None
        except exception.InstanceNotFound:
            info = None
        except NotImplementedError:
            raise exception.NotSupported() from None
        if info is None:
            raise exception.InstanceNotReady(instance_id=instance['uuid'])
        return {**info, 'console_type': console_type, 'access_url_base': access_url_base}

    # -- host and guest usage, external events (rpc 1.2) -------------------------

    def get_host_uptime(self, context: RequestContext) -> str:
        try:
            return self.driver.get_host_uptime()
        except NotImplementedError:
            raise exception.NotSupported() from None

    def get_diagnostics(self, context: RequestContext, instance: Instance
                        ) -> dict[str, Any]:
        return self._diagnostics(instance, self.driver.get_diagnostics)

    def get_instance_diagnostics(self, context: RequestContext, instance: Instance
                                 ) -> dict[str, Any]:
        return self._diagnostics(instance, self.driver.get_instance_diagnostics)

    def _diagnostics(self, instance: Instance, read: Any) -> dict[str, Any]:
        """As Nova: only a running guest has diagnostics (409 otherwise)."""
        try:
            power = self.driver.get_info(instance)['state']
        except exception.InstanceNotFound:
            power = states.NOSTATE
        except NotImplementedError:
            raise exception.NotSupported() from None
        if power != states.RUNNING:
            raise exception.InstanceInvalidState(
                action='get_diagnostics', instance_uuid=instance['uuid'],
                attr='power state', state=states.POWER_STATE_MAP.get(power, 'pending'))
        try:
            return read(instance)
        except NotImplementedError:
            raise exception.NotSupported() from None

    def _sync_power_states(self) -> None:
        """Bring DB power states in line with the hypervisor, as Nova does: a
        guest that shut itself down makes its server SHUTOFF."""
        ctx = get_admin_context()
        for inst in self.conductor.instance_get_all_by_host(ctx, self.host):
            if inst['task_state'] is not None or inst['vm_state'] not in (
                    states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED):
                continue
            lock = self._locks.get(inst['uuid'])
            if lock is not None and lock.locked():
                continue
            try:
                power = self.driver.get_info(inst)['state']
            except exception.InstanceNotFound:
                power = states.NOSTATE
            except Exception:
                LOG.exception('Power state of %s unknown', inst['uuid'])
                continue
            values: dict[str, Any] = {}
            if power != inst.get('power_state'):
                values['power_state'] = power
            if inst['vm_state'] in (states.ACTIVE, states.PAUSED) and power in (
                    states.SHUTDOWN, states.CRASHED):
                LOG.info('Guest %s stopped by itself; marking the server stopped',
                         inst['uuid'])
                values['vm_state'] = states.STOPPED
            elif inst['vm_state'] == states.ACTIVE and power == states.SUSPENDED_POWER:
                # As Nova: a guest suspended behind its back is stopped.
                LOG.warning('Guest %s is suspended unexpectedly; stopping it', inst['uuid'])
                with contextlib.suppress(Exception):
                    self.driver.power_off(inst)
                values.update(vm_state=states.STOPPED, power_state=self._power_state(inst)
                              or states.SHUTDOWN)
            # An ACTIVE guest paused from outside (a backup tool, a migration)
            # keeps its vm_state, as in Nova: only its power state says PAUSED.
            elif inst['vm_state'] == states.STOPPED and power == states.RUNNING:
                LOG.info('Guest %s runs though its server is stopped; powering it off',
                         inst['uuid'])
                with contextlib.suppress(Exception):
                    self.driver.power_off(inst)
                values['power_state'] = states.SHUTDOWN
            if values:
                with contextlib.suppress(exception.InstanceNotFound,
                                         exception.InstanceInvalidState):
                    self._update(ctx, inst['uuid'], values, [None])
