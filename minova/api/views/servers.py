"""Server bodies per microversion, following Nova's api-samples.

`instance` dicts are what minova.compute.api.API returns (see its module
docstring). Extra per-request facts (request specs for the pinned AZ and
scheduler hints, host statuses) are fetched once per page by the handler and
passed in a `ServerExtras`.
"""
from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from typing import Any

import falcon

from minova import states, utils
from minova.api import util
from minova.conf import CONF

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
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)   # uuid -> request spec
    host_status: dict[str, str] = field(default_factory=dict)        # host -> UP/DOWN/...


def host_id(instance: dict[str, Any]) -> str:
    host = instance.get('host')
    if not host:
        return ''
    return hashlib.sha224((str(instance.get('project_id')) + host).encode()).hexdigest()


def status(instance: dict[str, Any]) -> str:
    if instance.get('deleted'):
        return 'DELETED'
    return states.status_from_state(instance.get('vm_state'), instance.get('task_state'))


def basic(req: falcon.Request, instance: dict[str, Any]) -> dict[str, Any]:
    if instance.get('cell_down'):
        return {'id': instance['uuid'], 'status': 'UNKNOWN',
                'links': util.links(req, 'servers', instance['uuid'])}
    return {'id': instance['uuid'], 'name': instance.get('display_name') or '',
            'links': util.links(req, 'servers', instance['uuid'])}


