"""The GET /servers[/detail] query string as instance-DB filters and sort order.

As Nova: a caller without the allow_all_filters policy loses the filters its
microversion does not let it use (schemas/servers.py, `user_filters`);
joined-table and `_` parameters are a 400; any other parameter this
deployment has no column for is dropped (from 2.75 the schema refuses it).
"""
from __future__ import annotations

from typing import Any

import falcon
from oslo_utils import strutils

from minova import states
from minova.api import errors, policy, util
from minova.api.schemas import servers as schema
from minova.db import instances as instances_db
from minova.policies import servers as pol

_PAGING = ('limit', 'marker', 'sort_key', 'sort_dir')

# Query parameter -> instances-DB exact filter (minova/db/instances.py EXACT_FILTERS).
_EXACT = {'image': 'image', 'image_ref': 'image', 'uuid': 'uuid', 'host': 'host',
          'user_id': 'user_id', 'vm_state': 'vm_state', 'task_state': 'task_state'}
# Query parameter -> column it is matched against as a regular expression, as Nova
# matches every list filter that is not an exact one.
_REGEX = {'name': 'display_name', 'display_name': 'display_name',
          'display_description': 'display_description', 'reservation_id': 'reservation_id',
          'node': 'node', 'hostname': 'hostname', 'key_name': 'key_name',
          'availability_zone': 'availability_zone', 'config_drive': 'config_drive',
          'created_at': 'created_at', 'launched_at': 'launched_at',
          'terminated_at': 'terminated_at', 'power_state': 'power_state',
          'progress': 'progress', 'launch_index': 'launch_index',
          'root_device_name': 'root_device_name', 'access_ip_v4': 'access_ip_v4',
          'access_ip_v6': 'access_ip_v6', 'locked_by': 'locked_by'}
# Filters on joined tables, or internal ones: Nova refuses them (even for admins).
_REFUSED = ('block_device_mapping', 'services', 'metadata', 'system_metadata',
            'info_cache', 'security_groups', 'pci_devices')


def strict_bool(value: Any) -> bool:
    """Nova's strict boolean of a query value; its 400 otherwise."""
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError as e:
        raise errors.bad_request(f'Invalid input received: {e}') from None


def _all_tenants(params: dict[str, list[str]]) -> bool:
    if 'all_tenants' not in params:
        return False
    value = util.last(params, 'all_tenants')
    return strict_bool(value) if value else True   # empty: all tenants, as Nova


def _status_filter(row: schema.Servers, values: list[str], filters: dict[str, Any]) -> bool:
    """Add vm_state/task_state for the statuses; False when none can match."""
    vm_states: list[str] = []
    task_states: list[str] = []
    for value in values:
        found = states.states_for_status(value)
        if found is None:
            if row.strict_status:
                raise errors.bad_request('Invalid status value')
            continue
        vm_states.extend(found)
        if value.upper() == 'REBOOT':
            task_states.extend([states.REBOOTING, states.REBOOT_PENDING,
                                states.REBOOT_STARTED])
        elif value.upper() == 'HARD_REBOOT':
            task_states.extend([states.REBOOTING_HARD, states.REBOOT_PENDING_HARD,
                                states.REBOOT_STARTED_HARD])
        elif value.upper() == 'REBUILD':
            task_states.extend(states.REBUILD_STEPS)
        elif value.upper() == 'MIGRATING':
            task_states.append(states.MIGRATING)
    if not vm_states:
        return False
    filters['vm_state'] = sorted(set(vm_states))
    if task_states:
        filters['task_state'] = task_states
    return True


