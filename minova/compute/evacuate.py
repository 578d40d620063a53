"""Evacuation on the compute hosts (compute RPC 1.13), as Nova's:

- the destination rebuilds the server from its image (evacuate_instance:
  the migration record 'pre-migrating' once the host takes it, task states
  rebuilding -> rebuild_block_device_mapping -> rebuild_spawning, the server's
  host and node moved here, the record 'done'; a failure leaves the record
  'failed', the destination's allocation dropped and the server in ERROR);
- the old host, when its compute starts again, destroys its local copies of
  the servers evacuated from it, and only those (the evacuation records from
  this host still accepted, pre-migrating or done), removes their
  allocations on its node and marks the records 'completed'
  (destroy_evacuated_instances, Nova's _destroy_evacuated_instances).
"""
from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from minova import exception, states, utils
from minova.conf import CONF

if TYPE_CHECKING:
    from minova.clients.placement import Client as PlacementClient
    from minova.compute.resource_tracker import ResourceTracker
    from minova.conductor.rpcapi import ConductorAPI
    from minova.context import RequestContext
    from minova.db.instances import VIF, Instance
    from minova.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)

EVENT = 'compute_rebuild_instance'
# The evacuations from a host whose local copies are still there to destroy.
CLEANUP_STATUSES = ['accepted', 'pre-migrating', 'done']


