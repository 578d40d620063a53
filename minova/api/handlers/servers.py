"""/servers, /servers/detail and /servers/{id}: validation, policy and views.

The compute layer (minova.compute.api.API, via util.compute_api()) does the
work; this module never reads cell databases for servers itself.
"""
from __future__ import annotations

import inspect
import ipaddress
import secrets
import string
from typing import Any

import falcon
from oslo_utils import strutils

from minova import exception, states
from minova.api import errors, host_status, policy, util
from minova.api.handlers import flavors as flavors_handler
from minova.api.schemas import servers as schema
from minova.api.views import servers as view
from minova.db import build_requests
from minova.db import instances as instances_db
from minova.db import keypairs as keypairs_db
from minova.policies import servers as pol

NETWORKS_NOT_SUPPORTED = ('Requesting specific networks or ports is not supported by this '
                          'deployment yet; use "networks": "none" or "auto".')
BDM_NOT_SUPPORTED = ('Block device mappings (boot from volume) are not supported by this '
                     'deployment yet.')

# Filters a caller without the allow_all_filters policy may use, by the
# microversion that allowed them; the others are dropped, as Nova drops them.
_USER_FILTERS = [('2.1', {'reservation_id', 'name', 'status', 'image', 'flavor', 'ip',
                          'changes-since', 'all_tenants'}),
                 ('2.5', {'ip6'}),
                 ('2.26', set(instances_db.TAG_FILTERS)),
                 ('2.66', {'changes-before'}),
                 ('2.73', {'locked'}),
                 ('2.83', {'availability_zone', 'config_drive', 'key_name', 'created_at',
                           'launched_at', 'terminated_at', 'power_state', 'task_state',
                           'vm_state', 'progress', 'user_id'}),
                 ('2.90', {'hostname'})]
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


# ---- shared with the other server sub-resources ---------------------------------

def get_server(req: falcon.Request, server_id: str, action: str = 'show',
               read_deleted: bool = False) -> dict[str, Any]:
    """The server if the caller may see it; 404 otherwise (as for a missing one)."""
    ctx = util.ctx(req)
    # Only a plain GET (2.69+) may get a down cell's partial record; actions need it all.
    down = action == 'show' and util.at_least(req, '2.69')
    api = util.compute_api()
    instance = (api.get(ctx, server_id, cell_down_support=down, read_deleted=True)
                if read_deleted else api.get(ctx, server_id, cell_down_support=down))
    if not ctx.is_admin and instance.get('project_id') != ctx.project_id:
        raise exception.InstanceNotFound(instance_id=server_id)
    if action:
        policy.authorize(ctx, pol.SERVERS % action, {'project_id': instance['project_id'],
                                                     'user_id': instance.get('user_id')})
    return instance


def extras_for(req: falcon.Request, instances: list[dict[str, Any]]) -> view.ServerExtras:
    ctx = util.ctx(req)
    target = {'project_id': instances[0]['project_id'] if len(instances) == 1
              else ctx.project_id}
    extras = view.ServerExtras(
        is_admin=policy.can(ctx, pol.EXTENDED_ATTRS, target),
        show_extra_specs=util.at_least(req, '2.47') and policy.can(
            ctx, pol.SERVERS % 'show:flavor-extra-specs', target),
        show_host_status=util.at_least(req, '2.16') and policy.can(
            ctx, pol.SERVERS % 'show:host_status', target))
    if extras.show_host_status:
        extras.host_status = host_status.host_statuses(instances)
    # Request specs hold the server group (2.71, single GET only), the pinned
    # zone (2.96) and the hints (2.100).
    wants_specs = util.at_least(req, '2.96') or (util.at_least(req, '2.71')
                                                 and len(instances) == 1)
    if wants_specs and instances:
        extras.specs = build_requests.spec_get_many([i['uuid'] for i in instances])
    return extras


def render(req: falcon.Request, instance: dict[str, Any], shape: str = view.FULL
           ) -> dict[str, Any]:
    return {'server': view.show(req, instance, extras_for(req, [instance]), shape=shape)}


# ---- list ------------------------------------------------------------------

def _allowed_filters(req: falcon.Request) -> set[str] | None:
    if policy.can(util.ctx(req), pol.SERVERS % 'allow_all_filters'):
        return None
    allowed: set[str] = set()
    for version, names in _USER_FILTERS:
        if util.at_least(req, version):
            allowed |= names
    return allowed


