"""What this compute host has and uses: its compute_nodes rows and its
placement inventory.

Usage is counted from the instances assigned to the host and adjusted in
memory as builds and deletes finish; the node row is rewritten only when
something changed, and the inventory only when it differs from the last one
sent, so a claim costs no placement calls here at all.

Placement not answering (down, still starting, its database not synced)
never stops the agent: the node rows are written first, through conductor
(the hypervisor views and discover_hosts read them), and the report to
placement that failed is tried again by the next periodic update, so the
host becomes schedulable once placement answers, with no restart.

Each report also syncs the node provider's traits as Nova's _get_traits
does: COMPUTE_NODE, the driver's capability traits (added when it has the
capability, removed when it lacks it), and COMPUTE_STATUS_DISABLED while the
service is disabled. Traits it does not own (an operator's) stay.
"""
from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import os_traits

from minova import exception
from minova.conf import CONF
from minova.context import RequestContext, get_admin_context
from minova.virt.driver import ComputeDriver, NodeResources

if TYPE_CHECKING:
    from minova.clients.placement import Client as PlacementClient
    from minova.conductor.rpcapi import ConductorAPI
    from minova.db.instances import Instance

LOG = logging.getLogger(__name__)


def allocation_ratios() -> dict[str, float]:
    return {
        'VCPU': CONF.cpu_allocation_ratio or CONF.initial_cpu_allocation_ratio,
        'MEMORY_MB': CONF.ram_allocation_ratio or CONF.initial_ram_allocation_ratio,
        'DISK_GB': CONF.disk_allocation_ratio or CONF.initial_disk_allocation_ratio,
    }


def inventory_from(res: NodeResources) -> dict[str, dict[str, Any]]:
    ratios = allocation_ratios()
    inv = {}
    for rc, total, reserved in (
            ('VCPU', res['vcpus'], CONF.reserved_host_cpus),
            ('MEMORY_MB', res['memory_mb'], CONF.reserved_host_memory_mb),
            ('DISK_GB', res['local_gb'], math.ceil(CONF.reserved_host_disk_mb / 1024))):
        if total > 0:
            inv[rc] = {'total': total, 'reserved': min(reserved, total), 'min_unit': 1,
                       'max_unit': total, 'step_size': 1, 'allocation_ratio': ratios[rc]}
    return inv


