"""The compute API of live migration: os-migrateLive, and a server's
in-progress live migrations (list, show, force_complete, abort), with the
states and errors of Nova's compute API."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minova import exception, states
from minova.cells import lookup
from minova.compute import rpcapi as compute_rpcapi
from minova.context import RequestContext
from minova.db import actions, instances, server_migrations, services
from minova.db.instances import Instance

if TYPE_CHECKING:
    from minova.cells.mappings import CellMapping
    from minova.conductor.rpcapi import ConductorAPI

# Where a live migration may start, as Nova's check_instance_state.
LIVE_MIGRATE_STATES = (states.ACTIVE, states.PAUSED)


class LiveMigrationAPI:
    """Part of minova.compute.api.API."""

    conductor: ConductorAPI

    if TYPE_CHECKING:
        @staticmethod
        def check_lock(ctx: RequestContext, instance: Instance) -> None: ...

        @staticmethod
        def check_states(instance: Instance, action: str, vm_states: Any,
                         task_states: Any = (None,)) -> None: ...

        def _on_host(self, instance: Instance) -> tuple[CellMapping, str]: ...

    def live_migrate(self, ctx: RequestContext, instance: Instance,
                     block_migration: bool | None, host: str | None,
                     force: bool | None, async_: bool) -> None:
        """From ACTIVE or PAUSED with no task: task state migrating, a
        'live-migration' action, then conductor (a call unless async_, so
        its checks' errors reach the caller). ComputeHostNotFound (400) for
        a host that has no compute service."""
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, 'os-migrateLive', LIVE_MIGRATE_STATES)
        cell, _ = self._on_host(instance)
        url = cell['database_connection']
        if host is not None and not services.get_all(url, host=host,
                                                     binary='minova-compute'):
            raise exception.ComputeHostNotFound(host=host)
        inst = instances.update(url, uuid, {'task_state': states.MIGRATING}, [None])
        actions.action_start(url, uuid, 'live-migration', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        inst['cell_uuid'] = cell['uuid']
        self.conductor.live_migrate_instance(ctx, inst, host, block_migration, force,
                                             block=not async_)

    # -- a server's migrations -----------------------------------------------------

    @staticmethod
    def _cell_url(instance: Instance) -> str:
        cell_uuid = instance.get('cell_uuid')
        if cell_uuid is None:
            return ''
        return str(lookup.get(cell_uuid)['database_connection'])

    def get_live_migrations_in_progress(self, ctx: RequestContext, instance: Instance
                                        ) -> list[dict[str, Any]]:
        url = self._cell_url(instance)
        if not url:
            return []
        return server_migrations.get_all(url, {
            'instance_uuid': instance['uuid'], 'migration_type': 'live-migration',
            'status': list(server_migrations.LIVE_IN_PROGRESS)})

    def get_migration(self, ctx: RequestContext, instance: Instance,
                      migration_id: str) -> dict[str, Any]:
        """The server's migration by id; MigrationNotFoundForInstance (404)."""
        url = self._cell_url(instance)
        found = None
        if url and migration_id.isdigit():
            found = server_migrations.get_by_id_and_instance(url, int(migration_id),
                                                             instance['uuid'])
        if found is None:
            raise exception.MigrationNotFoundForInstance(migration_id=migration_id,
                                                         instance_id=instance['uuid'])
        return found

    def live_migrate_force_complete(self, ctx: RequestContext, instance: Instance,
                                    migration_id: str) -> None:
        """ACTIVE and migrating, the migration running; the source finishes it
        now. InvalidMigrationState (400) otherwise."""
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        self.check_states(instance, 'force_complete', (states.ACTIVE,), (states.MIGRATING,))
        migration = self.get_migration(ctx, instance, migration_id)
        if migration.get('status') != 'running':
            raise exception.InvalidMigrationState(
                migration_id=migration_id, instance_uuid=uuid, state=migration.get('status'),
                method='force complete')
        cell, host = self._on_host(instance)
        actions.action_start(cell['database_connection'], uuid,
                             'live_migration_force_complete', ctx.request_id, ctx.user_id,
                             ctx.project_id)
        compute_rpcapi.for_cell(cell).live_migration_force_complete(ctx, host, instance,
                                                                    migration)

    def live_migrate_abort(self, ctx: RequestContext, instance: Instance,
                           migration_id: str, abort_queued: bool) -> None:
        """A migrating server's running live migration (2.65: also queued or
        preparing) stopped; it stays on its source. InvalidMigrationState
        (400) for a migration in another state."""
        uuid = instance['uuid']
        self.check_lock(ctx, instance)
        if instance.get('cell_uuid') is None or instance.get('task_state') != states.MIGRATING:
            raise exception.InstanceInvalidState(
                action='abort live migration', instance_uuid=uuid, attr='task_state',
                state=instance.get('task_state'))
        migration = self.get_migration(ctx, instance, migration_id)
        allowed = ('running', 'queued', 'preparing') if abort_queued else ('running',)
        if migration.get('status') not in allowed:
            raise exception.InvalidMigrationState(
                migration_id=migration_id, instance_uuid=uuid, state=migration.get('status'),
                method='abort live migration')
        cell, _ = self._on_host(instance)
        actions.action_start(cell['database_connection'], uuid, 'live_migration_cancel',
                             ctx.request_id, ctx.user_id, ctx.project_id)
        compute_rpcapi.for_cell(cell).live_migration_abort(
            ctx, str(migration['source_compute']), instance, migration)