def _strict_bool(value: Any) -> bool:
    """Nova's strict boolean of a query value; its 400 otherwise."""
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError as e:
        raise errors.bad_request(f'Invalid input received: {e}') from None


def _all_tenants(params: dict[str, list[str]]) -> bool:
    if 'all_tenants' not in params:
        return False
    value = util.last(params, 'all_tenants')
    return _strict_bool(value) if value else True   # empty: all tenants, as Nova


def _status_filter(req: falcon.Request, values: list[str], filters: dict[str, Any]) -> bool:
    """Add vm_state/task_state for the statuses; False when none can match."""
    vm_states: list[str] = []
    task_states: list[str] = []
    for value in values:
        found = states.states_for_status(value)
        if found is None:
            if util.at_least(req, '2.38'):
                raise errors.bad_request('Invalid status value')
            continue
        vm_states.extend(found)
        if value.upper() == 'REBOOT':
            task_states.extend([states.REBOOTING, states.REBOOT_PENDING,
                                states.REBOOT_STARTED])
        elif value.upper() == 'HARD_REBOOT':
            task_states.extend([states.REBOOTING_HARD, states.REBOOT_PENDING_HARD,
                                states.REBOOT_STARTED_HARD])
    if not vm_states:
        return False
    filters['vm_state'] = sorted(set(vm_states))
    if task_states:
        filters['task_state'] = task_states
    return True


def _filters(req: falcon.Request, params: dict[str, list[str]], detailed: bool
             ) -> dict[str, Any] | None:
    """instances-DB filters for the query; None when nothing can match.

    As Nova: a caller without allow_all_filters loses the filters it may not
    use; joined-table and `_` parameters are a 400; any other parameter this
    deployment has no column for is dropped (from 2.75 the schema refuses it).
    """
    ctx = util.ctx(req)
    allowed = _allowed_filters(req)
    if allowed is not None:
        params = {k: v for k, v in params.items() if k in allowed or k in _PAGING}
    for name in params:
        if name in _REFUSED or name.startswith('_'):
            raise errors.bad_request(f'Invalid filter field: {name}.')
    filters: dict[str, Any] = {}
    for name, key in _EXACT.items():
        if name in params:
            filters[key] = util.last(params, name)
    regex = {column: util.last(params, name) for name, column in _REGEX.items()
             if name in params}
    if regex:
        filters['regex'] = regex
    for name in ('flavor', 'ip', 'ip6'):
        if name in params:
            filters[name] = util.last(params, name)
    if util.at_least(req, '2.26'):
        for name in instances_db.TAG_FILTERS:
            if name in params:
                filters[name] = util.last(params, name).split(',')
    if 'locked' in params:
        filters['locked'] = _strict_bool(util.last(params, 'locked'))
    if 'status' in params and not _status_filter(req, params['status'], filters):
        return None
    for name in ('changes-since', 'changes-before'):
        if name in params:
            filters[name] = util.parse_time_param(util.last(params, name), name)
    if ('changes-since' in filters and 'changes-before' in filters
            and filters['changes-since'] > filters['changes-before']):
        raise errors.bad_request('The value of changes-since must be less than or equal '
                                 'to changes-before.')
    if 'deleted' in params:
        filters['deleted'] = strutils.bool_from_string(util.last(params, 'deleted'),
                                                       default=False)
    if filters.get('vm_state') in ('deleted', [states.DELETED]):
        if not ctx.is_admin:
            raise errors.HTTPFault(403, 'Only administrators may list deleted instances')
        filters['deleted'] = True
    if _all_tenants(params):
        policy.authorize(ctx, pol.SERVERS % ('detail:get_all_tenants' if detailed
                                             else 'index:get_all_tenants'))
        project = util.last(params, 'project_id') or util.last(params, 'tenant_id')
        if project:
            filters['project_id'] = project
    elif ctx.project_id:
        filters['project_id'] = ctx.project_id
    else:
        filters['user_id'] = ctx.user_id
    return filters


def _sort(req: falcon.Request, params: dict[str, list[str]]) -> tuple[list[str], list[str]]:
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
        if key == 'locked' and not util.at_least(req, '2.73'):
            continue
        out_k.append(key)
        out_d.append(direction)
    return (out_k, out_d) if out_k else (['created_at'], ['desc'])


