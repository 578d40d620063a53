"""Conductor's part of an evacuation (conductor RPC 1.8), as Nova's
rebuild_instance with recreate=True: the destination is chosen and claimed
in placement, then the destination host rebuilds the server from its image.

The server keeps its allocation on the dead source host and gains the
destination's: the server as consumer holds both until the source host's
compute starts again and removes its part (compute/evacuate.py). A
destination that cannot be had leaves the migration record 'error' and the
server with a fault: in ERROR when the scheduler found no host, in its
vm_state when a forced host had no room (as Nova).
"""
from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from minova import exception, states
from minova.cells import lookup
from minova.compute import rpcapi as compute_rpcapi
from minova.db import actions, build_requests, compute_nodes, engines, instances, server_migrations
from minova.db.build_requests import RequestSpec
from minova.db.instances import Instance

if TYPE_CHECKING:
    from minova.context import RequestContext
    from minova.scheduler.rpcapi import SchedulerAPI

LOG = logging.getLogger(__name__)

# Nova's conductor reports the scheduling of a rebuild or evacuation under this
# event (no 'conductor_' prefix: it is not a wrapped method there).
EVENT = 'rebuild_server'


def _error_text(error: BaseException) -> str:
    message = getattr(error, 'message', None)
    if isinstance(message, str) and message:
        return message
    return str(error) or error.__class__.__name__


def _host_zone(host: str) -> str | None:
    """The destination's AZ becomes the server's, as in Nova (None: no API DB here)."""
    from minova.db import aggregates
    try:
        return aggregates.host_zone(host)
    except Exception:   # a cell conductor has no API DB
        return None


class EvacuateMixin:
    """evacuate_server and the migration reads the source host's clean-up
    needs, mixed into ConductorManager."""

    scheduler: SchedulerAPI
    placement: Any

    def evacuate_server(self, context: RequestContext, instance: Instance,
                        migration: dict[str, Any], host: str | None = None,
                        force: bool = False, target_state: str | None = None) -> None:
        """1.8 (a cast): the destination of an evacuation, then
        evacuate_instance cast to it. host with force: that host, claimed
        here without the scheduler (2.29 force, or a host before 2.29);
        host alone: the scheduler checks it (requested destination); no
        host: the scheduler picks one, never the source."""
        uuid = instance['uuid']
        cell_uuid = instance.get('cell_uuid')
        cell = lookup.get(cell_uuid) if cell_uuid else None
        url = cell['database_connection'] if cell else engines.cell_url()
        actions.event_start(url, uuid, context.request_id, EVENT)
        try:
            if host and force:
                node = self._claim_forced_destination(context, url, instance, host)
            else:
                host, node = self._schedule_evacuation(context, instance, host)
        except Exception as e:
            forced = bool(host and force)
            LOG.warning('Evacuation of %s found no destination: %s', uuid, e)
            server_migrations.update(url, migration['uuid'], {'status': 'error'})
            # As Nova: no host from the scheduler puts the server in ERROR; a
            # forced host that cannot take it leaves its vm_state alone.
            values: dict[str, Any] = {'task_state': None}
            if not forced:
                values['vm_state'] = states.ERROR
            with contextlib.suppress(exception.InstanceNotFound):
                instances.fault_create(url, uuid, getattr(e, 'code', 500) or 500,
                                       _error_text(e), None, None)
                instances.update(url, uuid, values)
            actions.event_finish(url, uuid, context.request_id, EVENT, result='Error',
                                 exc_tb=_error_text(e), details=_error_text(e))
            return
        zone = _host_zone(host)
        if zone:
            with contextlib.suppress(exception.InstanceNotFound):
                instance = instances.update(url, uuid, {'availability_zone': zone})
                instance['cell_uuid'] = cell_uuid
        actions.event_finish(url, uuid, context.request_id, EVENT)
        compute_rpcapi.for_cell(cell).evacuate_instance(context, host, instance, migration,
                                                        node, target_state)

    def _schedule_evacuation(self, context: RequestContext, instance: Instance,
                             host: str | None) -> tuple[str, str]:
        """(host, node) the scheduler chose and claimed for the server (its
        claim adds to the source allocation), never the source host."""
        uuid = instance['uuid']
        spec: RequestSpec = dict(  # type: ignore[assignment]
            build_requests.spec_get_many([uuid]).get(uuid) or {})
        spec.update({'instance_uuid': uuid, 'flavor': instance.get('flavor') or {},
                     'project_id': instance['project_id'], 'user_id': instance['user_id'],
                     'num_instances': 1, 'ignore_hosts': [str(instance['host'])],
                     'keep_allocations': True})
        spec.pop('force_hosts', None)
        spec.pop('force_nodes', None)
        spec['requested_destination'] = {'host': host, 'node': None} if host else None
        selection = self.scheduler.select_destinations(
            context, spec, [uuid], return_alternates=False)[0][0]
        return selection['service_host'], selection['nodename']

    def _claim_forced_destination(self, context: RequestContext, url: str,
                                  instance: Instance, host: str) -> str:
        """Nova's claim_resources_on_destination: the source allocation's
        resources claimed on the forced host's node too. Returns the node."""
        uuid = instance['uuid']
        nodes = compute_nodes.get_all(url, host=host)
        if not nodes:
            raise exception.ComputeHostNotFound(host=host)
        node = nodes[0]
        held = self.placement.get_allocations_for_consumer(context, uuid)
        if not held:
            raise exception.AllocationUpdateFailed(
                consumer_uuid=uuid,
                error='Expected to find allocations for source node resource provider. '
                      'Retry the operation without forcing a destination host.')
        if len(held) > 1:
            raise exception.NoValidHost(
                reason=f'Unable to move instance {uuid} to host {host}. The instance has '
                       'complex allocations on the source host so move cannot be forced.')
        resources = next(iter(held.values()))['resources']
        if not self.placement.claim_resources(
                context, uuid, {'allocations': {node['uuid']: {'resources': resources}}},
                instance['project_id'], instance['user_id'], keep_existing=True):
            raise exception.NoValidHost(
                reason=f'Unable to move instance {uuid} to host {host}. There is not '
                       'enough capacity on the host for the instance.')
        return str(node['hypervisor_hostname'])

    def migration_get_all_by_filters(self, context: RequestContext,
                                     filters: dict[str, Any]) -> list[dict[str, Any]]:
        """1.8: this cell's migration records matching filters (as GET
        /os-migrations filters them: source_compute, status, migration_type...)."""
        return server_migrations.get_all(engines.cell_url(), filters)