def create(req: falcon.Request, instance: dict[str, Any], body: dict[str, Any],
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


def _disk_config(instance: dict[str, Any]) -> str:
    auto = (instance.get('system_metadata') or {}).get('auto_disk_config')
    return 'AUTO' if str(auto).lower() in ('true', '1') else 'MANUAL'


def _usg_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = utils.parse_time(value)
    assert isinstance(value, datetime.datetime)
    return value.replace(tzinfo=None).isoformat()


def _ip_version(address: str | None) -> int:
    return 6 if ':' in (address or '') else 4


def addresses(instance: dict[str, Any], extended: bool = True
              ) -> dict[str, list[dict[str, Any]]]:
    """{network label: [address...]} from the network info cache, as Nova builds
    it: per label the fixed addresses of every VIF, then their floating ones.
    `extended` adds OS-EXT-IPS:type and OS-EXT-IPS-MAC:mac_addr (server views)."""
    nets: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for vif in instance.get('network_info') or []:
        network = vif.get('network') or {}
        label = network.get('label') or 'private'
        net = nets.setdefault(label, {'fixed': [], 'floating': []})
        for subnet in network.get('subnets') or []:
            for ip in subnet.get('ips') or []:
                entries = [('fixed', ip)] + [('floating', f)
                                             for f in ip.get('floating_ips') or []]
                for kind, entry in entries:
                    addr = entry.get('address')
                    out = {'version': entry.get('version') or _ip_version(addr),
                           'addr': addr}
                    if extended:
                        out['OS-EXT-IPS:type'] = kind
                        out['OS-EXT-IPS-MAC:mac_addr'] = vif.get('address')
                    net[kind].append(out)
    return {label: net['fixed'] + net['floating'] for label, net in nets.items()}


def _addresses(instance: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    # Nova hides a server's addresses while it builds.
    if instance.get('vm_state') == states.BUILDING:
        return {}
    return addresses(instance)


def _flavor(req: falcon.Request, instance: dict[str, Any], extras: ServerExtras
            ) -> dict[str, Any]:
    flavor = instance.get('flavor') or {}
    if util.at_least(req, '2.47'):
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
    flavorid = str(flavor.get('flavorid', ''))
    return {'id': flavorid,
            'links': [{'rel': 'bookmark', 'href': util.bookmark_url(req, 'flavors', flavorid)}]}


def _image(req: falcon.Request, instance: dict[str, Any]) -> dict[str, Any] | str:
    image_ref = instance.get('image_ref')
    if not image_ref:
        return ''
    image_id = str(image_ref).rstrip('/').rsplit('/', 1)[-1]
    image: dict[str, Any] = {
        'id': image_id,
        'links': [{'rel': 'bookmark', 'href': util.bookmark_url(req, 'images', image_id)}],
    }
    if util.at_least(req, '2.98'):
        sysmeta = instance.get('system_metadata') or {}
        image['properties'] = {
            k[len('image_'):]: v for k, v in sysmeta.items()
            if k.startswith('image_') and v is not None
            and k[len('image_'):] not in _IMAGE_RECORD_KEYS}
    return image


def _fault(instance: dict[str, Any], is_admin: bool) -> dict[str, Any] | None:
    fault = instance.get('fault')
    if not fault:
        return None
    out = {'code': fault.get('code'), 'created': utils.isotime(fault.get('created_at')),
           'message': fault.get('message')}
    if is_admin or fault.get('code') != 500:
        out['details'] = fault.get('details') or ''
    return out


def _availability_zone(instance: dict[str, Any]) -> str:
    az = instance.get('availability_zone')
    if not az and instance.get('host'):
        az = CONF.default_availability_zone
    return az or ''


def show(req: falcon.Request, instance: dict[str, Any], extras: ServerExtras,
         in_list: bool = False) -> dict[str, Any]:
    """The detailed view (GET /servers/{id}, /servers/detail, PUT)."""
    if instance.get('cell_down'):
        return _from_down_cell(req, instance, extras, in_list)
    sysmeta = instance.get('system_metadata') or {}
    server: dict[str, Any] = {
        'id': instance['uuid'],
        'name': instance.get('display_name') or '',
        'status': status(instance),
        'tenant_id': instance.get('project_id') or '',
        'user_id': instance.get('user_id') or '',
        'metadata': instance.get('metadata') or {},
        'hostId': host_id(instance),
        'image': _image(req, instance),
        'flavor': _flavor(req, instance, extras),
        'created': utils.isotime(instance.get('created_at')),
        'updated': utils.isotime(instance.get('updated_at') or instance.get('created_at')),
        'addresses': _addresses(instance),
        'accessIPv4': instance.get('access_ip_v4') or '',
        'accessIPv6': instance.get('access_ip_v6') or '',
        'links': util.links(req, 'servers', instance['uuid']),
        'OS-DCF:diskConfig': _disk_config(instance),
    }
    if server['status'] in _FAULT_STATUSES:
        fault = _fault(instance, extras.is_admin)
        if fault:
            server['fault'] = fault
    if server['status'] in _PROGRESS_STATUSES:
        server['progress'] = instance.get('progress') or 0
    server['OS-EXT-AZ:availability_zone'] = _availability_zone(instance)
    server['config_drive'] = instance.get('config_drive') or ''
    server['key_name'] = instance.get('key_name')
    server['OS-SRV-USG:launched_at'] = _usg_time(instance.get('launched_at'))
    server['OS-SRV-USG:terminated_at'] = _usg_time(instance.get('terminated_at'))
    if instance.get('network_info'):
        server['security_groups'] = [{'name': 'default'}]
    if extras.is_admin:
        server['OS-EXT-SRV-ATTR:host'] = instance.get('host')
        server['OS-EXT-SRV-ATTR:instance_name'] = _instance_name(instance)
        server['OS-EXT-SRV-ATTR:hypervisor_hostname'] = instance.get('node')
        if util.at_least(req, '2.3'):
            server['OS-EXT-SRV-ATTR:hostname'] = instance.get('hostname')
            server['OS-EXT-SRV-ATTR:kernel_id'] = ''
            server['OS-EXT-SRV-ATTR:ramdisk_id'] = ''
            server['OS-EXT-SRV-ATTR:launch_index'] = instance.get('launch_index') or 0
            server['OS-EXT-SRV-ATTR:reservation_id'] = instance.get('reservation_id')
            server['OS-EXT-SRV-ATTR:root_device_name'] = instance.get('root_device_name')
            server['OS-EXT-SRV-ATTR:user_data'] = instance.get('user_data')
    server['OS-EXT-STS:task_state'] = instance.get('task_state')
    server['OS-EXT-STS:vm_state'] = instance.get('vm_state')
    server['OS-EXT-STS:power_state'] = instance.get('power_state') or 0
    server['os-extended-volumes:volumes_attached'] = []
    if util.at_least(req, '2.9'):
        server['locked'] = bool(instance.get('locked') or instance.get('locked_by'))
    if util.at_least(req, '2.16') and extras.show_host_status:
        server['host_status'] = extras.host_status.get(instance.get('host') or '', '')
    if util.at_least(req, '2.19'):
        server['description'] = instance.get('display_description')
    if util.at_least(req, '2.26'):
        server['tags'] = list(instance.get('tags') or [])
    if util.at_least(req, '2.63'):
        server['trusted_image_certificates'] = None
    spec = extras.specs.get(instance['uuid']) or {}
    if util.at_least(req, '2.71') and not in_list:
        group = spec.get('instance_group')
        server['server_groups'] = [group['uuid']] if group else []
    if util.at_least(req, '2.73'):
        server['locked_reason'] = sysmeta.get('locked_reason')
    if util.at_least(req, '2.90') and not extras.is_admin:
        server['OS-EXT-SRV-ATTR:hostname'] = instance.get('hostname')
    if util.at_least(req, '2.96'):
        server['pinned_availability_zone'] = spec.get('availability_zone')
    if util.at_least(req, '2.100'):
        server['scheduler_hints'] = spec.get('scheduler_hints') or {}
    return server


def _instance_name(instance: dict[str, Any]) -> str:
    try:
        return CONF.instance_name_template % instance['id']
    except (KeyError, TypeError, ValueError):
        return ''


def _from_down_cell(req: falcon.Request, instance: dict[str, Any], extras: ServerExtras,
                    in_list: bool) -> dict[str, Any]:
    """Nova's partial construct (2.69+) of a server whose cell does not answer:
    what the API DB holds; a single GET adds the request spec's fields."""
    server: dict[str, Any] = {
        'id': instance['uuid'], 'status': 'UNKNOWN',
        'tenant_id': instance.get('project_id') or '',
        'created': utils.isotime(instance.get('created_at')),
        'links': util.links(req, 'servers', instance['uuid']),
    }
    if not in_list and instance.get('flavor') is not None:
        server['image'] = _image(req, instance)
        server['flavor'] = _flavor(req, instance, extras)
        server['OS-EXT-AZ:availability_zone'] = instance.get('availability_zone') or 'UNKNOWN'
        server['OS-EXT-STS:power_state'] = instance.get('power_state') or 0
        server['user_id'] = instance.get('user_id') or 'UNKNOWN'
        if util.at_least(req, '2.71'):
            server['server_groups'] = []
    return server