def _list(req: falcon.Request, resp: falcon.Response, detailed: bool) -> None:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.SERVERS % ('detail' if detailed else 'index'))
    params = util.validated_query(req, schema.for_version(schema.INDEX_QUERY,
                                                          lambda v: util.at_least(req, v)))
    limit, marker = util.limit_marker(params)
    filters = _filters(req, params, detailed)
    sort_keys, sort_dirs = _sort(req, params)
    instances: list[dict[str, Any]] = []
    if filters is not None:
        try:
            instances = util.compute_api().get_all(ctx, filters, limit, marker,
                                                   sort_keys, sort_dirs,
                                                   cell_down_support=util.at_least(req, '2.69'))
        except exception.NotFound:
            raise errors.bad_request(f'marker [{marker}] not found') from None
    if detailed:
        extras = extras_for(req, instances) if instances else view.ServerExtras()
        items = [view.show(req, i, extras, in_list=True) for i in instances]
    else:
        items = [view.basic(req, i) for i in instances]
    body: dict[str, Any] = {'servers': items}
    links = util.page_links(req, 'servers/detail' if detailed else 'servers', items, limit)
    if links:
        body['servers_links'] = links
    resp.media = body


# ---- create ------------------------------------------------------------------

def _flavor(req: falcon.Request, ref: Any) -> dict[str, Any]:
    flavorid = str(ref).rstrip('/').rsplit('/', 1)[-1]
    try:
        return flavors_handler.get_visible(req, flavorid)
    except exception.FlavorNotFound as e:
        raise errors.bad_request(e.message) from None


def _networks(req: falcon.Request, value: Any) -> Any:
    if value is None or value in ('none', 'auto'):
        return value
    if isinstance(value, list) and not value:
        return None
    raise errors.bad_request(NETWORKS_NOT_SUPPORTED)


def _optional_kwargs(fn: Any, **kwargs: Any) -> dict[str, Any]:
    """Those of kwargs the compute API accepts; a given one it does not is a 400."""
    try:
        accepted = set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        accepted = set(kwargs)
    out = {}
    for name, value in kwargs.items():
        if value is None:
            continue
        if name not in accepted:
            raise errors.bad_request(f'Requesting {name} is not supported by this '
                                     'deployment yet.')
        out[name] = value
    return out


def _image_ref(server: dict[str, Any]) -> str | None:
    """imageRef, accepting the one BDM clients send to say the same (image -> local)."""
    image_ref = server.get('imageRef') or None
    if server.get('block_device_mapping'):
        raise errors.bad_request(BDM_NOT_SUPPORTED)
    for bdm in server.get('block_device_mapping_v2') or []:
        is_image_disk = (bdm.get('source_type') == 'image'
                         and bdm.get('destination_type', 'local') == 'local'
                         and str(bdm.get('boot_index')) == '0' and bdm.get('uuid'))
        if not is_image_disk:
            raise errors.bad_request(BDM_NOT_SUPPORTED)
        if image_ref is not None and bdm['uuid'] != image_ref:
            raise errors.bad_request('The image of the boot block device mapping must be '
                                     'the imageRef.')
        image_ref = bdm['uuid']
    return image_ref


def _canonical_ip(value: str | None) -> str | None:
    """accessIPv4/v6 as Nova stores them: the canonical (compressed) form."""
    return str(ipaddress.ip_address(value)) if value else value


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return ''.join(secrets.choice(alphabet) for _ in range(12))


