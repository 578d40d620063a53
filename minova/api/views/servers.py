"""Server bodies per microversion, following Nova's api-samples.

`instance` dicts are what minova.compute.api.API returns (see its module
docstring). Extra per-request facts (request specs for the pinned AZ and
scheduler hints, host statuses) are fetched once per page by the handler and
passed in a `ServerExtras`.
"""
from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import falcon

from minova import states, utils
from minova.api import util
from minova.api.views.addresses import Addresses, addresses
from minova.api.views.fields import OMIT, Field, Fields
from minova.conf import CONF
from minova.db.build_requests import RequestSpec
from minova.db.instances import Instance
from minova.network import is_neutron

LOG = logging.getLogger(__name__)

_FAULT_STATUSES = ('ERROR', 'DELETED')
_PROGRESS_STATUSES = ('ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING')
# system_metadata image_* keys that describe the image record, not its properties.
_IMAGE_RECORD_KEYS = {'base_image_ref', 'min_disk', 'min_ram', 'disk_format',
                      'container_format', 'size', 'checksum', 'owner', 'name'}


@dataclass
class ServerExtras:
    """Facts the views need beyond the instance dicts, decided by the handler."""

    is_admin: bool = False          # OS-EXT-SRV-ATTR:* (extended attributes policy)
    show_extra_specs: bool = False  # flavor.extra_specs (2.47+)
    show_host_status: bool = False
    specs: dict[str, RequestSpec] = field(default_factory=dict)   # uuid -> request spec
    host_status: dict[str, str] = field(default_factory=dict)        # host -> UP/DOWN/...
    uuids: list[str] = field(default_factory=list)   # the servers rendered together
    _groups: dict[str, list[dict[str, str]]] | None = None
    _volumes: dict[str, dict[str, list[dict[str, Any]]]] | None = None   # cell -> uuid -> BDMs
    _neutron: bool | None = None

    def neutron(self) -> bool:
        """is_neutron(), asked once for the servers rendered together (it
        reads the config: 9 % of a detailed list of 1,000 when asked per server)."""
        if self._neutron is None:
            self._neutron = is_neutron()
        return self._neutron

    def volumes(self, instance: Instance) -> list[dict[str, Any]]:
        """The server's volume mappings (read once per cell for every server
        rendered together)."""
        cell_uuid = instance.get('cell_uuid')
        if not cell_uuid:
            return []
        if self._volumes is None:
            self._volumes = {}
        if cell_uuid not in self._volumes:
            from minova.cells import lookup
            from minova.db import block_devices
            try:
                url = lookup.get(cell_uuid)['database_connection']
                self._volumes[cell_uuid] = block_devices.get_by_instances(
                    url, self.uuids or [instance['uuid']])
            except Exception:   # noqa: BLE001 - a view without them beats a 500
                LOG.warning('Volumes of the servers in cell %s unknown', cell_uuid,
                            exc_info=True)
                self._volumes[cell_uuid] = {}
        return [b for b in self._volumes[cell_uuid].get(instance['uuid'], [])
                if b.get('volume_id') and b.get('destination_type') == 'volume']

    def security_groups(self, uuid: str) -> list[dict[str, str]] | None:
        """With Neutron: the groups on the server's ports (asked once for every
        server rendered together, as Nova's get_instances_security_groups_bindings);
        None when Neutron cannot say."""
        if self._groups is None:
            from minova.network import api as network_api
            try:
                self._groups = network_api.instance_security_groups(
                    self.uuids or [uuid])
            except Exception:   # noqa: BLE001 - a view without them beats a 500
                LOG.warning('Security groups of %s unknown: Neutron did not answer',
                            uuid, exc_info=True)
                self._groups = {}
                return None
        return self._groups.get(uuid)


def host_id(instance: Instance) -> str:
    host = instance.get('host')
    if not host:
        return ''
    return hashlib.sha224((str(instance.get('project_id')) + host).encode()).hexdigest()


def status(instance: Instance) -> str:
    if instance.get('deleted'):
        return 'DELETED'
    return states.status_from_state(instance.get('vm_state'), instance.get('task_state'))


