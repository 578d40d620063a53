"""Conductor's part of a live migration (Nova's LiveMigrationTask), RPC 1.7.

A migration record ('live-migration', accepted), the checks Nova makes (the
guest runs, the source is up; a forced destination is another host that is
up), the source allocation held by the migration, a destination claimed
for the server (the scheduler's choice, the admin's requested host through
the filters, or a forced host without them), the destination's own check
(check_can_live_migrate_destination), then live_migration cast to the
source, which does the rest (minova/compute/live_migration.py).

Called (block, microversions below 2.34) the API sees the errors of these
checks as Nova's 400s; cast, they are only in the migration ('error'), the
instance action and a fault. Either way the server is back as it was with
no task state, or in ERROR for an error nobody expected, as in Nova.
"""
from __future__ import annotations

import logging
from typing import Any

from minova import exception, states
from minova.cells.mappings import CellMapping
from minova.compute import rpcapi as compute_rpcapi
from minova.conductor import moves
from minova.conf import CONF
from minova.context import RequestContext
from minova.db import actions, engines, server_migrations, services
from minova.db.build_requests import RequestSpec
from minova.db.instances import Instance
from minova.scheduler import rpcapi as scheduler_rpcapi
from minova.scheduler.rpcapi import Selection

LOG = logging.getLogger(__name__)

EVENT = 'conductor_live_migrate_instance'

# Errors that leave the server as it was (anything else: ERROR), as Nova's.
EXPECTED = (exception.NoValidHost, exception.ComputeHostNotFound,
            exception.ComputeServiceUnavailable, exception.UnableToMigrateToSelf,
            exception.MigrationPreCheckError, exception.InstanceInvalidState)


class LiveMigrateMixin:
    """Part of ConductorManager."""

    scheduler: scheduler_rpcapi.SchedulerAPI

    @property
    def placement(self) -> Any:
        raise NotImplementedError

    def live_migrate_instance(self, context: RequestContext, instance: Instance,
                              host: str | None, block_migration: bool | None,
                              force: bool | None) -> None:
        """1.7: host None: the scheduler picks (never the source); with
        force (True, or None: before 2.30) the host is taken as it is,
        otherwise it is the scheduler's requested destination."""
        uuid = instance['uuid']
        cell, url = moves.cell_of(instance)
        migration = moves.create_migration(url, instance, 'live-migration', 'accepted',
                                           dict(instance.get('flavor') or {}))
        actions.event_start(url, uuid, context.request_id, EVENT)
        held = False
        try:
            source = str(instance['host'])
            self._check_runs(instance)
            self._check_up(url, source)
            if host and force is not False:
                if host == source:
                    raise exception.UnableToMigrateToSelf(instance_id=uuid, host=host)
                self._check_up(url, host)
            held = self.placement.move_allocations(context, uuid, migration['uuid'])
            spec = moves.move_spec(instance, dict(instance.get('flavor') or {}))
            if host and force is not False:
                spec['force_hosts'] = [host]
            else:
                spec['ignore_hosts'] = [source]
                if host:
                    spec['requested_destination'] = {'host': host, 'node': None}
            selection, migrate_data = self._find_destination(
                context, cell, instance, spec, block_migration, forced=bool(
                    host and force is not False))
            dest = selection['service_host']
        except Exception as e:
            LOG.warning('Live migration of %s cannot start: %s', uuid, e)
            values = {} if isinstance(e, EXPECTED) else {'vm_state': states.ERROR}
            moves.fail_move(self.placement, context, url, instance, migration, EVENT, e,
                            held, values)
            raise
        migration = server_migrations.update(url, migration['uuid'], {
            'dest_compute': dest, 'dest_node': selection['nodename'], 'dest_host': dest})
        actions.event_finish(url, uuid, context.request_id, EVENT)
        compute_rpcapi.for_cell(cell).live_migration(context, source, instance, dest,
                                                     migration, migrate_data)

    def _find_destination(self, context: RequestContext, cell: CellMapping | None,
                          instance: Instance, spec: RequestSpec,
                          block_migration: bool | None, forced: bool
                          ) -> tuple[Selection, dict[str, Any]]:
        """A claimed host that passed its own check, and its migrate_data. A
        scheduler's pick that fails the check loses its claim and the
        scheduler is asked again without it, up to [DEFAULT]
        migrate_max_retries more times, as Nova's task does."""
        uuid = instance['uuid']
        retries = 0
        while True:
            selection = self.scheduler.select_destinations(
                context, spec, [uuid], return_alternates=False)[0][0]
            dest = selection['service_host']
            try:
                return selection, compute_rpcapi.for_cell(
                    cell).check_can_live_migrate_destination(context, dest, instance,
                                                             block_migration)
            except (exception.Invalid, exception.MigrationPreCheckError) as e:
                if forced:
                    raise
                LOG.info('Live migration of %s cannot go to %s: %s', uuid, dest, e)
                self.placement.delete_allocation_for_instance(context, uuid)
                retries += 1
                limit = CONF.migrate_max_retries
                if limit != -1 and retries > limit:
                    raise exception.MaxRetriesExceeded(
                        reason=f'Exceeded max scheduling retries {limit} for instance '
                               f'{uuid} during live migration') from None
                spec['ignore_hosts'] = [*(spec.get('ignore_hosts') or []), dest]

    def live_migrations_in_progress(self, context: RequestContext, host: str
                                    ) -> list[dict[str, Any]]:
        """1.7: the live migrations leaving host that its compute runs (from
        queued on), for a compute that restarted under them."""
        return server_migrations.get_all(engines.cell_url(), {
            'source_compute': host, 'migration_type': 'live-migration',
            'status': list(server_migrations.LIVE_IN_PROGRESS)})

    @staticmethod
    def _check_runs(instance: Instance) -> None:
        power = instance.get('power_state')
        if power not in (states.RUNNING, states.PAUSED_POWER):
            raise exception.InstanceInvalidState(
                action='live migrate', instance_uuid=instance['uuid'], attr='power_state',
                state=states.POWER_STATE_MAP.get(power or states.NOSTATE))

    @staticmethod
    def _check_up(url: str, host: str) -> None:
        found = services.get_all(url, host=host, binary='minova-compute')
        if not found:
            raise exception.ComputeHostNotFound(host=host)
        if not services.is_up(found[0]):
            raise exception.ComputeServiceUnavailable(host=host)
