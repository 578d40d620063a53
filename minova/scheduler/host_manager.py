"""Host states: what the filters and weighers know about each candidate node.

Built per request from placement's provider summaries (capacity and usage,
which already include claims made a moment ago) joined with the compute node
and service rows of each cell. Hosts without a host mapping are skipped:
until `cell_v2 discover_hosts` maps them, nothing is scheduled to them.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from minova.cells import lookup, scatter
from minova.clients.placement import AllocationRequest
from minova.conf import CONF
from minova.db import aggregates, compute_nodes

LOG = logging.getLogger(__name__)


@dataclass
class HostState:
    uuid: str                       # compute node uuid == resource provider uuid
    host: str
    nodename: str
    cell_uuid: str
    service: dict[str, Any] | None
    availability_zone: str
    free_vcpus: float = 0.0
    free_ram_mb: float = 0.0
    free_disk_gb: float = 0.0
    total_vcpus: float = 0.0
    total_ram_mb: float = 0.0
    allocation_request: AllocationRequest = field(default_factory=AllocationRequest)
    num_instances: int = 0
    hypervisor_type: str = ''
    cpu_arch: str = ''
    # {key: values} over the host's aggregates (AggregateInstanceExtraSpecsFilter)
    aggregate_metadata: dict[str, set[str]] = field(default_factory=dict)

    @property
    def supported_instances(self) -> list[tuple[str, str, str]]:
        """(arch, hv_type, vm_mode) this host runs, as the virt driver would say."""
        hv = self.hypervisor_type.lower()
        hv_types = ['kvm', 'qemu'] if hv in ('qemu', 'kvm') else [hv]
        return [(self.cpu_arch, t, 'hvm') for t in hv_types]

    def consume(self, resources: dict[str, int]) -> None:
        """Account for a claim just made, for the rest of this request."""
        self.free_vcpus -= resources.get('VCPU', 0)
        self.free_ram_mb -= resources.get('MEMORY_MB', 0)
        self.free_disk_gb -= resources.get('DISK_GB', 0)
        self.num_instances += 1

    def fits(self, resources: dict[str, int]) -> bool:
        return (self.free_vcpus >= resources.get('VCPU', 0)
                and self.free_ram_mb >= resources.get('MEMORY_MB', 0)
                and self.free_disk_gb >= resources.get('DISK_GB', 0))


def _free(summary: dict[str, Any], rc: str) -> tuple[float, float]:
    res = summary.get('resources', {}).get(rc)
    if not res:
        return 0.0, 0.0
    return float(res['capacity'] - res['used']), float(res['capacity'])


@functools.lru_cache(maxsize=256)
def _arch(cpu_info: str | None) -> str:
    """The arch in a node's cpu_info (hosts of a cell mostly share one text)."""
    try:
        return str(json.loads(cpu_info or '{}').get('arch') or '')
    except (ValueError, AttributeError):
        return ''


def get_host_states(allocation_requests: list[AllocationRequest],
                    provider_summaries: dict[str, Any]) -> list[HostState]:
    by_rp: dict[str, AllocationRequest] = {}
    for areq in allocation_requests:
        rps = list(areq['allocations'])
        if len(rps) == 1:  # single-provider candidates: the compute node itself
            by_rp.setdefault(rps[0], areq)
    if not by_rp:
        return []
    zones = aggregates.host_zones()
    agg_meta = aggregates.host_metadata()
    cell_list = lookup.all_cells(include_cell0=False)
    results = scatter.for_each_cell(
        lambda c: compute_nodes.get_for_scheduling(c['database_connection'], list(by_rp)),
        cells=cell_list)
    mapped = lookup.host_cells({n['host'] for nodes in results.values()
                          if not isinstance(nodes, scatter.CellFailed) for n in nodes or []})
    states: list[HostState] = []
    for cell in cell_list:
        nodes = results.get(cell['uuid'])
        if isinstance(nodes, scatter.CellFailed):
            LOG.warning('Cell %s did not answer (%s): its hosts are left out', cell['name'],
                        nodes.error)
            continue
        if not nodes:
            continue
        for node in nodes:
            if mapped.get(node['host']) != cell['id']:
                continue
            summary = provider_summaries.get(node['uuid'], {})
            free_vcpus, total_vcpus = _free(summary, 'VCPU')
            free_ram, total_ram = _free(summary, 'MEMORY_MB')
            free_disk, _ = _free(summary, 'DISK_GB')
            states.append(HostState(
                uuid=node['uuid'], host=node['host'], nodename=node['hypervisor_hostname'],
                cell_uuid=cell['uuid'], service=node['service'],
                availability_zone=zones.get(node['host'], CONF.default_availability_zone),
                free_vcpus=free_vcpus, free_ram_mb=free_ram, free_disk_gb=free_disk,
                total_vcpus=total_vcpus, total_ram_mb=total_ram,
                allocation_request=by_rp[node['uuid']],
                num_instances=node.get('running_vms') or 0,
                hypervisor_type=node.get('hypervisor_type') or '',
                cpu_arch=_arch(node.get('cpu_info')),
                aggregate_metadata=agg_meta.get(node['host'], {})))
    return states