def _create(req: falcon.Request, resp: falcon.Response) -> None:
    ctx = util.ctx(req)
    body = util.validated_body(req, schema.for_version(schema.CREATE,
                                                       lambda v: util.at_least(req, v)))
    server = body['server']
    target = {'project_id': ctx.project_id, 'user_id': ctx.user_id}
    policy.authorize(ctx, pol.SERVERS % 'create', target)
    image_ref = _image_ref(server)
    if image_ref is None:
        raise errors.bad_request('Can not find requested image')
    flavor = _flavor(req, server['flavorRef'])
    networks = _networks(req, server.get('networks'))
    min_count = int(server.get('min_count', 1))
    max_count = int(server.get('max_count', min_count))
    if min_count > max_count:
        raise errors.bad_request('min_count must be <= max_count')
    key_pair = None
    if server.get('key_name'):
        try:
            key_pair = keypairs_db.get(ctx.user_id, server['key_name'])
        except exception.NotFound:
            raise errors.bad_request('Invalid key_name provided.') from None
    az = server.get('availability_zone')
    forced_host = forced_node = None
    if az and ':' in az:
        policy.authorize(ctx, pol.SERVERS % 'create:forced_host', target)
        az, _, rest = az.partition(':')
        forced_host, _, forced_node = rest.partition(':')
        az = az or None
    requested_host = server.get('host')
    requested_node = server.get('hypervisor_hostname')
    if requested_host or requested_node:
        policy.authorize(ctx, pol.REQUESTED_DESTINATION, target)
    hints = body.get('os:scheduler_hints') or body.get('OS-SCH-HNT:scheduler_hints') or {}
    api = util.compute_api()
    admin_pass = server.get('adminPass') or _password()
    extra = _optional_kwargs(
        api.create, forced_host=forced_host or None, forced_node=forced_node or None,
        requested_host=requested_host, requested_hypervisor_hostname=requested_node)
    instances, reservation_id = api.create(
        ctx, flavor=flavor, image_ref=image_ref, name=server['name'],
        min_count=min_count, max_count=max_count, metadata=server.get('metadata') or {},
        key_pair=key_pair, user_data=server.get('user_data'), availability_zone=az,
        config_drive=util.to_bool(server.get('config_drive', False)),
        access_ip_v4=_canonical_ip(server.get('accessIPv4')),
        access_ip_v6=_canonical_ip(server.get('accessIPv6')),
        description=server.get('description'), hostname=server.get('hostname'),
        networks=networks, scheduler_hints=hints, tags=server.get('tags'), **extra)
    resp.status = 202
    if util.to_bool(server.get('return_reservation_id', False)):
        resp.media = {'reservation_id': reservation_id}
        return
    created = view.create(req, instances[0], body, admin_pass)
    resp.set_header('Location', created['links'][0]['href'])
    resp.media = {'server': created}


# ---- update ------------------------------------------------------------------

def _pinned_az_change(instance: dict[str, Any], new: str | None) -> None:
    """Nova 2.104: unpin (null), re-pin to the current zone, or keep the value."""
    spec = build_requests.spec_get_many([instance['uuid']]).get(instance['uuid']) or {}
    current = spec.get('availability_zone')
    if new is None or new == current:
        return
    if current is not None:
        raise errors.conflict('Cannot change pinned availability zone directly. Unpin '
                              'first by setting pinned_availability_zone to null.')
    location = view.availability_zone(instance)
    if new != location:
        raise errors.conflict(f"Server can only be pinned to its current availability zone "
                              f"'{location}', but '{new}' was requested.")


def _update(req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
    body = util.validated_body(req, schema.for_version(schema.UPDATE,
                                                       lambda v: util.at_least(req, v)))
    instance = get_server(req, server_id, action='update')
    changes: dict[str, Any] = {}
    s = body['server']
    mapping = {'name': 'display_name', 'description': 'display_description',
               'accessIPv4': 'access_ip_v4', 'accessIPv6': 'access_ip_v6',
               'hostname': 'hostname'}
    for field, column in mapping.items():
        if field in s:
            changes[column] = s[field]
    if 'display_name' in changes:
        changes['display_name'] = changes['display_name'].strip()
    for column in ('access_ip_v4', 'access_ip_v6'):
        if column in changes:
            changes[column] = _canonical_ip(changes[column])
    if 'pinned_availability_zone' in s:
        _pinned_az_change(instance, s['pinned_availability_zone'])
        changes['pinned_availability_zone'] = s['pinned_availability_zone']
    if changes:
        instance = util.compute_api().update(util.ctx(req), instance, changes)
    resp.media = render(req, instance, util.for_version(req, view.UPDATE_SHAPE))


class Servers:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detailed=False)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        _create(req, resp)


class ServersDetail:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detailed=True)


class Server:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        util.validated_query(req, schema.show_query_v2102 if util.at_least(req, '2.102')
                             else schema.show_query)
        resp.media = render(req, get_server(req, server_id))

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        _update(req, resp, server_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        instance = get_server(req, server_id, action='delete')
        util.compute_api().delete(util.ctx(req), instance)
        resp.status = 204

