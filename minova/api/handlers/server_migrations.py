"""Live migration: the os-migrateLive server action, and a server's in-progress
live migrations (Nova's server_migrations): GET /servers/{id}/migrations
(2.23), GET and DELETE (abort, 2.24; 2.65 also queued or preparing)
/servers/{id}/migrations/{id}, POST .../{id}/action force_complete (2.22).

os-migrateLive per microversion: block_migration and disk_over_commit
booleans (2.0); block_migration 'auto' and no disk_over_commit (2.25); force
(2.30, removed in 2.68). A host without force goes through the scheduler;
with force (or before 2.30) it is taken as given. Below 2.34 conductor's
checks answer before the 202 (their errors are 400s), from 2.34 they run
after it (their errors are in the migration and the instance action).
"""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util, validation, versioned
from minova.api.handlers import server_actions
from minova.api.handlers import servers as servers_handler
from minova.api.schemas import server_migrations as schema
from minova.api.schemas import types
from minova.api.views import server_migrations as view
from minova.db.instances import Instance
from minova.db.server_migrations import LIVE_IN_PROGRESS
from minova.policies.migrations import MIGRATE_LIVE, MIGRATE_LIVE_HOST, SERVER_MIGRATIONS

# The errors of conductor's checks that Nova answers 400 (before 2.34).
_PRECHECK_ERRORS = (exception.NoValidHost, exception.ComputeServiceUnavailable,
                    exception.UnableToMigrateToSelf, exception.MigrationPreCheckError,
                    exception.ComputeHostNotFound)


def _at_least(req: falcon.Request, version: str) -> bool:
    return versioned.version(req) >= versioned.parse(version)


def _force(req: falcon.Request, body: dict[str, Any], host: str | None) -> bool | None:
    """None before 2.30 (a named host is taken as given), False from 2.68."""
    if not _at_least(req, '2.30'):
        return None
    if _at_least(req, '2.68'):
        return False
    force = util.to_bool(body.get('force', False))
    if force and not host:
        raise errors.bad_request("Can't force to a non-provided destination")
    return force


def _migrate_live(req: falcon.Request, resp: falcon.Response, instance: Instance,
                  body: Any) -> None:
    ctx = util.ctx(req)
    target = {'project_id': instance['project_id']}
    policy.authorize(ctx, MIGRATE_LIVE, target)
    host = body.get('host')
    if host:
        policy.authorize(ctx, MIGRATE_LIVE_HOST, target)
    raw = body['block_migration']
    block_migration = None if raw == 'auto' else util.to_bool(raw)
    if not _at_least(req, '2.25'):
        util.to_bool(body['disk_over_commit'])   # checked, as Nova; nothing uses it
    force = _force(req, body, host)
    try:
        util.compute_api().live_migrate(ctx, instance, block_migration, host, force,
                                        async_=_at_least(req, '2.34'))
    except _PRECHECK_ERRORS as e:
        raise errors.bad_request(e.message) from None
    resp.status = 202


server_actions.register('os-migrateLive', schema.MIGRATE_LIVE_TABLE, _migrate_live)


def _server(req: falcon.Request, server_id: str, since: str, rule: str
            ) -> tuple[Instance, bool]:
    """The server (404 below `since`, or when the caller cannot see it), the
    rule authorized on its project; with whether the caller sees hosts."""
    versioned.require(req, [('2.1', None), (since, True)])
    ctx = util.ctx(req)
    instance = servers_handler.get_server(req, server_id, action='')
    target = {'project_id': instance['project_id']}
    policy.authorize(ctx, SERVER_MIGRATIONS % rule, target)
    show_host = rule != 'index' or policy.can(ctx, SERVER_MIGRATIONS % 'index:host',
                                              target)
    return instance, show_host


class ServerMigrations:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        instance, show_host = _server(req, server_id, '2.23', 'index')
        util.validated_query(req, versioned.schema_for(req, types.NO_QUERY))
        found = util.compute_api().get_live_migrations_in_progress(util.ctx(req), instance)
        resp.media = {'migrations': [view.show(req, m, show_host) for m in found]}


class ServerMigration:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               migration_id: str) -> None:
        instance, _ = _server(req, server_id, '2.23', 'show')
        try:
            migration = util.compute_api().get_migration(util.ctx(req), instance,
                                                         migration_id)
        except exception.MigrationNotFoundForInstance:
            raise errors.not_found(f'In-progress live migration {migration_id} is not '
                                   f'found for server {server_id}.') from None
        if migration.get('migration_type') != 'live-migration':
            raise errors.not_found(f'Migration {migration_id} for server {server_id} is '
                                   'not live-migration.')
        if migration.get('status') not in LIVE_IN_PROGRESS:
            raise errors.not_found(f'Live migration {migration_id} for server {server_id} '
                                   'is not in progress.')
        resp.media = {'migration': view.show(req, migration)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str,
                  migration_id: str) -> None:
        """Abort (202): the migration 'cancelled', the server stays on its source."""
        instance, _ = _server(req, server_id, '2.24', 'delete')
        try:
            util.compute_api().live_migrate_abort(util.ctx(req), instance, migration_id,
                                                  abort_queued=_at_least(req, '2.65'))
        except exception.InstanceInvalidState as e:
            raise errors.conflict(e.message) from None
        except exception.InvalidMigrationState as e:
            raise errors.bad_request(e.message) from None
        resp.status = 202


class ServerMigrationAction:
    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str,
                migration_id: str) -> None:
        """force_complete (2.22, 202): the source finishes the running migration now."""
        versioned.require(req, [('2.1', None), ('2.22', True)])
        body = util.read_body(req)
        name = util.action_name(body)
        if name != 'force_complete':
            raise errors.bad_request(f'There is no such action: {name}')
        validation.validate_body(schema.force_complete, body)
        ctx = util.ctx(req)
        instance = servers_handler.get_server(req, server_id, action='')
        policy.authorize(ctx, SERVER_MIGRATIONS % 'force_complete',
                         {'project_id': instance['project_id']})
        try:
            util.compute_api().live_migrate_force_complete(ctx, instance, migration_id)
        except (exception.MigrationNotFoundForInstance,
                exception.InvalidMigrationState) as e:
            raise errors.bad_request(e.message) from None
        resp.status = 202