def filters(req: falcon.Request, row: schema.Servers, params: dict[str, list[str]],
            detailed: bool) -> dict[str, Any] | None:
    """instances-DB filters for the query; None when nothing can match."""
    ctx = util.ctx(req)
    if not policy.can(ctx, pol.SERVERS % 'allow_all_filters'):
        params = {k: v for k, v in params.items() if k in row.user_filters or k in _PAGING}
    for name in params:
        if name in _REFUSED or name.startswith('_'):
            raise errors.bad_request(f'Invalid filter field: {name}.')
    found: dict[str, Any] = {}
    for name, key in _EXACT.items():
        if name in params:
            found[key] = util.last(params, name)
    regex = {column: util.last(params, name) for name, column in _REGEX.items()
             if name in params}
    if regex:
        found['regex'] = regex
    for name in ('flavor', 'ip', 'ip6'):
        if name in params:
            found[name] = util.last(params, name)
    if row.tag_filters:
        for name in instances_db.TAG_FILTERS:
            if name in params:
                found[name] = util.last(params, name).split(',')
    if 'locked' in params:
        found['locked'] = strict_bool(util.last(params, 'locked'))
    if 'status' in params and not _status_filter(row, params['status'], found):
        return None
    for name in ('changes-since', 'changes-before'):
        if name in params:
            found[name] = util.parse_time_param(util.last(params, name), name)
    if ('changes-since' in found and 'changes-before' in found
            and found['changes-since'] > found['changes-before']):
        raise errors.bad_request('The value of changes-since must be less than or equal '
                                 'to changes-before.')
    if 'deleted' in params:
        found['deleted'] = strutils.bool_from_string(util.last(params, 'deleted'),
                                                     default=False)
    if found.get('vm_state') in ('deleted', [states.DELETED]):
        if not ctx.is_admin:
            raise errors.HTTPFault(403, 'Only administrators may list deleted instances')
        found['deleted'] = True
    if 'soft_deleted' in params:
        # (A filter only those allowed all filters keep; its default is in
        # minova/compute/listing.py.)
        found['soft_deleted'] = strutils.bool_from_string(
            util.last(params, 'soft_deleted'), default=False)
    _scope(req, params, detailed, found)
    return found


def _scope(req: falcon.Request, params: dict[str, list[str]], detailed: bool,
           found: dict[str, Any]) -> None:
    """The caller's own project, or (all_tenants, by policy) any or the one asked for."""
    ctx = util.ctx(req)
    if _all_tenants(params):
        policy.authorize(ctx, pol.SERVERS % ('detail:get_all_tenants' if detailed
                                             else 'index:get_all_tenants'))
        project = util.last(params, 'project_id') or util.last(params, 'tenant_id')
        if project:
            found['project_id'] = project
    elif ctx.project_id:
        found['project_id'] = ctx.project_id
    else:
        found['user_id'] = ctx.user_id


def sort(req: falcon.Request, row: schema.Servers, params: dict[str, list[str]]
         ) -> tuple[list[str], list[str]]:
    """(sort keys, directions): created_at desc unless asked otherwise."""
    keys = params.get('sort_key') or []
    dirs = [d.lower() for d in params.get('sort_dir') or []]
    for d in dirs:
        if d not in ('asc', 'desc'):
            raise errors.bad_request('Unknown sort direction, must be one of: asc, desc')
    if not keys:
        return ['created_at'], [dirs[0] if dirs else 'desc']
    if dirs and len(dirs) != len(keys):
        if len(dirs) > len(keys):
            raise errors.bad_request('Sort direction size exceeds sort key size')
        dirs = dirs + [dirs[-1]] * (len(keys) - len(dirs))
    if not dirs:
        dirs = ['desc'] * len(keys)
    is_admin = util.ctx(req).is_admin
    out_k: list[str] = []
    out_d: list[str] = []
    for key, direction in zip(keys, dirs, strict=True):
        if key not in instances_db.SORTABLE or key in ('deleted', 'id', 'user_data',
                                                       'key_data'):
            continue
        if not is_admin and key in ('host', 'node'):
            raise errors.HTTPFault(403, f'Only administrators can sort servers by {key}')
        if key == 'locked' and not row.locked_sort:
            continue
        out_k.append(key)
        out_d.append(direction)
    return (out_k, out_d) if out_k else (['created_at'], ['desc'])
