"""Shelve, shelve offload and unshelve on a compute host (rpc 1.11), as Nova's.

shelve_instance: the guest powered off and snapshotted into the image the API
queued (task states shelving -> shelving_image_pending_upload ->
shelving_image_uploading), system metadata shelved_at / shelved_image_id /
shelved_host, SHELVED; with [DEFAULT] shelved_offload_time 0 offloaded at once.
Offload: the guest and its disks destroyed, the allocations deleted, host and
node cleared: SHELVED_OFFLOADED. unshelve_instance: on the host the scheduler
chose, the guest spawned from the shelve image, which is then deleted.
"""
from __future__ import annotations

import contextlib
import datetime
import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from minova import exception, states, utils
from minova.compute.shelve_api import SHELVE_SYSMETA
from minova.compute.volumes import block_device_info
from minova.conf import CONF
from minova.context import RequestContext, get_admin_context

if TYPE_CHECKING:
    from minova.clients.placement import Client as PlacementClient
    from minova.compute.resource_tracker import ResourceTracker
    from minova.conductor.rpcapi import ConductorAPI
    from minova.db.instances import VIF, Instance
    from minova.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)

# The driver's snapshot task states, as a shelve shows them (Nova's map).
_SHELVING_STATES = {states.IMAGE_PENDING_UPLOAD: states.SHELVING_IMAGE_PENDING_UPLOAD,
                    states.IMAGE_UPLOADING: states.SHELVING_IMAGE_UPLOADING,
                    states.SHELVING: states.SHELVING}


def unshelved_sysmeta(instance: Instance) -> dict[str, str]:
    sysmeta = dict(instance.get('system_metadata') or {})
    for key in SHELVE_SYSMETA:
        sysmeta.pop(key, None)
    return sysmeta


def _describe(e: BaseException) -> str:
    return str(e) or e.__class__.__name__


