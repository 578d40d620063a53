"""The compute API layer: what the REST handlers call to act on servers.

It owns the cross-cell logic (where a server lives, build requests before a
cell is chosen) and casts to conductor and compute. The REST layer does
validation, policy and rendering; it never touches cell DBs directly for
servers.

Instance dicts are rows of the cell `instances` table with JSON columns
decoded (see minova/db/instances.py), plus:
  'fault': the latest fault dict (code, message, details, created_at) or None,
  'cell_uuid': the cell the server lives in (None while it is a build request).
A server still waiting to be scheduled is rendered from its build request with
the same keys (vm_state 'building', task_state 'scheduling', host None).
"""
from __future__ import annotations

import contextlib
import functools
import logging
import random
import time
from collections.abc import Collection
from typing import Any

from minova import context, exception, states, utils
from minova.cells import lookup, mappings
from minova.cells.mappings import CellMapping
from minova.compute import boot, listing, records, shelve_api
from minova.compute import rpcapi as compute_rpcapi
from minova.compute.api_network import NetworkAPIMixin
from minova.compute.api_volumes import VolumesAPIMixin
from minova.compute.live_migration_api import LiveMigrationAPI
from minova.conductor import rpcapi as conductor_rpcapi
from minova.context import RequestContext
from minova.db import (
    actions,
    build_requests,
    console_auth_tokens,
    engines,
    instances,
    server_groups,
    server_migrations,
    services,
)
from minova.db.build_requests import RequestSpec
from minova.db.flavors import Flavor
from minova.db.instances import Instance

LOG = logging.getLogger(__name__)


class CellUnavailable(exception.MinovaException):
    # Nova raises a 500 with this message below 2.69; 503 says what it is.
    msg_fmt = ('Cell %(cell_uuid)s is not responding or returned an exception, hence '
               'instance info is not available.')
    code = 503


# Tries of a boot whose quota recheck found a concurrent request counted with it.
RECHECK_ATTEMPTS = 4