# The instance columns basic() reads.
BASIC_COLUMNS = ['uuid', 'display_name']


def basic(req: falcon.Request, instance: Instance) -> dict[str, Any]:
    if instance.get('cell_down'):
        return {'id': instance['uuid'], 'status': 'UNKNOWN',
                'links': util.links(req, 'servers', instance['uuid'])}
    return {'id': instance['uuid'], 'name': instance.get('display_name') or '',
            'links': util.links(req, 'servers', instance['uuid'])}


def create(req: falcon.Request, instance: Instance, body: dict[str, Any],
           admin_pass: str | None) -> dict[str, Any]:
    server: dict[str, Any] = {
        'id': instance['uuid'],
        'links': util.links(req, 'servers', instance['uuid']),
        'OS-DCF:diskConfig': _disk_config(instance),
        'security_groups': body['server'].get('security_groups', [{'name': 'default'}]),
    }
    if admin_pass is not None:
        server['adminPass'] = admin_pass
    return server


def _disk_config(instance: Instance) -> str:
    auto = (instance.get('system_metadata') or {}).get('auto_disk_config')
    return 'AUTO' if str(auto).lower() in ('true', '1') else 'MANUAL'


def _usg_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = utils.parse_time(value)
    assert isinstance(value, datetime.datetime)
    return value.replace(tzinfo=None).isoformat()


def _addresses(instance: Instance, extended: bool = True) -> Addresses:
    # Nova hides a server's addresses while it builds.
    if instance.get('vm_state') == states.BUILDING:
        return {}
    return addresses(instance, extended)


def _flavor_link(req: falcon.Request, instance: Instance) -> dict[str, Any]:
    """Before 2.47: the flavor's id and a link to it."""
    flavorid = str((instance.get('flavor') or {}).get('flavorid', ''))
    return {'id': flavorid,
            'links': [{'rel': 'bookmark', 'href': util.bookmark_url(req, 'flavors', flavorid)}]}


def _flavor_embedded(instance: Instance, extras: ServerExtras) -> dict[str, Any]:
    """From 2.47: the flavor as the server was built with it."""
    flavor = instance.get('flavor') or {}
    out: dict[str, Any] = {
        'vcpus': flavor.get('vcpus', instance.get('vcpus')),
        'ram': flavor.get('memory_mb', instance.get('memory_mb')),
        'disk': flavor.get('root_gb', instance.get('root_gb')),
        'ephemeral': flavor.get('ephemeral_gb', instance.get('ephemeral_gb') or 0),
        'swap': flavor.get('swap') or 0,
        'original_name': flavor.get('name'),
    }
    if extras.show_extra_specs:
        out['extra_specs'] = dict(flavor.get('extra_specs') or {})
    return out


def _image(req: falcon.Request, instance: Instance) -> dict[str, Any] | str:
    image_ref = instance.get('image_ref')
    if not image_ref:
        return ''
    image_id = str(image_ref).rstrip('/').rsplit('/', 1)[-1]
    return {'id': image_id,
            'links': [{'rel': 'bookmark', 'href': util.bookmark_url(req, 'images', image_id)}]}


def _image_properties(req: falcon.Request, instance: Instance) -> dict[str, Any] | str:
    """From 2.98: the image with its properties, from the image_* system metadata."""
    image = _image(req, instance)
    if isinstance(image, dict):
        sysmeta = instance.get('system_metadata') or {}
        image['properties'] = {
            k[len('image_'):]: v for k, v in sysmeta.items()
            if k.startswith('image_') and v is not None
            and k[len('image_'):] not in _IMAGE_RECORD_KEYS}
    return image


def _fault(instance: Instance, is_admin: bool) -> dict[str, Any] | None:
    fault = instance.get('fault')
    if not fault:
        return None
    out = {'code': fault.get('code'), 'created': utils.isotime(fault.get('created_at')),
           'message': fault.get('message')}
    if is_admin or fault.get('code') != 500:
        out['details'] = fault.get('details') or ''
    return out


