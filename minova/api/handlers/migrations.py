"""GET /os-migrations: the migration records (server moves) of every cell.

Nova's fields per microversion: migration_type and links to in-progress live
migrations from 2.23, uuid and paging (limit, marker = a migration uuid,
changes-since) from 2.59, changes-before from 2.66, user_id/project_id (and
filters on them) from 2.80. A caller may list another project's (or every
project's) migrations only with index:all_projects; host fields are null
without index:host.
"""
from __future__ import annotations

from typing import Any

import falcon

from minova.api import errors, policy, util
from minova.api.schemas import migrations as schema
from minova.api.versioned import schema_for
from minova.api.views import migrations as view
from minova.policies.migrations import MIGRATIONS

# Filters each version passes on (below 2.59 any parameter reaches the query, as in Nova).
_FILTERS = ('hidden', 'host', 'instance_uuid', 'source_compute', 'status', 'migration_type',
            'node', 'uuid', 'user_id', 'project_id')


class Migrations:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = util.ctx(req)
        policy.authorize(ctx, MIGRATIONS % 'index')
        row = schema_for(req, schema.TABLE)
        params = util.validated_query(req, row.index_query)
        project = util.last(params, 'project_id')
        if not project or project != ctx.project_id:
            policy.authorize(ctx, MIGRATIONS % 'index:all_projects')
        show_host = policy.can(ctx, MIGRATIONS % 'index:host')
        filters = {name: util.last(params, name) for name in _FILTERS if name in params}
        # Hidden records are never shown; leaving them out of the query (Nova drops
        # them afterwards) keeps pages full.
        filters.setdefault('hidden', 'false')
        paging = row.paging
        limit = marker = None
        if paging:
            limit, marker = util.limit_marker(params)
            for name in ('changes-since', 'changes-before'):
                if name in params:
                    filters[name] = util.parse_time_param(util.last(params, name), name)
            if ('changes-since' in filters and 'changes-before' in filters
                    and filters['changes-before'] < filters['changes-since']):
                raise errors.bad_request('The value of changes-since must be less than or '
                                         'equal to changes-before.')
        found = util.compute_api().get_migrations(ctx, filters, limit, marker)
        items = [view.show(req, m, show_host) for m in found if not m.get('hidden')]
        body: dict[str, Any] = {'migrations': items}
        if paging:
            links = util.page_links(req, 'os-migrations', items, limit or 0, key='uuid')
            if links:
                body['migrations_links'] = links
        resp.media = body
