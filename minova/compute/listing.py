"""Server lists across cells (GET /servers): each cell's page, the build
requests (servers not in a cell yet) that the cell queries cannot see, merged
in sort order, with the filters of minova/db/instances.py applied in Python
where no query can apply them."""
from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from typing import Any

from minova import exception, utils
from minova.cells import lookup, mappings, scatter
from minova.cells.mappings import CellMapping
from minova.db import build_requests, instances, regexp
from minova.db.instances import Instance


class MarkerNotFound(exception.NotFound):
    msg_fmt = 'marker [%(marker)s] not found'


def get_all(filters: dict[str, Any], limit: int | None, marker: str | None,
            sort_keys: list[str], sort_dirs: list[str], cell_down_support: bool = False,
            columns: list[str] | None = None) -> list[Instance]:
    """Servers across cells and build requests, merged in sort order.

    filters use minova/db/instances.py keys (project_id, name, vm_state
    list, host, changes-since, deleted, soft_deleted ...). Raises MarkerNotFound (400).
    `columns`: read only these (and the sort keys) from the cells, without
    faults (the basic list names a server and links it, nothing more); build
    requests come whole.
    """
    if 'changes-since' not in filters and 'changes-before' not in filters:
        # As Nova's query: SOFT_DELETED servers are left out of a list of live
        # servers and shown with the deleted ones, unless `soft_deleted` says.
        filters = dict(filters)
        filters.setdefault('soft_deleted', bool(filters.get('deleted')))
    sort_keys = list(sort_keys or ['created_at'])
    sort_dirs = list(sort_dirs or ['desc'] * len(sort_keys))
    keys, dirs = sort_keys + ['uuid'], sort_dirs + [sort_dirs[-1]]
    marker_row = _marker_row(marker) if marker else None
    project = filters.get('project_id')
    project = project if isinstance(project, str) else None
    # Build requests are read before the cells: conductor writes a server into
    # its cell before it deletes the build request, so read in this order a
    # server is in one or both, never in neither.
    pending = [br for br in build_requests.get_all(project)
               if build_request_matches(br, filters)
               and (marker_row is None or compare(keys, dirs, br, marker_row) > 0)]
    for br in pending:
        br.update({'cell_uuid': None, 'fault': None})
    if columns is not None:
        columns = sorted({'uuid', *columns, *(k for k in keys if k in instances.instances.c)})
    merged, down = _from_cells(filters, limit, sort_keys, sort_dirs, marker_row, columns)
    in_cells = {row['uuid'] for row in merged}
    merged.extend(br for br in pending if br['uuid'] not in in_cells)
    merged.sort(key=functools.cmp_to_key(functools.partial(compare, keys, dirs)))
    if cell_down_support and down and marker is None:
        # 2.69+: what the API DB knows of a down cell's servers comes last, as
        # in Nova; below 2.69 they are left out (partial results).
        for cell in down:
            merged.extend(scatter.down_cell_instances(cell, project, limit))
    return merged[:limit] if limit is not None else merged


def _marker_row(marker: str) -> Instance:
    try:
        mapping = mappings.instance_mapping_get(marker)
        if mapping['cell_id'] is None:
            br = build_requests.get(marker)
            if br is None:
                raise exception.InstanceNotFound(instance_id=marker)
            return br
        cell = lookup.get_by_id(mapping['cell_id'])
        return instances.get(cell['database_connection'], marker, read_deleted=True)
    except exception.InstanceNotFound:
        raise MarkerNotFound(marker=marker) from None


def _from_cells(filters: dict[str, Any], limit: int | None, sort_keys: list[str],
                sort_dirs: list[str], marker_row: Instance | None,
                columns: list[str] | None = None
                ) -> tuple[list[Instance], list[CellMapping]]:
    """(each answering cell's page with 'cell_uuid', the cells that did not answer)."""
    results = scatter.for_each_cell(
        lambda c: instances.get_all(c['database_connection'], filters, limit, sort_keys,
                                    sort_dirs, marker_row, with_fault=columns is None,
                                    columns=columns))
    merged: list[Instance] = []
    down: list[CellMapping] = []
    for cell in lookup.all_cells():
        rows = results.get(cell['uuid'])
        if isinstance(rows, scatter.CellFailed):
            down.append(cell)
            continue
        if rows is None:
            continue
        for row in rows:
            row['cell_uuid'] = cell['uuid']
        merged.extend(rows)
    return merged, down


def _sort_value(value: Any) -> tuple[int, Any]:
    # NULL first, then values; mixed types compare by their string form.
    if value is None:
        return (0, '')
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


def compare(keys: list[str], dirs: list[str], a: Mapping[str, Any], b: Mapping[str, Any]
            ) -> int:
    """Order of two rows (servers, migration records) by keys in dirs ('asc'/'desc')."""
    for key, direction in zip(keys, dirs, strict=True):
        va, vb = _sort_value(a.get(key)), _sort_value(b.get(key))
        try:
            c = (va > vb) - (va < vb)
        except TypeError:
            sa_, sb_ = str(va), str(vb)
            c = (sa_ > sb_) - (sa_ < sb_)
        if c:
            return -c if direction == 'desc' else c
    return 0


def _as_text(value: Any) -> str:
    """A column value as the DB's text form (what a regex filter matches)."""
    if isinstance(value, datetime.datetime):
        return value.strftime('%Y-%m-%d %H:%M:%S.%f')
    return str(value)


def _regex_matches(value: Any, pattern: str) -> bool:
    """As the cell query matches: RE2 on the text (minova/db/regexp.py)."""
    if value is None:
        return False
    return regexp.search(pattern, _as_text(value))


def _tags_match(name: str, have: list[str], tags: list[str]) -> bool:
    hits = [t in have for t in tags]
    match = all(hits) if name in ('tags', 'not-tags') else any(hits)
    return not match if name.startswith('not-') else match


def build_request_matches(inst: Instance, filters: dict[str, Any]) -> bool:
    """Apply list filters to a build request (which has no host yet), with the
    semantics of minova/db/instances.py."""
    for key, value in filters.items():
        if key in ('deleted',):
            if value:
                return False
            continue
        if key in ('changes-since', 'changes-before'):
            stamp = utils.parse_time(value)
            created = inst.get('created_at')
            if created is None:
                continue
            if key == 'changes-since' and created < stamp:
                return False
            if key == 'changes-before' and created > stamp:
                return False
            continue
        if key in ('name', 'regex'):
            patterns = {'display_name': value} if key == 'name' else value
            if not all(_regex_matches(inst.get(col), str(p)) for col, p in patterns.items()
                       if col in instances.REGEX_COLUMNS):
                return False
            continue
        if key in instances.TAG_FILTERS:
            if value and not _tags_match(key, list(inst.get('tags') or []), list(value)):
                return False
            continue
        if key == 'flavor':
            if str((inst.get('flavor') or {}).get('flavorid')) != str(value):
                return False
            continue
        if key in ('ip', 'ip6'):
            return False   # no addresses before a host is chosen
        field = instances.EXACT_FILTERS.get(key)
        if field is None:
            continue
        have = inst.get(field)
        if isinstance(value, list | tuple | set):
            if have not in value:
                return False
        elif have != value:
            return False
    return True