def availability_zone(instance: Instance) -> str:
    """The zone a server is in, as Nova shows it ('' before it has a host)."""
    az = instance.get('availability_zone')
    if not az and instance.get('host'):
        az = CONF.default_availability_zone
    return az or ''


# ---- the detailed view as a table -------------------------------------------
#
# A server body is the rows of FIELDS the request reaches: each row names the
# first microversion with the field, the field, its getter, and the bodies
# (shapes) it is part of. FULL is what GET /servers/{id} and /servers/detail
# show, and the PUT response from 2.75; UPDATE is Nova's smaller PUT body
# before 2.75. Rebuild answers REBUILD before 2.75 (UPDATE plus key_name from
# 2.54 and user_data from 2.57) and REBUILD_FULL from 2.75 (FULL with user_data
# at the top level instead of OS-EXT-SRV-ATTR:user_data); its handler adds
# adminPass.

FULL = 'full'
UPDATE = 'update'
REBUILD = 'rebuild'
REBUILD_FULL = 'rebuild-full'
_FULL_ONLY = frozenset({FULL, REBUILD_FULL})

# Which body PUT /servers/{id} and the rebuild action answer with.
UPDATE_SHAPE = [('2.1', UPDATE), ('2.75', FULL)]
REBUILD_SHAPE = [('2.1', REBUILD), ('2.75', REBUILD_FULL)]


def _security_groups(r: Render) -> Any:
    """Nova's: the groups on the server's Neutron ports (absent when it has none);
    the embedded networking's one NIC shows 'default'."""
    if not r.extras.neutron():
        return [{'name': 'default'}] if r.instance.get('network_info') else OMIT
    return r.extras.security_groups(r.instance['uuid']) or OMIT


@dataclass
class Render:
    """What the getters of one server's body may look at."""

    req: falcon.Request
    instance: Instance
    extras: ServerExtras
    in_list: bool
    shape: str

    @property
    def extended_attrs(self) -> bool:
        """OS-EXT-SRV-ATTR:* (the extended attributes policy) are in this body."""
        return self.extras.is_admin and self.shape in _FULL_ONLY

    @property
    def spec(self) -> RequestSpec:
        return self.extras.specs.get(self.instance['uuid']) or {}


Getter = Callable[[Render], Any]


def _inst(key: str, default: Any = None) -> Getter:
    return lambda r: r.instance.get(key, default)


def _admin(get: Getter) -> Getter:
    return lambda r: get(r) if r.extended_attrs else OMIT


def _fault_field(r: Render) -> Any:
    if status(r.instance) not in _FAULT_STATUSES:
        return OMIT
    return _fault(r.instance, r.extras.is_admin) or OMIT


def _progress(r: Render) -> Any:
    if status(r.instance) not in _PROGRESS_STATUSES:
        return OMIT
    return r.instance.get('progress') or 0


def _server_groups(r: Render) -> Any:
    if r.in_list:   # 2.71: single GET, PUT and rebuild only
        return OMIT
    group = r.spec.get('instance_group')
    return [group['uuid']] if group else []


def _host_status(r: Render) -> Any:
    if not r.extras.show_host_status:
        return OMIT
    return r.extras.host_status.get(r.instance.get('host') or '', '')