class EvacuateMixin:
    """Mixed into ComputeManager; what it uses of the manager is declared here."""

    host: str
    driver: ComputeDriver
    conductor: ConductorAPI
    placement: PlacementClient
    rt: ResourceTracker
    _update: Callable[..., Instance]
    _event: Callable[..., AbstractContextManager[None]]
    _instance_lock: Callable[[str], AbstractContextManager[None]]
    _power_state: Callable[[Instance], int | None]
    _bind_ports_here: Callable[[Instance], list[VIF]]
    # compute/volumes.py
    _volume_bdms: Callable[..., list[dict[str, Any]]]
    _disconnect_volumes: Callable[..., None]
    _prepare_block_devices: Callable[..., dict[str, Any] | None]
    _complete_attachments: Callable[..., None]

    # -- the destination ----------------------------------------------------------

    def evacuate_instance(self, context: RequestContext, instance: Instance,
                          migration: dict[str, Any], node: str,
                          target_state: str | None = None) -> None:
        """The server rebuilt here from its image. It ends ACTIVE, or STOPPED
        when it was stopped or target_state asks it (2.95; a server in ERROR
        ends ACTIVE either way)."""
        uuid = instance['uuid']
        stopped = instance.get('vm_state') == states.STOPPED or (
            target_state == states.STOPPED and instance.get('vm_state') != states.ERROR)
        with self._instance_lock(uuid):
            try:
                with self._event(context, uuid, EVENT):
                    self._evacuate_here(context, instance, migration, node, stopped)
            except (exception.InstanceNotFound, exception.InstanceInvalidState) as e:
                # Deleted, or taken over (a reset), meanwhile: the server is
                # not ours to fail.
                LOG.info('Evacuation of %s given up: %s', uuid, e)
                self._evacuation_failed(context, instance, migration, node, None)
            except Exception as e:
                self._evacuation_failed(context, instance, migration, node, e)

    def _evacuate_here(self, ctx: RequestContext, instance: Instance,
                       migration: dict[str, Any], node: str, stopped: bool) -> None:
        uuid = instance['uuid']
        if not self.driver.capabilities.get('supports_evacuate'):
            raise exception.InstanceEvacuateNotSupported()
        # The claim: this host takes the move on.
        self.conductor.migration_update(ctx, migration['uuid'], {
            'dest_compute': self.host, 'dest_node': node, 'dest_host': CONF.my_ip,
            'status': 'pre-migrating'})
        if uuid in self.driver.list_instance_uuids():
            raise exception.InstanceExists(name=uuid)
        self._update(ctx, uuid, {'task_state': states.REBUILD_BLOCK_DEVICE_MAPPING,
                                 'power_state': states.NOSTATE}, [states.REBUILDING])
        placed: dict[str, Any] = {'host': self.host, 'node': node}
        guest: Instance = {**instance, **placed}  # type: ignore[typeddict-item]
        # Its ports follow it here (binding:host_id), as Nova's
        # setup_instance_network_on_host before the rebuild.
        nw_info = self._bind_ports_here(guest)
        guest['network_info'] = nw_info
        # Its volumes: the dead host's attachments replaced, connected here
        # (compute/volumes.py), as Nova's evacuation.
        volumes = self._volume_bdms(ctx, instance)
        if volumes:
            self._disconnect_volumes(ctx, instance, volumes)
        bdi = self._prepare_block_devices(ctx, guest) if volumes else None
        self._update(ctx, uuid, {'task_state': states.REBUILD_SPAWNING},
                     [states.REBUILD_BLOCK_DEVICE_MAPPING])
        try:
            # From the server's own image: nothing of the old disk survives a
            # dead host without shared storage.
            if bdi:
                self.driver.rebuild(ctx, guest, {'id': instance.get('image_ref')},
                                    nw_info, power_on=not stopped, block_device_info=bdi)
            else:
                self.driver.rebuild(ctx, guest, {'id': instance.get('image_ref')},
                                    nw_info, power_on=not stopped)
        except NotImplementedError:
            raise exception.NotSupported() from None
        except Exception:
            # A half-made guest goes: the server may be evacuated here again.
            with contextlib.suppress(Exception):
                self.driver.destroy(ctx, guest, [], None, True)
            raise
        values = dict(placed, vm_state=states.STOPPED if stopped else states.ACTIVE,
                      task_state=None, launched_at=utils.utcnow(), network_info=nw_info)
        power = self._power_state(guest)
        if power is not None:
            values['power_state'] = power
        self._complete_attachments(ctx, bdi)
        inst = self._update(ctx, uuid, values, [states.REBUILD_SPAWNING])
        self.rt.instance_added(inst)
        # Done only once the server belongs to this host, as in Nova.
        self.conductor.migration_update(ctx, migration['uuid'], {'status': 'done'})
        LOG.info('Instance %s evacuated from %s onto %s', uuid,
                 migration.get('source_compute'), self.host)

    def _evacuation_failed(self, ctx: RequestContext, instance: Instance,
                           migration: dict[str, Any], node: str,
                           error: BaseException | None) -> None:
        """As Nova: the record 'failed', the destination's allocation dropped
        (the source's stays with the server); with an error, the server in
        ERROR with a fault."""
        uuid = instance['uuid']
        if error is not None:
            LOG.error('Evacuation of %s onto %s failed: %s', uuid, self.host, error,
                      exc_info=not isinstance(error, exception.MinovaException))
        with contextlib.suppress(Exception):
            self.conductor.migration_update(ctx, migration['uuid'], {'status': 'failed'})
        rp = (self.rt.nodes.get(node) or {}).get('uuid')
        if rp:
            try:
                self.placement.remove_provider_from_allocation(ctx, uuid, rp)
            except Exception:
                LOG.exception('Could not drop the allocation of %s on %s', uuid, node)
        if error is None:
            return
        with contextlib.suppress(exception.InstanceNotFound):
            self.conductor.instance_fault_create(
                ctx, uuid, getattr(error, 'code', 500) or 500,
                getattr(error, 'message', None) or str(error) or error.__class__.__name__,
                traceback.format_exc(), self.host)
            self._update(ctx, uuid, {'vm_state': states.ERROR, 'task_state': None})

    # -- the old host, starting again ---------------------------------------------------

    def destroy_evacuated_instances(self, ctx: RequestContext) -> set[str]:
        """The local guests of servers evacuated from this host destroyed, their
        allocations on this host's nodes removed, their records 'completed'.
        Returns the servers concerned: the rest of the start-up leaves them alone."""
        evacuations = {m['instance_uuid']: m for m in self.conductor.migration_get_all_by_filters(
            ctx, {'source_compute': self.host, 'status': CLEANUP_STATUSES,
                  'migration_type': 'evacuation'})}
        if not evacuations:
            return set()
        known = {i['uuid']: i for i in self.conductor.instance_get_all_by_uuids(
            ctx, sorted(evacuations), read_deleted=True)}
        for uuid in sorted(set(self.driver.list_instance_uuids()) & evacuations.keys()):
            LOG.info('Destroying the guest of %s: the server was evacuated from %s',
                     uuid, self.host)
            guest: Instance = known.get(uuid) or {'uuid': uuid}
            try:
                self.driver.destroy(ctx, guest, guest.get('network_info') or [], None, True)
            except Exception:
                LOG.exception('Could not destroy the guest of evacuated server %s', uuid)
        for uuid, migration in evacuations.items():
            with self._evacuation_cleanup(uuid):
                inst = known.get(uuid)
                if inst is None:
                    continue   # gone for good: its allocations went with it
                rp = (self.rt.nodes.get(migration.get('source_node') or '') or {}).get('uuid')
                if rp is None:
                    LOG.error('Failed to clean the allocation of evacuated server %s: its '
                              'source node %s is not found', uuid, migration.get('source_node'))
                    continue
                if not inst.get('deleted'):
                    self.placement.remove_provider_from_allocation(ctx, uuid, rp)
                self.conductor.migration_update(ctx, migration['uuid'],
                                                {'status': 'completed'})
        return set(evacuations)

    @staticmethod
    @contextlib.contextmanager
    def _evacuation_cleanup(uuid: str) -> Iterator[None]:
        """One server's clean-up failing does not stop the others' or the start."""
        try:
            yield
        except Exception:
            LOG.exception('Clean-up of evacuated server %s failed; the next start '
                          'tries again', uuid)