class ResourceTracker:
    def __init__(self, host: str, driver: ComputeDriver, conductor: ConductorAPI,
                 placement: PlacementClient) -> None:
        self.host = host
        self.driver = driver
        self.conductor = conductor
        self.placement = placement
        self.nodes: dict[str, dict[str, Any]] = {}   # nodename -> compute node row
        self._usage: dict[str, dict[str, int]] = {}  # nodename -> vcpus/memory_mb/...
        self._instances: dict[str, tuple[str, dict[str, int]]] = {}
        self._last_res: dict[str, NodeResources] = {}  # nodename -> driver resources
        self._dirty = False
        self._lock = threading.Lock()
        self.service_id: int | None = None  # kept for the periodic updates' node rows
        self.unreported: set[str] = set()  # nodes placement has not heard of lately
        # Whether this host's compute service is disabled (None: unknown, the
        # trait is then left as it is); the manager sets it.
        self.service_disabled: Callable[[RequestContext], bool | None] = lambda ctx: None

    @staticmethod
    def _instance_usage(instance: Instance) -> dict[str, int]:
        return {'vcpus': instance.get('vcpus') or 0, 'memory_mb': instance.get('memory_mb') or 0,
                'local_gb': (instance.get('root_gb') or 0) + (instance.get('ephemeral_gb') or 0)}

    def update_available_resource(self, context: RequestContext | None = None,
                                  service_id: int | None = None) -> bool:
        """Full refresh: recount instances, rewrite node rows, sync inventory.

        Returns whether placement has every node (see report_to_placement).
        """
        context = context or get_admin_context()
        if service_id is not None:
            self.service_id = service_id
        insts = self.conductor.instance_get_all_by_host(context, self.host)
        with self._lock:
            self._instances = {i['uuid']: (i.get('node') or self.host, self._instance_usage(i))
                               for i in insts if i.get('vm_state') != 'deleted'}
        reported = True
        for nodename in self.driver.get_available_nodes():
            res = self.driver.get_available_resource(nodename)
            node = self._write_node(context, nodename, res, self.service_id)
            reported = self.report_to_placement(context, nodename, node['uuid'], res) \
                and reported
        return reported

    def report_to_placement(self, context: RequestContext, nodename: str, rp_uuid: str,
                            res: NodeResources) -> bool:
        """The node's provider and inventory in placement; False (after one
        log line) when placement did not take them: the next periodic update
        tries again."""
        error: exception.MinovaException | None = None
        try:
            self.placement.ensure_resource_provider(context, rp_uuid, nodename)
            self.placement.set_inventory(context, rp_uuid, inventory_from(res))
            add, remove = self.traits(context)
            self.placement.update_traits(context, rp_uuid, add, remove)
        except exception.MinovaException as e:
            error = e
        if error is not None:
            # Logged outside the handler: oslo.log would repeat the error there.
            self.unreported.add(nodename)
            LOG.error('Could not report compute node %s to placement; the resource '
                      'update retries every %ss: %s', nodename,
                      CONF.update_resources_interval, error)
            return False
        if nodename in self.unreported:
            self.unreported.discard(nodename)
            LOG.info('Compute node %s is reported to placement', nodename)
        return True

    def traits(self, context: RequestContext) -> tuple[set[str], set[str]]:
        """(traits to add, traits to remove) on this host's node providers."""
        caps = self.driver.capabilities_as_traits()
        add = {t for t, has in caps.items() if has} | {os_traits.COMPUTE_NODE}
        remove = {t for t, has in caps.items() if not has}
        disabled = self.service_disabled(context)
        if disabled is not None:
            (add if disabled else remove).add(os_traits.COMPUTE_STATUS_DISABLED)
        return add, remove

    def _write_node(self, context: RequestContext, nodename: str, res: NodeResources,
                    service_id: int | None = None) -> dict[str, Any]:
        with self._lock:
            used = {'vcpus': 0, 'memory_mb': 0, 'local_gb': 0}
            running = 0
            for on_node, usage in self._instances.values():
                if on_node == nodename:
                    running += 1
                    for k in used:
                        used[k] += usage[k]
            self._dirty = False
        ratios = allocation_ratios()
        # What the host holds back counts as used, as Nova reports it.
        vcpus_used = used['vcpus'] + CONF.reserved_host_cpus
        memory_used = used['memory_mb'] + CONF.reserved_host_memory_mb
        disk_used = used['local_gb'] + math.ceil(CONF.reserved_host_disk_mb / 1024)
        values: dict[str, Any] = {
            'vcpus': res['vcpus'], 'memory_mb': res['memory_mb'], 'local_gb': res['local_gb'],
            'vcpus_used': vcpus_used, 'memory_mb_used': memory_used, 'local_gb_used': disk_used,
            'free_ram_mb': res['memory_mb'] - memory_used,
            'free_disk_gb': res['local_gb'] - disk_used,
            'running_vms': running,
            'hypervisor_type': res['hypervisor_type'],
            'hypervisor_version': res['hypervisor_version'],
            'cpu_info': res['cpu_info'], 'host_ip': CONF.my_ip,
            'disk_available_least': res.get('disk_available_least'),
            'cpu_allocation_ratio': ratios['VCPU'], 'ram_allocation_ratio': ratios['MEMORY_MB'],
            'disk_allocation_ratio': ratios['DISK_GB'],
        }
        if service_id is not None:
            values['service_id'] = service_id
        node = self.conductor.compute_node_update(context, self.host, nodename, values)
        self.nodes[nodename] = node
        self._last_res[nodename] = res
        return node

    def instance_added(self, instance: Instance) -> None:
        with self._lock:
            self._instances[instance['uuid']] = (instance.get('node') or self.host,
                                                 self._instance_usage(instance))
            self._dirty = True

    def instance_removed(self, uuid: str) -> None:
        with self._lock:
            if self._instances.pop(uuid, None) is not None:
                self._dirty = True

    def flush(self, context: RequestContext | None = None) -> None:
        """Write node usage if builds or deletes changed it since the last write."""
        if not self._dirty:
            return
        context = context or get_admin_context()
        for nodename, res in list(self._last_res.items()):
            self._write_node(context, nodename, res)