FIELDS: Fields[Render] = Fields(
    Field('2.1', 'id', _inst('uuid')),
    Field('2.1', 'name', lambda r: r.instance.get('display_name') or ''),
    Field('2.1', 'status', lambda r: status(r.instance)),
    Field('2.1', 'tenant_id', lambda r: r.instance.get('project_id') or ''),
    Field('2.1', 'user_id', lambda r: r.instance.get('user_id') or ''),
    Field('2.1', 'metadata', lambda r: r.instance.get('metadata') or {}),
    Field('2.1', 'hostId', lambda r: host_id(r.instance)),
    Field('2.1', 'image', lambda r: _image(r.req, r.instance), until='2.98'),
    Field('2.98', 'image', lambda r: _image_properties(r.req, r.instance)),
    Field('2.1', 'flavor', lambda r: _flavor_link(r.req, r.instance), until='2.47'),
    Field('2.47', 'flavor', lambda r: _flavor_embedded(r.instance, r.extras)),
    Field('2.1', 'created', lambda r: utils.isotime(r.instance.get('created_at'))),
    Field('2.1', 'updated', lambda r: utils.isotime(r.instance.get('updated_at')
                                                    or r.instance.get('created_at'))),
    # The PUT body before 2.75 has the addresses without type and MAC.
    Field('2.1', 'addresses', lambda r: _addresses(r.instance, r.shape in _FULL_ONLY)),
    Field('2.1', 'accessIPv4', lambda r: r.instance.get('access_ip_v4') or ''),
    Field('2.1', 'accessIPv6', lambda r: r.instance.get('access_ip_v6') or ''),
    Field('2.1', 'links', lambda r: util.links(r.req, 'servers', r.instance['uuid'])),
    Field('2.1', 'OS-DCF:diskConfig', lambda r: _disk_config(r.instance)),
    Field('2.1', 'fault', _fault_field),
    Field('2.1', 'progress', _progress),
    Field('2.1', 'OS-EXT-AZ:availability_zone',
          lambda r: availability_zone(r.instance), shapes=_FULL_ONLY),
    Field('2.1', 'config_drive', lambda r: r.instance.get('config_drive') or '',
          shapes=_FULL_ONLY),
    Field('2.1', 'key_name', _inst('key_name'), shapes=_FULL_ONLY),
    Field('2.1', 'OS-SRV-USG:launched_at', lambda r: _usg_time(r.instance.get('launched_at')),
          shapes=_FULL_ONLY),
    Field('2.1', 'OS-SRV-USG:terminated_at',
          lambda r: _usg_time(r.instance.get('terminated_at')), shapes=_FULL_ONLY),
    Field('2.1', 'security_groups', _security_groups, shapes=_FULL_ONLY),
    Field('2.1', 'OS-EXT-SRV-ATTR:host', _admin(_inst('host')), shapes=_FULL_ONLY),
    Field('2.1', 'OS-EXT-SRV-ATTR:instance_name',
          _admin(lambda r: _instance_name(r.instance)), shapes=_FULL_ONLY),
    Field('2.1', 'OS-EXT-SRV-ATTR:hypervisor_hostname', _admin(_inst('node')),
          shapes=_FULL_ONLY),
    Field('2.3', 'OS-EXT-SRV-ATTR:hostname', _admin(_inst('hostname')), shapes=_FULL_ONLY),
    Field('2.3', 'OS-EXT-SRV-ATTR:kernel_id', _admin(lambda r: ''), shapes=_FULL_ONLY),
    Field('2.3', 'OS-EXT-SRV-ATTR:ramdisk_id', _admin(lambda r: ''), shapes=_FULL_ONLY),
    Field('2.3', 'OS-EXT-SRV-ATTR:launch_index',
          _admin(lambda r: r.instance.get('launch_index') or 0), shapes=_FULL_ONLY),
    Field('2.3', 'OS-EXT-SRV-ATTR:reservation_id', _admin(_inst('reservation_id')),
          shapes=_FULL_ONLY),
    Field('2.3', 'OS-EXT-SRV-ATTR:root_device_name', _admin(_inst('root_device_name')),
          shapes=_FULL_ONLY),
    Field('2.3', 'OS-EXT-SRV-ATTR:user_data', _admin(_inst('user_data')),
          shapes=frozenset({FULL})),
    Field('2.1', 'OS-EXT-STS:task_state', _inst('task_state'), shapes=_FULL_ONLY),
    Field('2.1', 'OS-EXT-STS:vm_state', _inst('vm_state'), shapes=_FULL_ONLY),
    Field('2.1', 'OS-EXT-STS:power_state', lambda r: r.instance.get('power_state') or 0,
          shapes=_FULL_ONLY),
    Field('2.1', 'os-extended-volumes:volumes_attached',
          lambda r: [{'id': v['volume_id']} for v in r.extras.volumes(r.instance)],
          shapes=_FULL_ONLY, until='2.3'),
    Field('2.3', 'os-extended-volumes:volumes_attached',
          lambda r: [{'id': v['volume_id'],
                      'delete_on_termination': bool(v.get('delete_on_termination'))}
                     for v in r.extras.volumes(r.instance)], shapes=_FULL_ONLY),
    Field('2.9', 'locked', lambda r: bool(r.instance.get('locked')
                                          or r.instance.get('locked_by'))),
    Field('2.16', 'host_status', _host_status, shapes=_FULL_ONLY),
    Field('2.19', 'description', _inst('display_description')),
    Field('2.26', 'tags', lambda r: list(r.instance.get('tags') or [])),
    Field('2.63', 'trusted_image_certificates', lambda r: None),
    Field('2.71', 'server_groups', _server_groups),
    Field('2.73', 'locked_reason',
          lambda r: (r.instance.get('system_metadata') or {}).get('locked_reason')),
    # From 2.90 everyone sees the hostname; admins already have it above.
    Field('2.90', 'OS-EXT-SRV-ATTR:hostname',
          lambda r: OMIT if r.extended_attrs else r.instance.get('hostname')),
    Field('2.96', 'pinned_availability_zone', lambda r: r.spec.get('availability_zone'),
          shapes=_FULL_ONLY),
    Field('2.100', 'scheduler_hints', lambda r: r.spec.get('scheduler_hints') or {}),
    # rebuild only
    Field('2.54', 'key_name', _inst('key_name'), shapes=frozenset({REBUILD})),
    Field('2.57', 'user_data', _inst('user_data'), shapes=frozenset({REBUILD, REBUILD_FULL})),
)


