"""shelve, shelveOffload and unshelve in the compute API, as Nova's.

shelve: from ACTIVE, SHUTOFF, PAUSED or SUSPENDED, an image '<name>-shelved'
made now (queued) and the host told to power off and snapshot into it;
shelveOffload: a SHELVED server's guest and allocations dropped by its host;
unshelve: conductor starts it where it is (SHELVED) or schedules it again
(SHELVED_OFFLOADED; 2.77 availability zone, 2.91 host).
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from minova import exception, states
from minova.cells import lookup
from minova.compute import rpcapi as compute_rpcapi
from minova.context import RequestContext
from minova.db import actions, build_requests, instances, services
from minova.db.instances import Instance

if TYPE_CHECKING:
    from minova.cells.mappings import CellMapping
    from minova.conductor.rpcapi import ConductorAPI
    from minova.db.build_requests import RequestSpec

LOG = logging.getLogger(__name__)

# The shelve keys of a server's system metadata, dropped when it is unshelved.
SHELVE_SYSMETA = ('shelved_at', 'shelved_image_id', 'shelved_host')


class _Unset:
    """unshelve without an availability_zone (None unpins the server, 2.91)."""


UNSET = _Unset()


class ShelveAPIMixin:
    conductor: ConductorAPI

    if TYPE_CHECKING:
        def check_lock(self, ctx: RequestContext, instance: Instance) -> None: ...

        def check_states(self, instance: Instance, action: str,
                         vm_states: Collection[str],
                         task_states: Collection[str | None] | None = (None,)) -> None: ...

        def _on_host(self, instance: Instance) -> tuple[CellMapping, str]: ...

        def _snapshot_meta(self, ctx: RequestContext, instance: Instance, name: str,
                           image_type: str, extra: dict[str, str]) -> dict[str, Any]: ...

        @staticmethod
        def _check_availability_zone(zone: str | None) -> None: ...

    def shelve(self, ctx: RequestContext, instance: Instance) -> None:
        """Task state shelving, a 'shelve' action, the snapshot image queued,
        then the host's shelve_instance. Raises InstanceIsLocked,
        InstanceInvalidState (409)."""
        from minova.clients import image as image_client
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, 'shelve', states.ALLOW_SHELVE)
        cell, host = self._on_host(instance)
        url = cell['database_connection']
        images = image_client.CallerImageClient()
        image = images.create(ctx, self._snapshot_meta(
            ctx, instance, f"{instance.get('display_name') or ''}-shelved", 'snapshot', {}))
        sysmeta = dict(instance.get('system_metadata') or {})
        # As Nova: the image it was booted from, which unshelve puts back.
        sysmeta['image_base_image_ref'] = str(instance.get('image_ref') or '')
        try:
            inst = instances.update(url, uuid, {'task_state': states.SHELVING,
                                                'system_metadata': sysmeta}, [None])
        except (exception.InstanceNotFound, exception.InstanceInvalidState):
            with contextlib.suppress(Exception):
                images.delete(ctx, image['id'])
            raise
        actions.action_start(url, uuid, 'shelve', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        compute_rpcapi.for_cell(cell).shelve_instance(ctx, host, inst, image['id'])

    def shelve_offload(self, ctx: RequestContext, instance: Instance) -> None:
        """SHELVED only: task state shelving_offloading, then the host drops it."""
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, 'shelveOffload', (states.SHELVED,))
        cell, host = self._on_host(instance)
        url = cell['database_connection']
        inst = instances.update(url, uuid, {'task_state': states.SHELVING_OFFLOADING},
                                [None])
        actions.action_start(url, uuid, 'shelveOffload', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        compute_rpcapi.for_cell(cell).shelve_offload_instance(ctx, host, inst)

    def unshelve(self, ctx: RequestContext, instance: Instance,
                 new_az: str | None | _Unset = UNSET, host: str | None = None,
                 authorize_host: Callable[[], None] | None = None) -> None:
        """Nova's checks, in Nova's order: lock and state (409); a zone or host
        only for a SHELVED_OFFLOADED server (UnshelveInstanceInvalidState,
        409); the zone must exist (Invalid, 400); a host needs
        authorize_host (the unshelve_to_host policy), must be a compute host
        (ComputeHostNotFound, 400) in the server's zone after the unshelve
        (UnshelveHostNotInAZ, 409). The zone is saved in the request spec;
        task state unshelving, an 'unshelve' action, then conductor."""
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, 'unshelve', (states.SHELVED, states.SHELVED_OFFLOADED))
        saved = build_requests.spec_get_many([uuid]).get(uuid)
        spec: RequestSpec = {**saved} if saved else {}
        if (not isinstance(new_az, _Unset) or host) \
                and instance.get('vm_state') != states.SHELVED_OFFLOADED:
            raise exception.UnshelveInstanceInvalidState(
                state=instance.get('vm_state'), instance_uuid=uuid)
        zone = spec.get('availability_zone') if isinstance(new_az, _Unset) else new_az
        if not isinstance(new_az, _Unset) and new_az:
            self._check_availability_zone(new_az)
        cell = lookup.get(str(instance['cell_uuid']))
        url = cell['database_connection']
        if host:
            if authorize_host is not None:
                authorize_host()
            if not services.get_all(url, host=host, binary='minova-compute'):
                raise exception.ComputeHostNotFound(host=host)
            from minova.db import aggregates
            if zone is not None and aggregates.host_zone(host) != zone:
                raise exception.UnshelveHostNotInAZ(host=host, availability_zone=zone)
        if not isinstance(new_az, _Unset):
            build_requests.spec_update(uuid, {'availability_zone': zone})
        spec['availability_zone'] = zone
        # Only this scheduling goes to the host asked for (Nova does not save it).
        spec.pop('requested_destination', None)
        if host:
            spec['requested_destination'] = {'host': host, 'node': None}
        inst = instances.update(url, uuid, {'task_state': states.UNSHELVING}, [None])
        actions.action_start(url, uuid, 'unshelve', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        inst['cell_uuid'] = cell['uuid']
        self.conductor.unshelve_instance(ctx, inst, spec)

    @staticmethod
    def delete_shelved_image(ctx: RequestContext, instance: Instance) -> None:
        """As Nova's delete: a shelved server's snapshot goes with it."""
        if instance.get('vm_state') not in (states.SHELVED, states.SHELVED_OFFLOADED):
            return
        image_id = (instance.get('system_metadata') or {}).get('shelved_image_id')
        if not image_id:
            return
        from minova.clients import image as image_client
        try:
            image_client.shared_client().delete_image(image_id)
        except Exception as e:  # noqa: BLE001 - the delete goes on without it
            LOG.warning('Could not delete the shelve image %s of %s: %s', image_id,
                        instance['uuid'], e)
