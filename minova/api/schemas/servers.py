"""Request schemas of /servers and the family's version table (TABLE).

Each microversion's schema is the previous plus a change; TABLE says, per
microversion, which schemas and which list and view behaviours apply.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema, added

_bdm_v2 = {
    'type': 'object',
    'properties': {
        'source_type': {'type': 'string', 'enum': ['volume', 'image', 'snapshot', 'blank']},
        'destination_type': {'type': 'string', 'enum': ['local', 'volume']},
        'uuid': {'type': 'string', 'minLength': 1, 'maxLength': 255,
                 'pattern': '^[a-zA-Z0-9._-]*$'},
        'boot_index': {'type': ['integer', 'string', 'null'], 'pattern': '^-?[0-9]+$'},
        'volume_size': {'type': ['integer', 'string'], 'pattern': '^[0-9]+$', 'minimum': 1},
        'delete_on_termination': types.boolean,
        'device_name': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'guest_format': {'type': 'string', 'maxLength': 255},
        'device_type': {'type': 'string', 'maxLength': 255},
        'disk_bus': {'type': 'string', 'maxLength': 255},
        'volume_id': types.uuid,
        'snapshot_id': types.uuid,
        'image_id': types.uuid,
        'no_device': {},
        'tag': types.tag,
        'volume_type': {'type': ['string', 'null'], 'minLength': 0, 'maxLength': 255},
    },
    'additionalProperties': False,
}

_hints: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'group': {'oneOf': [{'type': 'array', 'items': types.uuid}, types.uuid]},
        'different_host': {'oneOf': [types.uuid, {'type': 'array', 'items': types.uuid}]},
        'same_host': {'type': ['string', 'array'], 'items': types.uuid},
        'query': {'type': ['string', 'object']},
        'target_cell': types.name,
        'different_cell': {'type': ['string', 'array'], 'items': {'type': 'string'}},
        'build_near_host_ip': types.ip_address,
        'cidr': {'type': 'string', 'pattern': '^/[0-9a-f.:]+$'},
    },
    'additionalProperties': True,
}

_network_item: Schema = {
    'type': 'object',
    'properties': {
        'fixed_ip': types.ip_address,
        'port': {'type': ['string', 'null'], 'format': 'uuid'},
        'uuid': {'type': 'string'},
    },
    'additionalProperties': False,
}

create: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'server': {
            'type': 'object',
            'properties': {
                'name': types.name,
                'imageRef': {'oneOf': [types.uuid, {'type': 'string', 'maxLength': 0}]},
                'flavorRef': {'type': ['string', 'integer'], 'minLength': 1},
                'adminPass': {'type': 'string'},
                'metadata': types.metadata,
                'networks': {'type': 'array', 'items': _network_item},
                'OS-DCF:diskConfig': {'type': 'string', 'enum': ['AUTO', 'MANUAL']},
                'accessIPv4': types.ipv4,
                'accessIPv6': types.ipv6,
                'personality': {'type': 'array', 'items': {
                    'type': 'object',
                    'properties': {'path': {'type': 'string'},
                                   'contents': {'type': 'string', 'format': 'base64'}},
                    'additionalProperties': False}},
                'availability_zone': types.name,
                'block_device_mapping': {'type': 'array', 'items': {'type': 'object'}},
                'block_device_mapping_v2': {'type': 'array', 'items': _bdm_v2},
                'config_drive': types.boolean,
                'key_name': types.name,
                'min_count': types.positive_integer,
                'max_count': types.positive_integer,
                'return_reservation_id': types.boolean,
                'security_groups': {'type': 'array', 'items': {
                    'type': 'object', 'properties': {'name': types.name},
                    'additionalProperties': False}},
                'user_data': {'type': 'string', 'format': 'base64', 'maxLength': 65535},
            },
            'required': ['name', 'flavorRef'],
            'additionalProperties': False,
        },
        'os:scheduler_hints': _hints,
        'OS-SCH-HNT:scheduler_hints': _hints,
    },
    'required': ['server'],
    'additionalProperties': False,
}


def _server(schema: dict[str, Any]) -> dict[str, Any]:
    return schema['properties']['server']


create_v219 = copy.deepcopy(create)
_server(create_v219)['properties']['description'] = types.description

create_v232 = copy.deepcopy(create_v219)
_server(create_v232)['properties']['networks']['items']['properties']['tag'] = types.tag

create_v237 = copy.deepcopy(create_v232)
_server(create_v237)['required'].append('networks')
_item_v237 = copy.deepcopy(_network_item)
_item_v237['properties']['uuid'] = types.uuid
_server(create_v237)['properties']['networks'] = {
    'oneOf': [{'type': 'array', 'items': _item_v237},
              {'type': 'string', 'enum': ['none', 'auto']}],
}

# 2.42: the tag of each network is back (2.37 had lost it).
create_v242 = copy.deepcopy(create_v237)
_server(create_v242)['properties']['networks']['oneOf'][0]['items']['properties']['tag'] = \
    types.tag

create_v252 = copy.deepcopy(create_v242)
_server(create_v252)['properties']['tags'] = {'type': 'array', 'items': types.tag,
                                              'maxItems': 50}

create_v257 = copy.deepcopy(create_v252)
del _server(create_v257)['properties']['personality']

create_v263 = copy.deepcopy(create_v257)
_server(create_v263)['properties']['trusted_image_certificates'] = {
    'type': ['array', 'null'], 'minItems': 1, 'maxItems': 50, 'uniqueItems': True,
    'items': {'type': 'string', 'minLength': 1}}

create_v274 = copy.deepcopy(create_v263)
_server(create_v274)['properties']['host'] = types.fqdn
_server(create_v274)['properties']['hypervisor_hostname'] = types.fqdn

create_v290 = copy.deepcopy(create_v274)
_server(create_v290)['properties']['hostname'] = types.hostname

create_v294 = copy.deepcopy(create_v290)
_server(create_v294)['properties']['hostname'] = types.fqdn


update: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'server': {
            'type': 'object',
            'properties': {
                'name': types.name,
                'OS-DCF:diskConfig': {'type': 'string', 'enum': ['AUTO', 'MANUAL']},
                'accessIPv4': types.ipv4,
                'accessIPv6': types.ipv6,
            },
            'additionalProperties': False,
        },
    },
    'required': ['server'],
    'additionalProperties': False,
}

update_v219 = copy.deepcopy(update)
_server(update_v219)['properties']['description'] = types.description

update_v290 = copy.deepcopy(update_v219)
_server(update_v290)['properties']['hostname'] = types.hostname

update_v294 = copy.deepcopy(update_v290)
_server(update_v294)['properties']['hostname'] = types.fqdn

update_v2104 = copy.deepcopy(update_v294)
_server(update_v2104)['properties']['pinned_availability_zone'] = {
    'oneOf': [types.name, {'type': 'null'}]}


# ---- the rebuild action (POST /servers/{id}/action {"rebuild": ...}) ----------

rebuild: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'rebuild': {
            'type': 'object',
            'properties': {
                'name': types.name,
                'imageRef': types.uuid,
                'adminPass': {'type': 'string'},
                'metadata': types.metadata,
                'preserve_ephemeral': types.boolean,
                'OS-DCF:diskConfig': {'type': 'string', 'enum': ['AUTO', 'MANUAL']},
                'accessIPv4': types.ipv4,
                'accessIPv6': types.ipv6,
                'personality': copy.deepcopy(_server(create)['properties']['personality']),
            },
            'required': ['imageRef'],
            'additionalProperties': False,
        },
    },
    'required': ['rebuild'],
    'additionalProperties': False,
}


def _rebuild(schema: dict[str, Any]) -> dict[str, Any]:
    return schema['properties']['rebuild']


rebuild_v219 = copy.deepcopy(rebuild)
_rebuild(rebuild_v219)['properties']['description'] = types.description

# 2.54: key_name (null removes the key pair)
rebuild_v254 = copy.deepcopy(rebuild_v219)
_rebuild(rebuild_v254)['properties']['key_name'] = {
    'oneOf': [{'type': 'string', 'minLength': 1, 'maxLength': 255}, {'type': 'null'}]}

# 2.57: personality gone; user_data (null removes it)
rebuild_v257 = copy.deepcopy(rebuild_v254)
del _rebuild(rebuild_v257)['properties']['personality']
_rebuild(rebuild_v257)['properties']['user_data'] = {
    'type': ['string', 'null'], 'format': 'base64', 'maxLength': 65535}

# 2.63: trusted_image_certificates (null removes them)
rebuild_v263 = copy.deepcopy(rebuild_v257)
_rebuild(rebuild_v263)['properties']['trusted_image_certificates'] = copy.deepcopy(
    _server(create_v263)['properties']['trusted_image_certificates'])

rebuild_v290 = copy.deepcopy(rebuild_v263)
_rebuild(rebuild_v290)['properties']['hostname'] = types.hostname

rebuild_v294 = copy.deepcopy(rebuild_v290)
_rebuild(rebuild_v294)['properties']['hostname'] = types.fqdn

REBUILD_TABLE: list[tuple[str, dict[str, Any] | None]] = [
    ('2.1', rebuild), ('2.19', rebuild_v219), ('2.54', rebuild_v254), ('2.57', rebuild_v257),
    ('2.63', rebuild_v263), ('2.90', rebuild_v290), ('2.94', rebuild_v294)]


# ---- query strings -----------------------------------------------------------

SORT_KEYS = ['access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'availability_zone',
             'config_drive', 'created_at', 'display_description', 'display_name', 'host',
             'hostname', 'image_ref', 'instance_type_id', 'kernel_id', 'key_name',
             'launch_index', 'launched_at', 'locked_by', 'node', 'power_state', 'progress',
             'project_id', 'ramdisk_id', 'root_device_name', 'task_state', 'terminated_at',
             'updated_at', 'user_id', 'uuid', 'vm_state']
# Accepted but ignored before 2.75 (400 from 2.75).
IGNORED_SORT_KEYS = ['architecture', 'cell_name', 'cleaned', 'default_ephemeral_device',
                     'default_swap_device', 'deleted', 'deleted_at', 'disable_terminate',
                     'ephemeral_gb', 'ephemeral_key_uuid', 'id', 'key_data', 'launched_on',
                     'locked', 'memory_mb', 'os_type', 'reservation_id', 'root_gb',
                     'shutdown_terminate', 'user_data', 'vcpus', 'vm_mode']

_any = types.multi({'type': 'string'})
_datetime = types.multi({'type': 'string', 'format': 'date-time'})

_index_props: dict[str, Any] = {name: _any for name in (
    'user_id', 'project_id', 'tenant_id', 'launch_index', 'image_ref', 'image', 'kernel_id',
    'ramdisk_id', 'hostname', 'key_name', 'power_state', 'vm_state', 'task_state', 'host',
    'node', 'flavor', 'reservation_id', 'launched_at', 'terminated_at', 'availability_zone',
    'name', 'display_name', 'description', 'display_description', 'locked_by', 'uuid',
    'root_device_name', 'config_drive', 'access_ip_v4', 'access_ip_v6', 'auto_disk_config',
    'progress', 'sort_dir', 'all_tenants', 'soft_deleted', 'deleted', 'status', 'ip', 'ip6',
    'created_at', 'block_device_mapping', 'services', 'metadata', 'system_metadata',
    'info_cache', 'security_groups', 'pci_devices', 'marker')}
_index_props['changes-since'] = _datetime
_index_props['limit'] = types.multi(types.non_negative_integer)
_index_props['sort_key'] = types.multi({'type': 'string',
                                        'enum': SORT_KEYS + IGNORED_SORT_KEYS})

index_query: dict[str, Any] = types.query(_index_props, strict=False)
index_query['patternProperties'] = {'^_': _any}

TAG_FILTERS = ('tags', 'tags-any', 'not-tags', 'not-tags-any')
index_query_v226 = copy.deepcopy(index_query)
for _tag_param in TAG_FILTERS:
    index_query_v226['properties'][_tag_param] = _any

index_query_v266 = copy.deepcopy(index_query_v226)
index_query_v266['properties']['changes-before'] = _datetime

index_query_v273 = copy.deepcopy(index_query_v266)
index_query_v273['properties']['locked'] = _any
index_query_v273['properties']['sort_key']['items']['enum'] = [
    'locked', *SORT_KEYS, *[k for k in IGNORED_SORT_KEYS if k != 'locked']]

index_query_v275 = copy.deepcopy(index_query_v273)
index_query_v275['properties']['sort_key']['items']['enum'] = ['locked', *SORT_KEYS]
index_query_v275['additionalProperties'] = False


show_query = types.query({}, strict=False)
show_query_v2102 = types.query({}, strict=True)

STATUSES = ['ACTIVE', 'BUILD', 'DELETED', 'ERROR', 'HARD_REBOOT', 'MIGRATING', 'PASSWORD',
            'PAUSED', 'REBOOT', 'REBUILD', 'RESCUE', 'RESIZE', 'REVERT_RESIZE', 'SHELVED',
            'SHELVED_OFFLOADED', 'SHUTOFF', 'SOFT_DELETED', 'SUSPENDED', 'UNKNOWN',
            'VERIFY_RESIZE']



# ---- the version table ---------------------------------------------------------

@dataclass(frozen=True)
class Servers:
    """What /servers does at one microversion."""

    create: Schema
    update: Schema
    index_query: Schema
    show_query: Schema
    # List filters a caller without the allow_all_filters policy keeps (Nova
    # drops the others).
    user_filters: frozenset[str]
    host_status: bool = False         # host_status in views (policy decides)
    tag_filters: bool = False
    strict_status: bool = False       # an unknown status filter is a 400
    flavor_extra_specs: bool = False  # the embedded flavor's extra specs (policy decides)
    cell_down: bool = False           # partial records of servers in down cells
    spec_one: bool = False            # a single server's view reads its request spec
    spec_all: bool = False            # every server's view reads it
    locked_sort: bool = False


TABLE = versioned.history(
    Servers(create=create, update=update, index_query=index_query, show_query=show_query,
            user_filters=frozenset({'reservation_id', 'name', 'status', 'image', 'flavor',
                                    'ip', 'changes-since', 'all_tenants'})),
    ('2.5', {'user_filters': added('ip6')}),
    ('2.16', {'host_status': True}),
    ('2.19', {'create': create_v219, 'update': update_v219}),
    ('2.26', {'index_query': index_query_v226, 'tag_filters': True,
              'user_filters': added(*TAG_FILTERS)}),
    ('2.32', {'create': create_v232}),
    ('2.37', {'create': create_v237}),
    ('2.38', {'strict_status': True}),
    ('2.42', {'create': create_v242}),
    ('2.47', {'flavor_extra_specs': True}),
    ('2.52', {'create': create_v252}),
    ('2.57', {'create': create_v257}),
    ('2.63', {'create': create_v263}),
    ('2.66', {'index_query': index_query_v266, 'user_filters': added('changes-before')}),
    ('2.69', {'cell_down': True}),
    ('2.71', {'spec_one': True}),           # server_groups
    ('2.73', {'index_query': index_query_v273, 'locked_sort': True,
              'user_filters': added('locked')}),
    ('2.74', {'create': create_v274}),
    ('2.75', {'index_query': index_query_v275}),
    ('2.83', {'user_filters': added('availability_zone', 'config_drive', 'key_name',
                                    'created_at', 'launched_at', 'terminated_at',
                                    'power_state', 'task_state', 'vm_state', 'progress',
                                    'user_id')}),
    ('2.90', {'create': create_v290, 'update': update_v290,
              'user_filters': added('hostname')}),
    ('2.94', {'create': create_v294, 'update': update_v294}),
    ('2.96', {'spec_all': True}),           # pinned_availability_zone, scheduler_hints
    ('2.102', {'show_query': show_query_v2102}),
    ('2.104', {'update': update_v2104}),
)
