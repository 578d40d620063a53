"""A boot: what POST /servers asks for (BootRequest), and the records it becomes.

The REST handler builds a BootRequest from the request body (after schema,
policy and look-ups: the flavor and key pair are rows here, not references);
minova.compute.api.API.create checks quotas and writes, for each server, the
build request (`instance`) and request spec (`request_spec`) made here.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any, cast

from minova import states
from minova.db.build_requests import RequestSpec
from minova.db.flavors import Flavor
from minova.db.instances import Instance
from minova.virt import image_meta

FLAVOR_FIELDS = ('flavorid', 'name', 'memory_mb', 'vcpus', 'root_gb', 'ephemeral_gb', 'swap',
                 'rxtx_factor', 'vcpu_weight', 'disabled', 'is_public', 'description',
                 'extra_specs')
# Image properties the scheduler matches (ImagePropertiesFilter, traits).
_SCHEDULING_PROPERTIES = ('architecture', 'hypervisor_type', 'vm_mode')


@dataclass
class BootRequest:
    """One POST /servers: min_count..max_count servers alike."""

    flavor: Flavor
    image_ref: str | None
    name: str
    min_count: int = 1
    max_count: int = 1
    metadata: dict[str, str] = field(default_factory=dict)
    key_pair: dict[str, Any] | None = None
    user_data: str | None = None
    availability_zone: str | None = None
    config_drive: bool = False
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    description: str | None = None
    hostname: str | None = None
    # 'none', 'auto', None (not said) or, with Neutron, [RequestedNetwork]
    networks: Any = None
    security_groups: list[str] = field(default_factory=list)
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    # 'az:host:node' (admin): skip the filters
    forced_host: str | None = None
    forced_node: str | None = None
    # 2.74 host / hypervisor_hostname: narrow the candidates, still filtered
    requested_host: str | None = None
    requested_hypervisor_hostname: str | None = None
    # Volume mappings (minova/api/server_bdm.py); a boot_index 0 one: the root
    block_device_mapping: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BootPlan:
    """What create() decided for a BootRequest, shared by each server's records."""

    request: BootRequest
    user_id: str
    project_id: str
    count: int
    reservation_id: str
    created_at: datetime.datetime
    image: dict[str, Any] | None           # the Image service's record, if configured
    group: dict[str, Any] | None           # the server group of the "group" hint
    flavor: Flavor = field(init=False)

    def __post_init__(self) -> None:
        # Each server embeds a snapshot: later edits of the flavor do not show.
        # (A Flavor without id and timestamps; the keys are FLAVOR_FIELDS.)
        flavor = self.request.flavor
        self.flavor = cast(Flavor, {k: flavor.get(k) for k in FLAVOR_FIELDS})
        self.flavor['extra_specs'] = dict(flavor.get('extra_specs') or {})

    def image_properties(self) -> dict[str, Any]:
        """What the scheduler matches: hw_*/img_* properties and trait:* keys."""
        if not self.image:
            return {}
        return {k: v for k, v in self.image.items()
                if k.startswith(('hw_', 'img_', 'trait:')) or k in _SCHEDULING_PROPERTIES}


def sanitize_hostname(name: str, default: str = 'server') -> str:
    """A DNS label from a display name, as Nova derives it."""
    host = re.sub(r'[ _\.]', '-', name.lower())
    host = re.sub(r'[^\w-]+', '', host, flags=re.ASCII)
    host = host.strip('.-')[:63].rstrip('-')
    return host or default


def instance(boot: BootPlan, index: int, uuid: str) -> Instance:
    """The build request (an instances row, not yet in a cell) of server `index`."""
    req = boot.request
    display_name = req.name if boot.count == 1 else f'{req.name}-{index + 1}'
    key_pair = req.key_pair
    return {
        'uuid': uuid, 'display_name': display_name,
        'display_description': req.description,
        'hostname': (req.hostname if req.hostname and boot.count == 1
                     else sanitize_hostname(display_name)),
        'user_id': boot.user_id, 'project_id': boot.project_id,
        'image_ref': req.image_ref or '', 'flavor': boot.flavor,
        'vcpus': req.flavor['vcpus'], 'memory_mb': req.flavor['memory_mb'],
        'root_gb': req.flavor['root_gb'], 'ephemeral_gb': req.flavor['ephemeral_gb'],
        'host': None, 'node': None, 'launched_on': None,
        'availability_zone': req.availability_zone,
        'vm_state': states.BUILDING, 'task_state': states.SCHEDULING,
        'power_state': states.NOSTATE,
        'key_name': key_pair['name'] if key_pair else None,
        'key_data': key_pair['public_key'] if key_pair else None,
        'user_data': req.user_data, 'config_drive': 'True' if req.config_drive else '',
        'metadata': dict(req.metadata),
        'system_metadata': image_meta.to_system_metadata(boot.image) if boot.image else {},
        'network_info': [], 'tags': list(req.tags),
        'access_ip_v4': req.access_ip_v4, 'access_ip_v6': req.access_ip_v6,
        'progress': 0, 'locked': False, 'locked_by': None, 'launch_index': index,
        'reservation_id': boot.reservation_id, 'created_at': boot.created_at,
        'updated_at': None, 'launched_at': None, 'terminated_at': None, 'deleted': 0,
    }


def request_spec(boot: BootPlan, uuid: str) -> RequestSpec:
    """What the scheduler reads for server `uuid` (minova/scheduler)."""
    req = boot.request
    requested = req.requested_host or req.requested_hypervisor_hostname
    return {
        'instance_uuid': uuid, 'flavor': boot.flavor,
        'image': {'id': req.image_ref, 'properties': boot.image_properties()},
        'availability_zone': req.availability_zone,
        'instance_group': {'uuid': boot.group['uuid']} if boot.group else None,
        'project_id': boot.project_id, 'user_id': boot.user_id,
        'num_instances': boot.count, 'scheduler_hints': dict(req.scheduler_hints),
        'requested_networks': req.networks,
        'security_groups': list(req.security_groups),
        'force_hosts': [req.forced_host] if req.forced_host else [],
        'force_nodes': [req.forced_node] if req.forced_node else [],
        'requested_destination': (
            {'host': req.requested_host, 'node': req.requested_hypervisor_hostname}
            if requested else None),
        # Created in the cell with the instance; a volume root takes no DISK_GB.
        'block_device_mapping': list(req.block_device_mapping),
        'is_bfv': any(m.get('boot_index') == 0 for m in req.block_device_mapping),
    }