class API(NetworkAPIMixin, records.RecordsAPI, shelve_api.ShelveAPIMixin, LiveMigrationAPI,
          VolumesAPIMixin):
    def __init__(self) -> None:
        self.conductor = conductor_rpcapi.ConductorAPI()

    @functools.cached_property
    def placement(self) -> Any:
        from minova.clients import placement as placement_client
        return placement_client.Client()

    # -- create --------------------------------------------------------------

    def create(self, ctx: RequestContext, request: boot.BootRequest
               ) -> tuple[list[Instance], str]:
        """Quota-check, write build requests, cast to conductor.

        Returns (instances, reservation_id). Raises TooManyInstances (403).
        """
        for attempt in range(1, RECHECK_ATTEMPTS + 1):
            plan = self._plan(ctx, request)   # counts again: a full quota is 403 here
            built: list[Instance] = []
            specs: list[RequestSpec] = []
            for index in range(plan.count):
                uuid = utils.generate_uuid()
                built.append(boot.instance(plan, index, uuid))
                specs.append(boot.request_spec(plan, uuid))
            try:
                self._record(ctx, plan, built, specs)
                break
            except exception.QuotaRecheckFailed:
                # Every racer near the limit undoes on the recheck; without a
                # second try a burst could be refused whole with room left.
                if attempt == RECHECK_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.02, 0.2) * attempt)
        self.conductor.schedule_and_build_instances(ctx, [i['uuid'] for i in built])
        for inst in built:
            inst.update({'cell_uuid': None, 'fault': None})
        return built, plan.reservation_id

    def _plan(self, ctx: RequestContext, request: boot.BootRequest) -> boot.BootPlan:
        """The checks before anything is written: image, quotas, group, zone."""
        from minova import quota
        flavor = request.flavor
        project = context.project_id(ctx)
        image = None
        if request.image_ref:
            image = self.check_image(ctx, request.image_ref, flavor)
            if image is not None and image.get('block_device_mapping'):
                self.image_defined_bdms(ctx, request, image)   # api_volumes.py
        if request.metadata:
            quota.enforce_metadata_items(project, len(request.metadata))
        group = self._requested_group(ctx, request.scheduler_hints)
        self._check_availability_zone(request.availability_zone)
        count = quota.enforce_instances(project, request.min_count, flavor['vcpus'],
                                        flavor['memory_mb'], max_count=request.max_count)
        if group is not None:
            self._check_group_quota(ctx, group, count)
        return boot.BootPlan(request, context.user_id(ctx), project, count,
                             'r-' + utils.generate_uuid()[:8], utils.utcnow(), image, group)

    def _record(self, ctx: RequestContext, plan: boot.BootPlan, built: list[Instance],
                specs: list[RequestSpec]) -> None:
        """Write the build requests (and group members); undo them if the quota
        recheck finds the room taken meanwhile."""
        from minova import quota
        group = plan.group
        uuids = [i['uuid'] for i in built]
        build_requests.create(built, specs)
        try:
            if group is not None:
                server_groups.add_members(group['uuid'], uuids)
            # Counting and writing are not atomic: count again now that these
            # servers are recorded, and undo them if a concurrent request
            # took the room meanwhile.
            quota.recheck_instances(plan.project_id, plan.count, plan.request.flavor['vcpus'],
                                    plan.request.flavor['memory_mb'])
            if group is not None:
                self._check_group_quota(ctx, server_groups.get(group['uuid']), 0)
        except Exception:
            if group is not None:
                for uuid in uuids:
                    server_groups.remove_member(uuid)
            build_requests.discard(uuids)
            raise

    @staticmethod
    def _requested_group(ctx: RequestContext, hints: dict[str, Any] | None
                         ) -> dict[str, Any] | None:
        """The server group named by the scheduler hint "group", if any."""
        ref = (hints or {}).get('group')
        if isinstance(ref, list):
            ref = ref[0] if ref else None
        if not ref:
            return None
        try:
            group = server_groups.get(str(ref))
        except server_groups.InstanceGroupNotFound as e:
            raise exception.Invalid(e.message) from None
        if not ctx.is_admin and group['project_id'] != ctx.project_id:
            # As Nova's query: another project's group does not exist for a non-admin.
            raise exception.Invalid(
                server_groups.InstanceGroupNotFound(group_uuid=ref).message)
        return group

    @staticmethod
    def _check_group_quota(ctx: RequestContext, group: dict[str, Any], count: int) -> None:
        """Room in the group for count more servers (0: after they were added)."""
        from minova import quota
        from minova.conf import CONF
        if count == 0 and not CONF.quota.recheck_quota:
            return
        limit = quota.get_limits(context.project_id(ctx))['server_group_members']
        if limit >= 0 and len(group['members']) + count > limit:
            raise exception.QuotaError('Quota exceeded, too many servers in group')

    @staticmethod
    def _check_availability_zone(zone: str | None) -> None:
        from minova.conf import CONF
        from minova.db import aggregates
        if zone and zone != CONF.default_availability_zone and \
                zone not in aggregates.all_zone_names():
            raise exception.Invalid('The requested availability zone is not available')

    # -- read ----------------------------------------------------------------

    def get(self, ctx: RequestContext, uuid: str,
            cell_down_support: bool = False, read_deleted: bool = False) -> Instance:
        """One server (with fault), wherever it is. Raises InstanceNotFound.

        A server whose cell DB does not answer: with cell_down_support (2.69+)
        a minimal record from the API DB (key 'cell_down'), else CellUnavailable.
        read_deleted also finds a deleted server still in its cell DB.
        """
        if not utils.is_uuid_like(uuid):
            raise exception.InstanceNotFound(instance_id=uuid)
        for _attempt in range(2):
            cell_id = mappings.instance_cell_id(uuid)
            if cell_id is None:
                br = build_requests.get(uuid)
                if br is not None:
                    br.update({'cell_uuid': None, 'fault': None})
                    return br
                continue  # it just moved into a cell, or was deleted: look again
            cell = lookup.get_by_id(cell_id)
            try:
                with engines.fail_fast():
                    inst = instances.get(cell['database_connection'], uuid, with_fault=True,
                                         shown_fault_only=True, read_deleted=read_deleted)
            except Exception as e:
                if not engines.is_connection_error(e):
                    raise
                return self._from_down_cell(mappings.instance_mapping_get(uuid), cell,
                                            cell_down_support)
            inst['cell_uuid'] = cell['uuid']
            return inst
        raise exception.InstanceNotFound(instance_id=uuid)

    @staticmethod
    def _from_down_cell(mapping: dict[str, Any], cell: CellMapping,
                        cell_down_support: bool) -> Instance:
        """Nova's partial record of a server in a down cell: mapping + request spec."""
        uuid = mapping['instance_uuid']
        LOG.warning('Cell %s is not responding; partial record of %s', cell['uuid'], uuid)
        if not cell_down_support:
            raise CellUnavailable(cell_uuid=cell['uuid'])
        spec = build_requests.spec_get_many([uuid]).get(uuid)
        if mapping.get('queued_for_delete') or spec is None:
            raise exception.InstanceNotFound(instance_id=uuid)
        return {'uuid': uuid, 'project_id': mapping['project_id'],
                'user_id': spec.get('user_id') or mapping['user_id'],
                'created_at': mapping['created_at'], 'flavor': spec.get('flavor'),
                'image_ref': (spec.get('image') or {}).get('id') or '',
                'availability_zone': spec.get('availability_zone'), 'power_state': 0,
                'cell_uuid': cell['uuid'], 'cell_down': True, 'fault': None}

    def get_all(self, ctx: RequestContext, filters: dict[str, Any], limit: int | None,
                marker: str | None, sort_keys: list[str], sort_dirs: list[str],
                cell_down_support: bool = False, columns: list[str] | None = None
                ) -> list[Instance]:
        """Servers across cells and build requests, merged in sort order
        (minova/compute/listing.py). Raises MarkerNotFound (400)."""
        return listing.get_all(filters, limit, marker, sort_keys, sort_dirs,
                               cell_down_support, columns)

    # -- update and delete ---------------------------------------------------

    def update(self, ctx: RequestContext, instance: Instance,
               changes: dict[str, Any]) -> Instance:
        """display_name, display_description, hostname, access_ip_v4/6, and
        pinned_availability_zone (kept in the request spec)."""
        changes = dict(changes)
        if 'pinned_availability_zone' in changes:
            build_requests.spec_update(instance['uuid'], {
                'availability_zone': changes.pop('pinned_availability_zone')})
            if not changes:
                return instance
        cell_uuid = instance.get('cell_uuid')
        if cell_uuid is None:
            br = build_requests.update_instance(instance['uuid'], changes)
            if br is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            br.update({'cell_uuid': None, 'fault': None})
            return br
        cell = lookup.get(cell_uuid)
        inst = instances.update(cell['database_connection'], instance['uuid'], changes)
        inst['cell_uuid'] = cell['uuid']
        inst['fault'] = instance.get('fault')
        return inst

    def delete(self, ctx: RequestContext, instance: Instance, action: str = 'delete') -> None:
        """Delete a server; returns once the delete is underway (204 in the API).
        action: the instance action recorded ('forceDelete' for a soft-deleted one)."""
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        # A deleted server leaves its server group (its quota slot is free again).
        server_groups.remove_member(uuid)
        if instance.get('cell_uuid') is None:
            if build_requests.delete(uuid):
                # Conductor sees the build request gone and drops the rest.
                mappings.instance_mapping_queue_for_delete(uuid)
                return
            instance = self.get(ctx, uuid)  # it reached a cell meanwhile
        cell_uuid = instance.get('cell_uuid')
        if cell_uuid is None:   # (get found no build request above: it answers none)
            raise exception.InstanceNotFound(instance_id=uuid)
        cell = lookup.get(cell_uuid)
        url = cell['database_connection']
        if instance.get('task_state') == states.DELETING:
            return
        actions.action_start(url, uuid, action, ctx.request_id, ctx.user_id,
                             ctx.project_id)
        self.delete_shelved_image(ctx, instance)
        host = instance.get('host')
        if instance.get('vm_state') == states.RESIZED:
            self._confirm_resize_on_deleting(ctx, cell, instance)
        if host and not mappings.is_cell0(cell) and self._compute_up(url, host):
            instance = instances.update(url, uuid, {'task_state': states.DELETING})
            # As Nova: marked here, since the cell conductor that finishes the
            # delete has no API DB; a down cell must not list it as UNKNOWN.
            mappings.instance_mapping_queue_for_delete(uuid)
            compute_rpcapi.for_cell(cell).terminate_instance(ctx, host, instance)
            return
        # Never built, buried in cell0, or its host is down: delete it here.
        # Its allocations go first: with placement down the answer is 503 and
        # the server is still there to delete again, never gone with its
        # resources still held.
        self.placement.delete_allocation_for_instance(ctx, uuid)
        actions.event_start(url, uuid, ctx.request_id, 'api_local_delete')
        self.release_ports_locally(ctx, instance)
        self.release_volumes_locally(ctx, instance)
        instances.destroy(url, uuid)
        mappings.instance_mapping_queue_for_delete(uuid)
        actions.event_finish(url, uuid, ctx.request_id, 'api_local_delete')

    # -- soft delete, restore, forceDelete ([DEFAULT] reclaim_instance_interval) --

    def soft_delete(self, ctx: RequestContext, instance: Instance) -> None:
        """DELETE with reclaim_instance_interval > 0, as Nova's soft_delete: the
        guest is powered off on its host and the server becomes SOFT_DELETED,
        its allocations kept until its host reclaims it (or a forceDelete).

        Raises InstanceIsLocked (409) for a non-admin on a locked server and
        InstanceInvalidState for a server never launched: the caller deletes
        that one at once, as Nova does. A server whose host is down is deleted
        at once here too.
        """
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        cell_uuid = instance.get('cell_uuid')
        if cell_uuid is None or not instance.get('launched_at'):
            raise exception.InstanceInvalidState(
                action='soft_delete', instance_uuid=uuid, attr='launched_at', state=None)
        cell = lookup.get(cell_uuid)
        url = cell['database_connection']
        host = instance.get('host')
        if instance.get('task_state') in (states.DELETING, states.SOFT_DELETING):
            return   # already on its way, as Nova ignores the repeat
        if not host or mappings.is_cell0(cell) or not self._compute_up(url, host):
            self.delete(ctx, instance)
            return
        actions.action_start(url, uuid, 'delete', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        inst = instances.update(url, uuid, {'task_state': states.SOFT_DELETING,
                                            'deleted_at': utils.utcnow()},
                                [instance.get('task_state')])
        # As Nova: queued for delete (a down cell does not list it), until a restore.
        mappings.instance_mapping_queue_for_delete(uuid)
        compute_rpcapi.for_cell(cell).soft_delete_instance(ctx, host, inst)

    def restore(self, ctx: RequestContext, instance: Instance) -> None:
        """Restore a SOFT_DELETED server (task state restoring, then ACTIVE with
        its guest powered on). Its quota is checked again (soft-deleted servers
        are not counted). Raises InstanceIsLocked, InstanceInvalidState (409),
        TooManyInstances (403)."""
        from minova import quota
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, 'restore', (states.SOFT_DELETED,))
        flavor = instance.get('flavor') or {}
        quota.enforce_instances(instance['project_id'], 1,
                                flavor.get('vcpus') or instance.get('vcpus') or 0,
                                flavor.get('memory_mb') or instance.get('memory_mb') or 0)
        cell = lookup.get(str(instance['cell_uuid']))
        url = cell['database_connection']
        actions.action_start(url, uuid, 'restore', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        host = instance.get('host')
        if not host:
            instances.update(url, uuid, {'vm_state': states.ACTIVE, 'task_state': None,
                                         'deleted_at': None}, [None])
        else:
            inst = instances.update(url, uuid, {'task_state': states.RESTORING,
                                                'deleted_at': None}, [None])
            compute_rpcapi.for_cell(cell).restore_instance(ctx, host, inst)
        mappings.instance_mapping_queue_for_delete(uuid, False)

    def force_delete(self, ctx: RequestContext, instance: Instance) -> None:
        """Delete a server at once, as a normal delete (action 'forceDelete'),
        whatever its vm_state but with no task state, as Nova's force_delete
        (meant for SOFT_DELETED servers). Raises InstanceIsLocked,
        InstanceInvalidState (409)."""
        self.check_lock(ctx, instance)
        task_state = instance.get('task_state')
        if task_state is not None:
            raise exception.InstanceInvalidState(
                action='force_delete', instance_uuid=instance['uuid'], attr='task_state',
                state=task_state)
        self.delete(ctx, instance, action='forceDelete')

    def _confirm_resize_on_deleting(self, ctx: RequestContext, cell: CellMapping,
                                    instance: Instance) -> None:
        """As Nova: a server deleted in VERIFY_RESIZE has its resize confirmed
        first, so the source's copy and the migration's allocation go too."""
        url = cell['database_connection']
        migration = server_migrations.get_by_instance_and_status(url, instance['uuid'],
                                                                 'finished')
        if migration is None:
            return
        migration = server_migrations.update(url, migration['uuid'], {'status': 'confirming'})
        source = migration.get('source_compute')
        if source and self._compute_up(url, source):
            compute_rpcapi.for_cell(cell).confirm_resize(ctx, source, instance, migration)
            return
        # The source is down: its allocation goes here; its copy stays behind.
        self.placement.delete_allocation_for_instance(ctx, migration['uuid'])
        server_migrations.update(url, migration['uuid'], {'status': 'confirmed'})

    @staticmethod
    def _compute_up(url: str, host: str) -> bool:
        svcs = services.get_all(url, host=host, binary='minova-compute')
        return bool(svcs) and services.is_up(svcs[0])

    # -- instance actions ------------------------------------------------------

    def get_actions(self, ctx: RequestContext, instance: Instance,
                    limit: int | None = None, marker: str | None = None,
                    changes_since: Any = None, changes_before: Any = None
                    ) -> list[dict[str, Any]]:
        cell_uuid = instance.get('cell_uuid')
        if cell_uuid is None:
            return []
        cell = lookup.get(cell_uuid)
        return actions.action_list(cell['database_connection'], instance['uuid'], limit,
                                   marker, changes_since, changes_before)

    def get_action(self, ctx: RequestContext, instance: Instance,
                   request_id: str) -> dict[str, Any]:
        """The action with key 'events' (list). Raises NotFound."""
        msg = (f'Action {request_id} on instance {instance["uuid"]} could not be found')
        cell_uuid = instance.get('cell_uuid')
        if cell_uuid is None:
            raise exception.NotFound(msg)
        url = lookup.get(cell_uuid)['database_connection']
        action = actions.action_get_by_request_id(url, instance['uuid'], request_id)
        if action is None:
            raise exception.NotFound(msg)
        action['events'] = actions.events_get(url, action['id'])
        return action

    # -- power actions and console (minova/api/handlers/server_actions.py) -------

    _REBOOT_TASKS = (states.REBOOTING, states.REBOOT_PENDING, states.REBOOT_STARTED)
    _HARD_REBOOT_TASKS = (states.REBOOTING_HARD, states.REBOOT_PENDING_HARD,
                          states.REBOOT_STARTED_HARD)

    def _start_power_action(self, ctx: RequestContext, instance: Instance,
                            action: str, vm_states: tuple[str, ...],
                            task_states: tuple[str | None, ...],
                            new_task_state: str | None) -> tuple[CellMapping, str, Instance]:
        """Check the lock and states as Nova does, set the task state (unless
        new_task_state is None), record the action.

        Returns (cell, host, updated instance). Raises InstanceIsLocked (409)
        for a non-admin on a locked server, InstanceInvalidState (409), or
        InstanceNotReady (409) for a server on no host.
        """
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, action, vm_states, task_states)
        cell, _ = self._on_host(instance)
        url = cell['database_connection']
        if new_task_state is None:
            inst = instance
        else:
            inst = instances.update(url, uuid, {'task_state': new_task_state},
                                    list(task_states))
        actions.action_start(url, uuid, action, ctx.request_id, ctx.user_id, ctx.project_id)
        host = inst['host']
        if not host:   # a failed build cleared it meanwhile: nothing to cast to
            raise exception.InstanceNotReady(instance_id=uuid)
        return cell, host, inst

    def reboot(self, ctx: RequestContext, instance: Instance, reboot_type: str) -> None:
        if reboot_type == 'SOFT':
            cell, host, inst = self._start_power_action(
                ctx, instance, 'reboot', (states.ACTIVE,), (None,), states.REBOOTING)
        else:
            cell, host, inst = self._start_power_action(
                ctx, instance, 'reboot',
                (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED, states.ERROR),
                (None, *self._REBOOT_TASKS, *self._HARD_REBOOT_TASKS),
                states.REBOOTING_HARD)
        compute_rpcapi.for_cell(cell).reboot_instance(ctx, host, inst, reboot_type)

    def stop(self, ctx: RequestContext, instance: Instance) -> None:
        cell, host, inst = self._start_power_action(ctx, instance, 'stop',
                                                    (states.ACTIVE, states.ERROR), (None,),
                                                    states.POWERING_OFF)
        compute_rpcapi.for_cell(cell).stop_instance(ctx, host, inst)

    def start(self, ctx: RequestContext, instance: Instance) -> None:
        cell, host, inst = self._start_power_action(ctx, instance, 'start', (states.STOPPED,),
                                                    (None,), states.POWERING_ON)
        compute_rpcapi.for_cell(cell).start_instance(ctx, host, inst)

    # Actions that only change the guest's run state, as Nova's compute API
    # has them: action -> (source vm_states, task state while it runs, RPC method).
    STATE_ACTIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
        'pause': ((states.ACTIVE,), states.PAUSING, 'pause_instance'),
        'unpause': ((states.PAUSED,), states.UNPAUSING, 'unpause_instance'),
        'suspend': ((states.ACTIVE,), states.SUSPENDING, 'suspend_instance'),
        'resume': ((states.SUSPENDED,), states.RESUMING, 'resume_instance'),
    }

    def state_action(self, ctx: RequestContext, instance: Instance, action: str) -> None:
        """pause, unpause, suspend or resume (STATE_ACTIONS); 409 from other states."""
        vm_states, task_state, method = self.STATE_ACTIONS[action]
        cell, host, inst = self._start_power_action(ctx, instance, action, vm_states,
                                                    (None,), task_state)
        getattr(compute_rpcapi.for_cell(cell), method)(ctx, host, inst)

    def pause(self, ctx: RequestContext, instance: Instance) -> None:
        self.state_action(ctx, instance, 'pause')

    def unpause(self, ctx: RequestContext, instance: Instance) -> None:
        self.state_action(ctx, instance, 'unpause')

    def suspend(self, ctx: RequestContext, instance: Instance) -> None:
        self.state_action(ctx, instance, 'suspend')

    def resume(self, ctx: RequestContext, instance: Instance) -> None:
        self.state_action(ctx, instance, 'resume')

    def trigger_crash_dump(self, ctx: RequestContext, instance: Instance) -> None:
        """An NMI to the guest (no task state, as in Nova)."""
        self.check_lock(ctx, instance)
        self._placed(instance)
        cell, host, inst = self._start_power_action(
            ctx, instance, 'trigger_crash_dump', states.ALLOW_TRIGGER_CRASH_DUMP, (None,),
            None)
        compute_rpcapi.for_cell(cell).trigger_crash_dump(ctx, host, inst)

    # -- rebuild (rpc 1.5) ----------------------------------------------------------

    def rebuild(self, ctx: RequestContext, instance: Instance, image_ref: str,
                changes: dict[str, Any], preserve_ephemeral: bool = False,
                reimage_boot_volume: bool = False) -> Instance:
        """Rebuild a server on its host from image_ref, as Nova's: from ACTIVE,
        STOPPED or ERROR (no task state); the server's new image, and changes
        (instance columns: display_name, metadata, key_name...) are recorded
        here, task state 'rebuilding', then the host replaces the root disk.

        Raises InstanceIsLocked, InstanceInvalidState, InstanceNotReady (409),
        Invalid (400: a missing or unusable image, a flavor below its minimums),
        MetadataLimitExceeded (403). A volume-backed server (2.93,
        reimage_boot_volume): the host has Cinder reimage its root volume.
        """
        from minova import quota
        from minova.virt import image_meta
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, 'rebuild', states.ALLOW_REBUILD)
        cell, _ = self._on_host(instance)
        volume_backed = self.root_volume(ctx, instance) is not None
        reimage = self.check_rebuild_volumes(ctx, instance, image_ref, reimage_boot_volume)
        flavor: Flavor = instance.get('flavor') or {
            'memory_mb': instance.get('memory_mb') or 0,
            'root_gb': instance.get('root_gb') or 0}
        image = self.check_image(ctx, image_ref, flavor,
                                 not_found='Cannot find image for rebuild')
        if 'metadata' in changes:
            quota.enforce_metadata_items(instance['project_id'], len(changes['metadata']))
        # The server's image is the new one: its image_* system metadata too.
        changes = dict(changes)
        sysmeta = {k: v for k, v in (changes.pop('system_metadata', None)
                                     or instance.get('system_metadata') or {}).items()
                   if not k.startswith('image_')}
        if image is not None:
            sysmeta.update(image_meta.to_system_metadata(image))
        # As Nova: a volume-backed server keeps its empty image_ref.
        values = dict(changes, image_ref='' if volume_backed else image_ref,
                      system_metadata=sysmeta, progress=0, task_state=states.REBUILDING)
        url = cell['database_connection']
        inst = instances.update(url, uuid, values, [None])
        actions.action_start(url, uuid, 'rebuild', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        host = inst['host']
        if not host:   # a failed build cleared it meanwhile: nothing to cast to
            raise exception.InstanceNotReady(instance_id=uuid)
        compute_rpcapi.for_cell(cell).rebuild_instance(
            ctx, host, inst, image or {'id': image_ref}, preserve_ephemeral,
            reimage_boot_volume=reimage)
        inst['cell_uuid'] = cell['uuid']
        inst['fault'] = instance.get('fault')
        return inst

    # -- rescue and unrescue (rpc 1.7) -------------------------------------------

    def rescue(self, ctx: RequestContext, instance: Instance, rescue_password: str,
               rescue_image_ref: str | None = None) -> None:
        """Boot the server from a rescue image with its own disk attached, as
        Nova's: from ACTIVE, STOPPED or ERROR (no task state), task state
        'rescuing', then RESCUED on the host. The rescue image is
        rescue_image_ref, else the server's own image.

        Raises InstanceIsLocked, InstanceInvalidState, InstanceNotReady (409),
        UnsupportedRescueImage (400: rescue_image_ref is no image one can see).
        """
        self.check_lock(ctx, instance)
        self.check_states(instance, 'rescue', states.ALLOW_RESCUE, task_states=None)
        if rescue_image_ref:
            from minova.clients import image as image_client
            if image_client.configured():
                try:
                    image_client.shared_client().show(ctx, rescue_image_ref)
                except image_client.ImageNotFound:
                    raise exception.UnsupportedRescueImage(
                        image=rescue_image_ref) from None
        cell, host, inst = self._start_power_action(ctx, instance, 'rescue',
                                                    states.ALLOW_RESCUE, (None,),
                                                    states.RESCUING)
        compute_rpcapi.for_cell(cell).rescue_instance(ctx, host, inst, rescue_password,
                                                      rescue_image_ref)

    def set_admin_password(self, ctx: RequestContext, instance: Instance,
                           password: str) -> None:
        """changePassword, as Nova's: ACTIVE with no task state, task state
        updating_password (status PASSWORD) while the host sets it; waits for
        the host's answer (InstancePasswordSetFailed 409, NotSupported 501)."""
        cell, host, inst = self._start_power_action(ctx, instance, 'changePassword',
                                                    (states.ACTIVE,), (None,),
                                                    states.UPDATING_PASSWORD)
        compute_rpcapi.for_cell(cell).set_admin_password(ctx, host, inst, password)

    def unrescue(self, ctx: RequestContext, instance: Instance) -> None:
        """Back to the server's own disk: from RESCUED, task state
        'unrescuing', then ACTIVE."""
        cell, host, inst = self._start_power_action(ctx, instance, 'unrescue',
                                                    (states.RESCUED,), (None,),
                                                    states.UNRESCUING)
        compute_rpcapi.for_cell(cell).unrescue_instance(ctx, host, inst)

    # -- resize, confirmResize, revertResize (conductor 1.5, compute 1.9) ---------

    def resize(self, ctx: RequestContext, instance: Instance, flavor_id: str,
               auto_disk_config: bool | None = None) -> None:
        """Nova's resize: from ACTIVE or STOPPED with no task state, to another
        flavor whose disk is not smaller; quota for the growth. Task state
        resize_prep, a 'resize' action, then conductor schedules the move.

        Raises InstanceIsLocked, InstanceInvalidState (409), Invalid and
        CannotResizeDisk (400), TooManyInstances (403).
        """
        import json

        from minova import quota
        from minova.db import flavors
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, 'resize', states.ALLOW_RESIZE)
        current: dict[str, Any] = dict(instance.get('flavor') or {})
        not_found = exception.FlavorNotFound(flavor_id=flavor_id).message
        try:
            new_row = flavors.get_by_flavor_id(str(flavor_id))
        except exception.FlavorNotFound:
            raise exception.Invalid(not_found) from None
        if new_row.get('disabled') or (
                not ctx.is_admin and not flavors.can_access(new_row, ctx.project_id)):
            raise exception.Invalid(not_found)
        if str(new_row['flavorid']) == str(current.get('flavorid')):
            raise exception.Invalid('When resizing, instances must change flavor!')
        old_root = int(current.get('root_gb') or 0)
        new_root = int(new_row.get('root_gb') or 0)
        if old_root and new_root == 0:
            raise exception.CannotResizeDisk(
                reason='Resizing to zero disk flavor is not allowed.')
        if new_root < old_root:
            raise exception.CannotResizeDisk(reason='Unable to resize disk down.')
        quota.enforce_resize(instance['project_id'],
                             (new_row['vcpus'] or 0) - (current.get('vcpus') or 0),
                             (new_row['memory_mb'] or 0) - (current.get('memory_mb') or 0))
        new = {k: new_row.get(k) for k in boot.FLAVOR_FIELDS}
        new['extra_specs'] = dict(new_row.get('extra_specs') or {})
        cell, _ = self._on_host(instance)
        url = cell['database_connection']
        sysmeta = dict(instance.get('system_metadata') or {})
        sysmeta.update(old_flavor=json.dumps(current, default=str),
                       new_flavor=json.dumps(new, default=str),
                       old_vm_state=str(instance['vm_state']))
        if auto_disk_config is not None:
            sysmeta['auto_disk_config'] = str(auto_disk_config)
        inst = instances.update(url, uuid, {'task_state': states.RESIZE_PREP, 'progress': 0,
                                            'system_metadata': sysmeta}, [None])
        actions.action_start(url, uuid, 'resize', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        inst['cell_uuid'] = cell['uuid']
        self.conductor.migrate_server(ctx, inst, new)

    def migrate(self, ctx: RequestContext, instance: Instance,
                host: str | None = None) -> None:
        """Cold migrate (admin): a resize to the same flavor, migration_type
        'migration', to a host the scheduler picks (or `host`, 2.56); the
        server ends in VERIFY_RESIZE as in Nova. Raises as resize, and
        ComputeHostNotFound (400) for an unknown host."""
        import json
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, 'migrate', states.ALLOW_RESIZE)
        cell, _ = self._on_host(instance)
        url = cell['database_connection']
        if host is not None and not services.get_all(url, host=host,
                                                     binary='minova-compute'):
            raise exception.ComputeHostNotFound(host=host)
        from minova.conf import CONF
        if host is not None and host == instance.get('host') \
                and not CONF.allow_resize_to_same_host:
            raise exception.CannotMigrateToSameHost()
        current: dict[str, Any] = dict(instance.get('flavor') or {})
        sysmeta = dict(instance.get('system_metadata') or {})
        sysmeta.update(old_flavor=json.dumps(current, default=str),
                       new_flavor=json.dumps(current, default=str),
                       old_vm_state=str(instance['vm_state']))
        inst = instances.update(url, uuid, {'task_state': states.RESIZE_PREP, 'progress': 0,
                                            'system_metadata': sysmeta}, [None])
        actions.action_start(url, uuid, 'migrate', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        inst['cell_uuid'] = cell['uuid']
        self.conductor.migrate_server(ctx, inst, current, migration_type='migration',
                                      host=host)

    def _finished_migration(self, instance: Instance, action: str
                            ) -> tuple[CellMapping, dict[str, Any]]:
        """The cell and the 'finished' resize of a server in VERIFY_RESIZE."""
        uuid = instance['uuid']
        self.check_states(instance, action, (states.RESIZED,))
        cell = lookup.get(str(instance['cell_uuid']))
        migration = server_migrations.get_by_instance_and_status(
            cell['database_connection'], uuid, 'finished')
        if migration is None:
            raise exception.MigrationNotFoundByStatus(instance_id=uuid, status='finished')
        return cell, migration

    def confirm_resize(self, ctx: RequestContext, instance: Instance) -> None:
        """confirmResize (204): the source's copy and allocation go."""
        self.check_lock(ctx, instance)
        cell, migration = self._finished_migration(instance, 'confirmResize')
        url = cell['database_connection']
        migration = server_migrations.update(url, migration['uuid'], {'status': 'confirming'})
        actions.action_start(url, instance['uuid'], 'confirmResize', ctx.request_id,
                             ctx.user_id, ctx.project_id)
        compute_rpcapi.for_cell(cell).confirm_resize(ctx, migration['source_compute'],
                                                     instance, migration)

    def revert_resize(self, ctx: RequestContext, instance: Instance) -> None:
        """revertResize (202): back to the source with the old flavor."""
        self.check_lock(ctx, instance)
        cell, migration = self._finished_migration(instance, 'revertResize')
        url = cell['database_connection']
        inst = instances.update(url, instance['uuid'],
                                {'task_state': states.RESIZE_REVERTING}, [None])
        migration = server_migrations.update(url, migration['uuid'], {'status': 'reverting'})
        actions.action_start(url, instance['uuid'], 'revertResize', ctx.request_id,
                             ctx.user_id, ctx.project_id)
        compute_rpcapi.for_cell(cell).revert_resize(ctx, migration['dest_compute'], inst,
                                                    migration)

    # -- evacuate (conductor 1.8, compute 1.13) ------------------------------------

    def evacuate(self, ctx: RequestContext, instance: Instance, host: str | None,
                 force: bool = False, target_state: str | None = None) -> None:
        """Nova's evacuate (admin): a server in ACTIVE, STOPPED or ERROR with no
        task state, whose host's compute service is down (not heartbeating,
        or forced down), is rebuilt on another host from its image. Task
        state 'rebuilding', an 'evacuate' action, an 'accepted' migration
        record of type 'evacuation' (the old host finds it when it starts
        again), then conductor picks the destination (`host` without the
        scheduler when `force`).

        Raises InstanceInvalidState, InstanceNotReady (409),
        ComputeServiceInUse (400).
        """
        uuid = instance['uuid']
        self.check_states(instance, 'evacuate', (states.ACTIVE, states.STOPPED,
                                                 states.ERROR))
        cell, source = self._on_host(instance)
        url = cell['database_connection']
        if self._compute_up(url, source):
            LOG.error('Instance compute service state on %s expected to be down, but it '
                      'was up.', source)
            raise exception.ComputeServiceInUse(host=source)
        inst = instances.update(url, uuid, {'task_state': states.REBUILDING}, [None])
        actions.action_start(url, uuid, 'evacuate', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        migration = server_migrations.create(url, {
            'instance_uuid': uuid, 'migration_type': 'evacuation', 'status': 'accepted',
            'source_compute': source, 'source_node': instance.get('node'),
            'dest_compute': host, 'user_id': ctx.user_id, 'project_id': ctx.project_id})
        inst['cell_uuid'] = cell['uuid']
        self.conductor.evacuate_server(ctx, inst, migration, host=host, force=force,
                                       target_state=target_state)

    @staticmethod
    def compute_host_exists(host: str) -> bool:
        """Whether `host` runs a compute service (mapped to a cell), as Nova's
        service_get_by_compute_host finds it."""
        try:
            cell_id = mappings.host_mapping_get(host)['cell_id']
        except exception.HostMappingNotFound:
            return False
        for cell in lookup.all_cells():
            if cell['id'] == cell_id:
                return bool(services.get_all(cell['database_connection'], host=host,
                                             binary='minova-compute'))
        return False

    # -- createImage and createBackup (rpc 1.6) ----------------------------------

    # Image properties a snapshot never inherits from its server's image, as
    # Nova's; [DEFAULT] non_inheritable_image_properties adds to them.
    NON_INHERITABLE = frozenset((
        'cinder_encryption_key_id', 'cinder_encryption_key_deletion_policy',
        'img_signature', 'img_signature_hash_method', 'img_signature_key_type',
        'img_signature_certificate_uuid'))

    def snapshot(self, ctx: RequestContext, instance: Instance, name: str,
                 extra_properties: dict[str, str] | None = None) -> dict[str, Any]:
        """createImage: the image record made now (queued), the disk uploaded by
        the compute host. Returns the image. No lock check, as in Nova (a lock
        guards against change and delete)."""
        if instance.get('cell_uuid') and self.root_volume(ctx, instance) is not None:
            # compute/api_volumes.py: Cinder snapshots and an image naming them
            return self.snapshot_volume_backed(ctx, instance, name,
                                               dict(extra_properties or {}))
        return self._image_action(ctx, instance, name, 'snapshot', dict(extra_properties or {}),
                                  'createImage', states.IMAGE_SNAPSHOT_PENDING,
                                  lambda rpc, host, inst, image_id: rpc.snapshot_instance(
                                      ctx, host, inst, image_id))

    def backup(self, ctx: RequestContext, instance: Instance, name: str, backup_type: str,
               rotation: int, extra_properties: dict[str, str] | None = None
               ) -> dict[str, Any]:
        """createBackup: a snapshot with image_type backup, then the server's
        oldest backups of backup_type beyond rotation deleted on the host."""
        props = dict(extra_properties or {}, backup_type=backup_type)
        return self._image_action(ctx, instance, name, 'backup', props, 'createBackup',
                                  states.IMAGE_BACKUP,
                                  lambda rpc, host, inst, image_id: rpc.backup_instance(
                                      ctx, host, inst, image_id, backup_type, rotation))

    def _image_action(self, ctx: RequestContext, instance: Instance, name: str,
                      image_type: str, extra: dict[str, str], action: str, task_state: str,
                      cast: Any) -> dict[str, Any]:
        uuid = instance['uuid']
        self.check_states(instance, action, states.ALLOW_SNAPSHOT)
        cell, host = self._on_host(instance)
        url = cell['database_connection']
        from minova.clients import image as image_client
        images = image_client.CallerImageClient()
        image = images.create(ctx, self._snapshot_meta(ctx, instance, name, image_type,
                                                       extra))
        try:
            inst = instances.update(url, uuid, {'task_state': task_state}, [None])
        except (exception.InstanceNotFound, exception.InstanceInvalidState):
            with contextlib.suppress(Exception):
                images.delete(ctx, image['id'])
            raise
        actions.action_start(url, uuid, action, ctx.request_id, ctx.user_id, ctx.project_id)
        cast(compute_rpcapi.for_cell(cell), host, inst, image['id'])
        return image

    def _snapshot_meta(self, ctx: RequestContext, instance: Instance, name: str,
                       image_type: str, extra: dict[str, str]) -> dict[str, Any]:
        """The new image's record, as Nova's create_image: the server's image
        properties (its system metadata) inherited, then Nova's own."""
        sysmeta = instance.get('system_metadata') or {}
        meta: dict[str, Any] = {'name': name}
        props: dict[str, str] = {}
        from minova.conf import CONF
        skip = self.NON_INHERITABLE | set(CONF.non_inheritable_image_properties)
        for key, value in sysmeta.items():
            if not key.startswith('image_') or value is None:
                continue
            key = key[len('image_'):]
            if key in ('min_ram', 'min_disk'):
                meta[key] = int(value)
            elif key in ('disk_format', 'container_format'):
                if image_type != 'snapshot':   # a snapshot's formats come with its data
                    meta[key] = value
            elif key not in skip and not key.startswith('os_glance'):
                props[key] = str(value)
        if ctx.project_id != instance.get('project_id'):
            # Another project's server (an admin's snapshot): shared with its owner.
            meta['visibility'] = 'shared'
            extra = dict(extra, instance_owner=str(instance.get('project_id')))
        else:
            meta['visibility'] = 'private'
        props.update({'instance_uuid': instance['uuid'], 'user_id': str(ctx.user_id),
                      'image_type': image_type})
        props.update(extra)
        meta.update(props)
        return meta

    # -- lock and reset state (done here, as in Nova's API) -----------------------

    @staticmethod
    def check_states(instance: Instance, action: str, vm_states: Collection[str],
                     task_states: Collection[str | None] | None = (None,)) -> None:
        """Nova's check_instance_state: InstanceInvalidState (409, named after
        action) unless the server is in a cell, in one of vm_states and in one
        of task_states (default: no task running; None: any)."""
        uuid = instance['uuid']
        vm_state, task_state = instance.get('vm_state'), instance.get('task_state')
        if instance.get('cell_uuid') is None or vm_state not in vm_states:
            raise exception.InstanceInvalidState(action=action, instance_uuid=uuid,
                                                 attr='vm_state', state=vm_state)
        if task_states is not None and task_state not in task_states:
            raise exception.InstanceInvalidState(action=action, instance_uuid=uuid,
                                                 attr='task_state', state=task_state)

    @staticmethod
    def check_lock(ctx: RequestContext, instance: Instance) -> None:
        """Nova's check_instance_lock: a locked server refuses non-admins."""
        if instance.get('locked') and not ctx.is_admin:
            raise exception.InstanceIsLocked(instance_uuid=instance['uuid'])

    @staticmethod
    def is_expected_locked_by(ctx: RequestContext, instance: Instance) -> bool:
        """False when the lock was taken by the other party (owner vs admin)."""
        expected = 'owner' if instance.get('project_id') == ctx.project_id else 'admin'
        locked_by = instance.get('locked_by')
        return not locked_by or locked_by == expected

    def _api_action(self, ctx: RequestContext, instance: Instance, action: str,
                    changes: dict[str, Any]) -> Instance:
        """Apply changes to the server with an instance action and its
        'api_<action>' event (a server still being scheduled: its build request)."""
        uuid = instance['uuid']
        cell_uuid = instance.get('cell_uuid')
        if cell_uuid is None:
            return self.update(ctx, instance, changes)
        url = lookup.get(cell_uuid)['database_connection']
        actions.action_start(url, uuid, action, ctx.request_id, ctx.user_id, ctx.project_id)
        event = f'api_{action}'
        actions.event_start(url, uuid, ctx.request_id, event)
        try:
            inst = instances.update(url, uuid, changes)
        except Exception as e:
            actions.event_finish(url, uuid, ctx.request_id, event, result='Error',
                                 details=str(e))
            raise
        actions.event_finish(url, uuid, ctx.request_id, event)
        inst['cell_uuid'] = cell_uuid
        inst['fault'] = instance.get('fault')
        return inst

    def lock(self, ctx: RequestContext, instance: Instance, reason: str | None = None) -> None:
        is_owner = instance.get('project_id') == ctx.project_id
        if instance.get('locked') and is_owner:
            return   # as Nova: the owner's lock of a locked server changes nothing
        sysmeta = dict(instance.get('system_metadata') or {})
        if reason:
            sysmeta['locked_reason'] = reason
        self._api_action(ctx, instance, 'lock', {
            'locked': True, 'locked_by': 'owner' if is_owner else 'admin',
            'system_metadata': sysmeta})

    def unlock(self, ctx: RequestContext, instance: Instance) -> None:
        sysmeta = dict(instance.get('system_metadata') or {})
        sysmeta.pop('locked_reason', None)
        self._api_action(ctx, instance, 'unlock', {'locked': False, 'locked_by': None,
                                                   'system_metadata': sysmeta})

    def reset_state(self, ctx: RequestContext, instance: Instance, vm_state: str) -> None:
        """os-resetState: the vm_state set, the task state cleared (admin)."""
        self._api_action(ctx, instance, 'resetState', {'vm_state': vm_state,
                                                       'task_state': None})

    # -- metadata and tags (minova/api/handlers/server_metadata.py, server_tags.py) --

    # vm_states in which a server's metadata and tags may change, as Nova's.
    _EDITABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)

    def check_editable(self, instance: Instance, action: str) -> str:
        """The cell DB of a server whose metadata/tags may change now (any task
        state, as in Nova); InstanceInvalidState (409) otherwise, named after action."""
        self.check_states(instance, action, self._EDITABLE, task_states=None)
        return lookup.get(str(instance['cell_uuid']))['database_connection']

    def update_instance_metadata(self, ctx: RequestContext, instance: Instance,
                                 metadata: dict[str, str], delete: bool = False
                                 ) -> dict[str, str]:
        """Merge metadata into the server's (delete: replace it). Raises
        InstanceIsLocked, InstanceInvalidState (409), MetadataLimitExceeded (403)."""
        from minova import quota
        self.check_lock(ctx, instance)
        url = self.check_editable(instance, 'update metadata')
        new = dict(metadata) if delete else {**(instance.get('metadata') or {}), **metadata}
        quota.enforce_metadata_items(instance['project_id'], len(new))
        instances.update(url, instance['uuid'], {'metadata': new})
        return new

    def delete_instance_metadata(self, ctx: RequestContext, instance: Instance,
                                 key: str) -> None:
        self.check_lock(ctx, instance)
        url = self.check_editable(instance, 'delete metadata')
        new = dict(instance.get('metadata') or {})
        new.pop(key, None)
        instances.update(url, instance['uuid'], {'metadata': new})

    def set_tags(self, ctx: RequestContext, instance: Instance, tags: list[str],
                 action: str) -> list[str]:
        """Replace the server's tags (sorted, each once, as Nova's DB returns
        them). InstanceInvalidState (409) outside ACTIVE/PAUSED/SUSPENDED/STOPPED."""
        url = self.check_editable(instance, action)
        new = sorted(set(tags))
        instances.update(url, instance['uuid'], {'tags': new})
        return new

    def get_console_output(self, ctx: RequestContext, instance: Instance,
                           tail_length: int | None) -> str:
        """The guest's console log (its last tail_length lines). Raises
        InstanceNotReady (409) when the server is not on a host (no console yet)."""
        cell, host = self._on_host(instance)
        return compute_rpcapi.for_cell(cell).get_console_output(ctx, host, instance,
                                                                tail_length)

    # -- remote consoles (minova/api/handlers/remote_consoles.py) ---------------

    def get_vnc_console(self, ctx: RequestContext, instance: Instance,
                        console_type: str) -> str:
        """A console URL with a new token (see _console)."""
        return self._console(ctx, instance, console_type, 'get_vnc_console')

    def get_serial_console(self, ctx: RequestContext, instance: Instance,
                           console_type: str) -> str:
        return self._console(ctx, instance, console_type, 'get_serial_console')

    def _console(self, ctx: RequestContext, instance: Instance, console_type: str,
                 method: str) -> str:
        """Ask the server's compute host where its console is (a call, as Nova),
        store a new token's hash in the server's cell and answer the URL.

        Raises InstanceNotReady (409: not on a host, or not running),
        InstanceInvalidState (409: being deleted or migrated),
        ConsoleTypeUnavailable / ConsoleTypeInvalid (400), NotSupported (501).
        """
        task_state = instance.get('task_state')
        if task_state in (states.DELETING, 'migrating'):   # Nova's task states
            raise exception.InstanceInvalidState(
                action=method, instance_uuid=instance['uuid'], attr='task_state',
                state=task_state)
        cell, host = self._on_host(instance)
        info = getattr(compute_rpcapi.for_cell(cell), method)(ctx, host, instance,
                                                              console_type)
        from minova.conf import CONF
        url = cell['database_connection']
        token = console_auth_tokens.create(
            url, instance['uuid'], info['console_type'], info['host'], info['port'],
            info.get('internal_access_path'), info['access_url_base'],
            CONF.consoleauth.token_ttl)
        return console_auth_tokens.access_url(info['access_url_base'],
                                              info['console_type'], token)

    def validate_console_token(self, ctx: RequestContext, token: str
                               ) -> console_auth_tokens.ConsoleAuth | None:
        """A token's record from whichever cell holds it (cell0 holds none);
        None when no cell has it live."""
        for cell in mappings.cell_list():
            if mappings.is_cell0(cell):
                continue
            try:
                found = console_auth_tokens.validate(cell['database_connection'], token)
            except Exception:   # a down cell does not hide another's token
                LOG.warning('Cell %s did not answer a console token lookup', cell['uuid'])
                continue
            if found is not None:
                return found
        return None

    @staticmethod
    def _placed(instance: Instance) -> tuple[str, str]:
        """(cell uuid, host) of a server on a compute host; InstanceNotReady (409)
        for a server on none (a build request, or never placed)."""
        cell_uuid, host = instance.get('cell_uuid'), instance.get('host')
        if cell_uuid is None or not host:
            raise exception.InstanceNotReady(instance_id=instance['uuid'])
        return cell_uuid, host

    def _on_host(self, instance: Instance) -> tuple[CellMapping, str]:
        """(cell, host) of a server on a compute host; InstanceNotReady (409) if it
        is not."""
        cell_uuid, host = self._placed(instance)
        return lookup.get(cell_uuid), host

    def get_diagnostics(self, ctx: RequestContext, instance: Instance
                        ) -> dict[str, Any]:
        """The driver's free-form diagnostics (before 2.48). Raises InstanceNotReady,
        InstanceInvalidState (not running) or NotSupported (501)."""
        cell, host = self._on_host(instance)
        return compute_rpcapi.for_cell(cell).get_diagnostics(ctx, host, instance)

    def get_instance_diagnostics(self, ctx: RequestContext, instance: Instance
                                 ) -> dict[str, Any]:
        """Diagnostics in Nova's 2.48 shape; raises as get_diagnostics."""
        cell, host = self._on_host(instance)
        return compute_rpcapi.for_cell(cell).get_instance_diagnostics(ctx, host, instance)

    def get_host_uptime(self, ctx: RequestContext, cell: CellMapping, host: str) -> str:
        """`uptime` on a compute host. Raises ComputeServiceUnavailable (400) when
        its service is down, NotSupported (501) when its driver cannot say."""
        url = cell['database_connection']
        if not self._compute_up(url, host):
            raise exception.ComputeServiceUnavailable(host=host)
        return compute_rpcapi.for_cell(cell).get_host_uptime(ctx, host)

    def external_instance_event(self, ctx: RequestContext, instances_: list[Instance],
                                events: list[dict[str, Any]]) -> None:
        """Pass events (name, server_uuid, status, tag) on to the compute host of
        each server (a cast per host, on its cell's bus). The servers are on a
        host (InstanceNotReady otherwise)."""
        by_host: dict[tuple[str, str], tuple[list[Instance], list[dict[str, Any]]]] = {}
        placed = {i['uuid']: i for i in instances_}
        for event in events:
            inst = placed[event['server_uuid']]
            group = by_host.setdefault(self._placed(inst), ([], []))
            if inst not in group[0]:
                group[0].append(inst)
            group[1].append({k: event.get(k) for k in ('name', 'server_uuid', 'status',
                                                         'tag')})
        for (cell_uuid, host), (insts, evts) in by_host.items():
            compute_rpcapi.for_cell(lookup.get(cell_uuid)).external_instance_event(
                ctx, host, insts, evts)

    # -- images ------------------------------------------------------------------

    @staticmethod
    def check_image(ctx: RequestContext, image_ref: str, flavor: Flavor,
                    not_found: str = 'Can not find requested image'
                    ) -> dict[str, Any] | None:
        """The image record when an Image service is configured (None otherwise).

        Raises Invalid (400) for a missing or unusable image, or a flavor
        below its min_ram/min_disk, with Nova's messages.
        """
        from minova.clients import image as image_client
        if not image_client.configured():
            return None
        try:
            image = image_client.shared_client().show(ctx, image_ref)
        except image_client.ImageNotFound:
            raise exception.Invalid(not_found) from None
        if image.get('status') != 'active':
            raise exception.Invalid(f'Image {image_ref} is not active.')
        if (image.get('min_ram') or 0) > flavor['memory_mb']:
            raise exception.Invalid('Flavor\'s memory is too small for requested image.')
        root_gb = flavor.get('root_gb') or 0
        if root_gb and (image.get('min_disk') or 0) > root_gb:
            raise exception.Invalid('Flavor\'s disk is too small for requested image.')
        # As Nova: the file size here; compute checks the virtual size.
        size = image.get('size') or 0
        if root_gb and size > root_gb * 1024 ** 3:
            raise exception.Invalid(
                'Flavor\'s disk is too small for requested image. Flavor disk is '
                f'{root_gb * 1024 ** 3} bytes, image is {size} bytes.')
        return image