def show(req: falcon.Request, instance: Instance, extras: ServerExtras,
         in_list: bool = False, shape: str = FULL) -> dict[str, Any]:
    """The detailed view: GET /servers/{id}, /servers/detail (FULL), and the
    PUT and rebuild responses (the shapes UPDATE_SHAPE and REBUILD_SHAPE give
    for the version)."""
    r = Render(req, instance, extras, in_list, shape)
    if instance.get('cell_down'):
        partial = DOWN_LIST if in_list or instance.get('flavor') is None else DOWN_SHOW
        return DOWN_CELL.render(req, r, partial)
    return FIELDS.render(req, r, shape)


def _instance_name(instance: Instance) -> str:
    try:
        return CONF.instance_name_template % instance['id']
    except (KeyError, TypeError, ValueError):
        return ''


# ---- servers in a cell that does not answer (2.69+) ------------------------------
#
# Nova's partial construct: what the API DB holds; a single GET adds the
# request spec's fields (DOWN_SHOW).

DOWN_LIST = 'down-list'
DOWN_SHOW = 'down-show'
_DOWN_SHOW = frozenset({DOWN_SHOW})

DOWN_CELL: Fields[Render] = Fields(
    Field('2.1', 'id', _inst('uuid')),
    Field('2.1', 'status', lambda r: 'UNKNOWN'),
    Field('2.1', 'tenant_id', lambda r: r.instance.get('project_id') or ''),
    Field('2.1', 'created', lambda r: utils.isotime(r.instance.get('created_at'))),
    Field('2.1', 'links', lambda r: util.links(r.req, 'servers', r.instance['uuid'])),
    Field('2.1', 'image', lambda r: _image(r.req, r.instance), _DOWN_SHOW, until='2.98'),
    Field('2.98', 'image', lambda r: _image_properties(r.req, r.instance), _DOWN_SHOW),
    Field('2.1', 'flavor', lambda r: _flavor_link(r.req, r.instance), _DOWN_SHOW,
          until='2.47'),
    Field('2.47', 'flavor', lambda r: _flavor_embedded(r.instance, r.extras), _DOWN_SHOW),
    Field('2.1', 'OS-EXT-AZ:availability_zone',
          lambda r: r.instance.get('availability_zone') or 'UNKNOWN', _DOWN_SHOW),
    Field('2.1', 'OS-EXT-STS:power_state', lambda r: r.instance.get('power_state') or 0,
          _DOWN_SHOW),
    Field('2.1', 'user_id', lambda r: r.instance.get('user_id') or 'UNKNOWN', _DOWN_SHOW),
    Field('2.71', 'server_groups', lambda r: [], _DOWN_SHOW),
)
