"""GET /os-migrations, with Nova's rule names and defaults."""
from __future__ import annotations

from oslo_policy import policy

from minova.policies.base import ADMIN, PROJECT_MANAGER_OR_ADMIN, api_rule

MIGRATIONS = 'os_compute_api:os-migrations:%s'

_M = [('GET', '/os-migrations')]

rules: list[policy.RuleDefault] = [
    api_rule(MIGRATIONS % 'index', PROJECT_MANAGER_OR_ADMIN,
             'List migrations (host fields null without index:host)', _M),
    api_rule(MIGRATIONS % 'index:all_projects', ADMIN,
             "List other projects' or all projects' migrations", _M),
    api_rule(MIGRATIONS % 'index:host', ADMIN, 'Show the host fields of migrations', _M),
]


# Live migration and a server's live migrations (Nova's migrate_server and
# servers_migrations rules, with their newest defaults: a project manager may
# live migrate, an admin picks the host and sees the hosts).
MIGRATE_LIVE = 'os_compute_api:os-migrate-server:migrate_live'
MIGRATE_LIVE_HOST = 'os_compute_api:os-migrate-server:migrate_live:host'
SERVER_MIGRATIONS = 'os_compute_api:servers:migrations:%s'

_LIVE = [('POST', '/servers/{server_id}/action (os-migrateLive)')]
_SM = '/servers/{server_id}/migrations'

rules += [
    api_rule(MIGRATE_LIVE, PROJECT_MANAGER_OR_ADMIN,
             'Live migrate a server to a new host without a reboot without specifying '
             'a host.', _LIVE),
    api_rule(MIGRATE_LIVE_HOST, ADMIN,
             'Live migrate a server to a specified host without a reboot.', _LIVE),
    api_rule(SERVER_MIGRATIONS % 'show', ADMIN,
             'Show details for an in-progress live migration for a given server',
             [('GET', _SM + '/{migration_id}')]),
    api_rule(SERVER_MIGRATIONS % 'force_complete', PROJECT_MANAGER_OR_ADMIN,
             'Force an in-progress live migration for a given server to complete',
             [('POST', _SM + '/{migration_id}/action (force_complete)')]),
    api_rule(SERVER_MIGRATIONS % 'delete', PROJECT_MANAGER_OR_ADMIN,
             'Delete(Abort) an in-progress live migration',
             [('DELETE', _SM + '/{migration_id}')]),
    api_rule(SERVER_MIGRATIONS % 'index', PROJECT_MANAGER_OR_ADMIN,
             'Lists in-progress live migrations for a given server without host info.',
             [('GET', _SM)]),
    api_rule(SERVER_MIGRATIONS % 'index:host', ADMIN,
             'Lists in-progress live migrations for a given server with host info.',
             [('GET', _SM)]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
