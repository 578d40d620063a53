"""Records the compute API reads straight from the cell databases, without a
compute host: migration records (GET /os-migrations) and the instances
active in a period (os-simple-tenant-usage)."""
from __future__ import annotations

import functools
import logging
from typing import Any

from minova import exception
from minova.cells import lookup, scatter
from minova.compute import listing
from minova.context import RequestContext
from minova.db import engines, instances, server_migrations
from minova.db.instances import Instance

LOG = logging.getLogger(__name__)


class MigrationMarkerNotFound(exception.Invalid):
    msg_fmt = 'Marker %(marker)s could not be found.'


class RecordsAPI:
    """Part of minova.compute.api.API: reads of records across the cells."""

    # -- migrations ---------------------------------------------------------------

    def get_migrations(self, ctx: RequestContext, filters: dict[str, Any],
                       limit: int | None = None, marker: str | None = None
                       ) -> list[dict[str, Any]]:
        """Migration records of every cell (cell0 has none), newest first as
        Nova sorts them (created_at, id), each with 'cell_uuid'. `marker` is a
        migration uuid; MigrationMarkerNotFound (400) when no cell has it.
        A cell that does not answer is left out, as for server lists."""
        marker_row = None
        if marker:
            found = scatter.for_each_cell(
                lambda c: server_migrations.get_by_uuid(c['database_connection'], marker),
                include_cell0=False)
            marker_row = next((r for r in found.values() if isinstance(r, dict)), None)
            if marker_row is None:
                raise MigrationMarkerNotFound(marker=marker)
        results = scatter.for_each_cell(
            lambda c: server_migrations.get_all(c['database_connection'], filters, limit,
                                                marker_row), include_cell0=False)
        merged: list[dict[str, Any]] = []
        for cell_uuid, rows in results.items():
            if isinstance(rows, scatter.CellFailed):
                continue
            merged.extend(dict(r, cell_uuid=cell_uuid) for r in rows)
        keys = [*server_migrations.SORT_KEYS, 'uuid']
        dirs = [*server_migrations.SORT_DIRS, 'desc']
        merged.sort(key=functools.cmp_to_key(functools.partial(listing.compare, keys, dirs)))
        return merged[:limit] if limit is not None else merged

    # -- usage (os-simple-tenant-usage) ------------------------------------------

    def get_active_by_window(self, ctx: RequestContext, begin: Any, end: Any,
                             project_id: str | None = None, limit: int | None = None,
                             marker: str | None = None) -> list[Instance]:
        """Instances active in [begin, end) over the cells in turn, as Nova walks
        them: the marker is looked for cell by cell, and the limit spans cells.
        Raises UsageMarkerNotFound (400) when no cell has the marker."""
        found: list[Instance] = []
        for cell in lookup.all_cells():
            try:
                with engines.fail_fast():
                    rows = instances.get_active_by_window(
                        cell['database_connection'], begin, end, project_id, limit, marker)
            except instances.UsageMarkerNotFound:
                continue
            except Exception as e:
                if not engines.is_connection_error(e):
                    raise
                LOG.warning('Usage leaves out cell %s, which does not answer', cell['name'])
                continue
            found.extend(rows)
            marker = None
            if limit:
                limit -= len(rows)
                if limit <= 0:
                    break
        if marker is not None and not found:
            raise instances.UsageMarkerNotFound(marker=marker)
        return found