class ShelveMixin:
    host: str
    driver: ComputeDriver
    conductor: ConductorAPI
    placement: PlacementClient
    rt: ResourceTracker

    if TYPE_CHECKING:
        def _instance_lock(self, uuid: str) -> contextlib.AbstractContextManager[None]: ...

        def _event(self, ctx: RequestContext, uuid: str, event: str,
                   by_body: bool = False) -> contextlib.AbstractContextManager[None]: ...

        def _update(self, ctx: RequestContext, uuid: str, values: dict[str, Any],
                    expected: list[str | None] | None = None) -> Instance: ...

        def _power_state(self, instance: Instance) -> int | None: ...

        def _bind_ports_here(self, instance: Instance) -> list[VIF]: ...

        def _power_action(self, ctx: RequestContext, instance: Instance, event: str,
                          fn: Any, done: dict[str, Any],
                          error_unless_running: bool = False) -> None: ...

        @staticmethod
        def _delete_unfinished_image(image_id: str) -> None: ...

        # compute/volumes.py
        def _volume_bdms(self, ctx: RequestContext,
                         instance: Instance) -> list[dict[str, Any]]: ...

        def _disconnect_volumes(self, ctx: RequestContext, instance: Instance,
                                bdms: list[dict[str, Any]]) -> None: ...

        def _prepare_block_devices(self, ctx: RequestContext,
                                   instance: Instance) -> dict[str, Any] | None: ...

        def _complete_attachments(self, ctx: RequestContext,
                                  info: dict[str, Any] | None) -> None: ...

    # -- shelve ----------------------------------------------------------------

    def shelve_instance(self, context: RequestContext, instance: Instance,
                        image_id: str) -> None:
        uuid = instance['uuid']
        before = instance.get('vm_state')
        shelved = False
        with self._instance_lock(uuid):
            try:
                with self._event(context, uuid, 'compute_shelve_instance'):
                    # (A paused guest gets no clean shutdown, as in Nova.)
                    paused = instance.get('power_state') == states.PAUSED_POWER
                    self.driver.power_off(instance, 0 if paused else CONF.shutdown_timeout)

                    def update_task_state(task_state: str,
                                          expected_state: str = states.SHELVING) -> None:
                        self._update(context, uuid, {'task_state': _SHELVING_STATES[task_state]},
                                     [_SHELVING_STATES[expected_state]])

                    try:
                        self.driver.snapshot(context, instance, image_id, update_task_state)
                    except NotImplementedError:
                        raise exception.NotSupported() from None
                    current = self.conductor.instance_get(context, uuid)
                    sysmeta = dict(current.get('system_metadata') or {})
                    sysmeta.update(shelved_at=utils.utcnow().isoformat(),
                                   shelved_image_id=image_id, shelved_host=self.host)
                    offload = CONF.shelved_offload_time == 0
                    values: dict[str, Any] = {
                        'vm_state': states.SHELVED, 'system_metadata': sysmeta,
                        'task_state': states.SHELVING_OFFLOADING if offload else None}
                    power = self._power_state(instance)
                    if power is not None:
                        values['power_state'] = power
                    inst = self._update(context, uuid, values,
                                        [states.SHELVING, states.SHELVING_IMAGE_UPLOADING])
                    shelved = True
                    LOG.info('Instance %s shelved into image %s', uuid, image_id)
                    if offload:
                        self._offload(context, inst)
            except (exception.InstanceNotFound, exception.InstanceInvalidState) as e:
                # Deleted meanwhile, or its task state taken over (a reset).
                LOG.info('Shelve of %s given up: %s', uuid, e)
                if not shelved:
                    self._delete_unfinished_image(image_id)
            except Exception as e:
                LOG.error('Shelve of %s failed: %s', uuid, e,
                          exc_info=not isinstance(e, exception.MinovaException))
                if not shelved:
                    self._delete_unfinished_image(image_id)
                    self._restore_power(context, instance, before)
                self._fail(context, instance, e)

    def _restore_power(self, ctx: RequestContext, instance: Instance,
                       vm_state: str | None) -> None:
        """A shelve that failed before SHELVED: the guest back as it was."""
        if vm_state == states.STOPPED:
            return
        steps: list[Callable[[], None]] = [
            lambda: self.driver.power_on(ctx, instance, instance.get('network_info') or [])]
        if vm_state == states.PAUSED:
            steps.append(lambda: self.driver.pause(instance))
        elif vm_state == states.SUSPENDED:
            steps.append(lambda: self.driver.suspend(ctx, instance))
        try:
            for step in steps:
                step()
        except Exception:
            LOG.exception('Could not bring the guest of %s back after a failed shelve',
                          instance['uuid'])

    def _fail(self, ctx: RequestContext, instance: Instance, e: BaseException) -> None:
        """As Nova's reverts_task_state and instance fault: a fault, the task
        state cleared, the power state what the hypervisor says."""
        uuid = instance['uuid']
        values: dict[str, Any] = {'task_state': None}
        power = self._power_state(instance)
        if power is not None:
            values['power_state'] = power
        tb = traceback.format_exc() if e.__traceback__ is not None else None
        with contextlib.suppress(exception.InstanceNotFound):
            self.conductor.instance_fault_create(
                ctx, uuid, getattr(e, 'code', 500) or 500, _describe(e), tb, self.host)
            self._update(ctx, uuid, values)

    # -- offload ---------------------------------------------------------------

    def shelve_offload_instance(self, context: RequestContext, instance: Instance) -> None:
        self._offload_locked(context, instance, 'compute_shelve_offload_instance')

    def _offload_locked(self, ctx: RequestContext, instance: Instance,
                        event: str | None) -> None:
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            try:
                with (self._event(ctx, uuid, event) if event
                      else contextlib.nullcontext()):
                    self._offload(ctx, instance)
            except (exception.InstanceNotFound, exception.InstanceInvalidState) as e:
                LOG.info('Shelve offload of %s given up: %s', uuid, e)
            except Exception as e:
                LOG.error('Shelve offload of %s failed: %s', uuid, e,
                          exc_info=not isinstance(e, exception.MinovaException))
                self._fail(ctx, instance, e)

    def _offload(self, ctx: RequestContext, instance: Instance) -> None:
        """The guest and its disks destroyed, its allocations deleted (before
        the state changes, as Nova, so a client that sees SHELVED_OFFLOADED
        sees the resources free), host and node cleared."""
        uuid = instance['uuid']
        self.driver.power_off(instance, 0)
        power = self._power_state(instance)
        volumes = self._volume_bdms(ctx, instance)     # compute/volumes.py
        self.driver.destroy(ctx, instance, instance.get('network_info') or [],
                            block_device_info(volumes), True)
        if volumes:
            self._disconnect_volumes(ctx, instance, volumes)
        self.placement.delete_allocation_for_instance(ctx, uuid)
        self.rt.instance_removed(uuid)
        self._update(ctx, uuid, {
            'vm_state': states.SHELVED_OFFLOADED, 'task_state': None,
            'power_state': states.SHUTDOWN if power in (None, states.NOSTATE) else power,
            'host': None, 'node': None}, [states.SHELVING, states.SHELVING_OFFLOADING])
        LOG.info('Instance %s offloaded from %s', uuid, self.host)

    def _poll_shelved_instances(self) -> None:
        """[DEFAULT] shelved_offload_time > 0: this host's servers SHELVED that
        long are offloaded, as Nova's periodic task."""
        if CONF.shelved_offload_time <= 0:
            return
        ctx = get_admin_context()
        limit = datetime.timedelta(seconds=CONF.shelved_offload_time)
        now = utils.utcnow()
        for inst in self.conductor.instance_get_all_by_host(ctx, self.host):
            if inst.get('vm_state') != states.SHELVED or inst.get('task_state'):
                continue
            since = utils.parse_time((inst.get('system_metadata') or {}).get('shelved_at'))
            if since is None or now - since < limit:
                continue
            try:
                inst = self._update(ctx, inst['uuid'],
                                    {'task_state': states.SHELVING_OFFLOADING}, [None])
            except (exception.InstanceNotFound, exception.InstanceInvalidState):
                continue
            LOG.info('Offloading %s, shelved since %s', inst['uuid'], since)
            self._offload_locked(ctx, inst, None)

    # -- a restart in the middle ---------------------------------------------------

    _SHELVING = (states.SHELVING, states.SHELVING_IMAGE_PENDING_UPLOAD,
                 states.SHELVING_IMAGE_UPLOADING)

    def _reconcile_shelve(self, ctx: RequestContext, inst: Instance) -> bool:
        """Finish or undo a shelve step a restart of this host interrupted
        (True: handled): an offload is finished; a shelve is given up with a
        fault (its snapshot was never finished; the server can be shelved
        again); an unshelve's spawn is undone: SHELVED_OFFLOADED with a fault."""
        uuid, task = inst['uuid'], inst.get('task_state')
        if task == states.SHELVING_OFFLOADING:
            LOG.info('Completing interrupted shelve offload of %s', uuid)
            self._offload_locked(ctx, inst, None)
        elif task in self._SHELVING:
            LOG.warning('Shelve of %s was interrupted by a restart', uuid)
            self._fail(ctx, inst, exception.MinovaException(
                f'Shelve of the instance was interrupted by a restart of its compute '
                f'host {self.host}.'))
        elif inst.get('vm_state') == states.SHELVED_OFFLOADED and task == states.SPAWNING:
            LOG.warning('Unshelve of %s was interrupted by a restart', uuid)
            self._drop_guest(ctx, inst)
            with contextlib.suppress(exception.InstanceNotFound):
                self.conductor.instance_fault_create(
                    ctx, uuid, 500, 'Unshelve of the instance was interrupted by a restart '
                    f'of its compute host {self.host}.', None, self.host)
                self._update(ctx, uuid, {'task_state': None, 'host': None, 'node': None,
                                         'power_state': states.SHUTDOWN})
        else:
            return False
        return True

    # -- unshelve ---------------------------------------------------------------

    def unshelve_instance(self, context: RequestContext, instance: Instance,
                          image: dict[str, Any] | None, node: str) -> None:
        """The scheduler's claim holds the server here: spawned from the shelve
        image (image; None: the server's own), ACTIVE, the image deleted and
        the shelve keys dropped. A failure: the claim deleted, host cleared,
        SHELVED_OFFLOADED again with a fault."""
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            try:
                with self._event(context, uuid, 'compute_unshelve_instance'):
                    self._unshelve(context, instance, image, node)
            except (exception.InstanceNotFound, exception.InstanceInvalidState) as e:
                LOG.info('Unshelve of %s given up: %s', uuid, e)
                self._drop_guest(context, instance)
            except Exception as e:
                LOG.error('Unshelve of %s failed on %s: %s', uuid, self.host, e,
                          exc_info=not isinstance(e, exception.MinovaException))
                self._drop_guest(context, instance)
                with contextlib.suppress(exception.InstanceNotFound):
                    self.conductor.instance_fault_create(
                        context, uuid, getattr(e, 'code', 500) or 500, _describe(e),
                        traceback.format_exc(), self.host)
                    self._update(context, uuid, {'task_state': None, 'host': None,
                                                 'node': None,
                                                 'power_state': states.SHUTDOWN})

    def _drop_guest(self, ctx: RequestContext, instance: Instance) -> None:
        with contextlib.suppress(Exception):
            self.driver.destroy(ctx, instance, [], None, True)
        with contextlib.suppress(Exception):
            self.placement.delete_allocation_for_instance(ctx, instance['uuid'])
        self.rt.instance_removed(instance['uuid'])

    def _unshelve(self, ctx: RequestContext, instance: Instance,
                  image: dict[str, Any] | None, node: str) -> None:
        uuid = instance['uuid']
        placed: dict[str, Any] = {'host': self.host, 'node': node}
        inst = self._update(ctx, uuid, dict(placed, task_state=states.SPAWNING),
                            [states.UNSHELVING])
        allocations = self.placement.get_allocations_for_consumer(ctx, uuid)
        image_meta = image or {'id': inst.get('image_ref')}
        # Its ports follow it to this host (binding:host_id), as Nova's unshelve.
        nw_info = self._bind_ports_here(inst)
        inst = {**inst, 'network_info': nw_info}
        bdi = self._prepare_block_devices(ctx, inst)   # its volumes, connected here
        self.driver.spawn(ctx, inst, image_meta, [], None, allocations,  # type: ignore[arg-type]
                          nw_info, **({'block_device_info': bdi} if bdi else {}))
        self._complete_attachments(ctx, bdi)
        if image:
            self._delete_shelve_image(str(image['id']), uuid)
        inst = self._update(ctx, uuid, dict(
            placed, vm_state=states.ACTIVE, task_state=None, power_state=states.RUNNING,
            launched_at=utils.utcnow(), system_metadata=unshelved_sysmeta(inst),
            network_info=nw_info),
            [states.SPAWNING])
        self.rt.instance_added(inst)
        LOG.info('Instance %s unshelved onto %s', uuid, self.host)

    @staticmethod
    def _delete_shelve_image(image_id: str, uuid: str) -> None:
        from minova.clients import image as image_client
        try:
            image_client.shared_client().delete_image(image_id)
        except image_client.ImageNotFound:
            pass
        except Exception:   # the server is back; the image is only left behind
            LOG.exception('Could not delete the shelve image %s of %s', image_id, uuid)

    def start_shelved(self, context: RequestContext, instance: Instance) -> None:
        """unshelve of a SHELVED server (Nova's start_instance does it): the
        guest powered on where it is, the shelve image deleted, the shelve
        keys dropped; ACTIVE."""
        image_id = (instance.get('system_metadata') or {}).get('shelved_image_id')

        def start() -> None:
            self.driver.power_on(context, instance, instance.get('network_info') or [])
            if image_id:
                self._delete_shelve_image(image_id, instance['uuid'])
        self._power_action(context, instance, 'compute_start_instance', start,
                           {'vm_state': states.ACTIVE,
                            'system_metadata': unshelved_sysmeta(instance)})
