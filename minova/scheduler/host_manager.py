"""Host states: what the filters and weighers know about each candidate node.

Built per request from placement's provider summaries (capacity and usage,
which already include claims made a moment ago) joined with the compute node
and service of each candidate, as the scheduler's host cache (host_cache.py)
knows them. Hosts without a host mapping are skipped:
until `cell_v2 discover_hosts` maps them, nothing is scheduled to them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from minova.cells import lookup, scatter
from minova.cells.mappings import CellMapping
from minova.clients.placement import AllocationRequest
from minova.conf import CONF
from minova.db import aggregates
from minova.scheduler.host_cache import HostCache, Node

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
    # The room and count of placement's summary: free_* and num_instances
    # are these less claims the summary may not include (take()).
    summary: tuple[float, float, float, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.summary = (self.free_vcpus, self.free_ram_mb, self.free_disk_gb,
                        self.num_instances)

    @property
    def supported_instances(self) -> list[tuple[str, str, str]]:
        """(arch, hv_type, vm_mode) this host runs, as the virt driver would say."""
        hv = self.hypervisor_type.lower()
        hv_types = ['kvm', 'qemu'] if hv in ('qemu', 'kvm') else [hv]
        return [(self.cpu_arch, t, 'hvm') for t in hv_types]

    def take(self, resources: dict[str, int], instances: int) -> None:
        """The summary's room less `resources` (claims in flight elsewhere,
        or made by this request) and `instances` more instances."""
        vcpus, ram, disk, count = self.summary
        self.free_vcpus = vcpus - resources.get('VCPU', 0)
        self.free_ram_mb = ram - resources.get('MEMORY_MB', 0)
        self.free_disk_gb = disk - resources.get('DISK_GB', 0)
        self.num_instances = count + instances

    def fits(self, resources: dict[str, int]) -> bool:
        return (self.free_vcpus >= resources.get('VCPU', 0)
                and self.free_ram_mb >= resources.get('MEMORY_MB', 0)
                and self.free_disk_gb >= resources.get('DISK_GB', 0))


def get_host_states(allocation_requests: list[AllocationRequest],
                    provider_summaries: dict[str, Any],
                    cache: HostCache | None = None) -> list[HostState]:
    """A HostState for each single-provider candidate that is a mapped compute
    node of an answering cell; nodes and services come from the scheduler's
    host cache (a throwaway one, read whole, without it)."""
    by_rp: dict[str, AllocationRequest] = {}
    for areq in allocation_requests:
        allocs = areq['allocations']
        if len(allocs) == 1:  # single-provider candidates: the compute node itself
            by_rp.setdefault(next(iter(allocs)), areq)
    if not by_rp:
        return []
    cache = cache or HostCache()
    wanted = set(by_rp)
    zones = aggregates.host_zones()
    agg_meta = aggregates.host_metadata()
    cell_list = lookup.all_cells(include_cell0=False)
    results = scatter.for_each_cell(
        lambda c: cache.nodes(c['database_connection'], wanted), cells=cell_list)
    found: list[tuple[CellMapping, Node]] = []
    for cell in cell_list:
        nodes = results.get(cell['uuid'])
        if isinstance(nodes, scatter.CellFailed):
            LOG.warning('Cell %s did not answer (%s): its hosts are left out', cell['name'],
                        nodes.error)
            continue
        # Only the nodes placement offered: no work for the rest of the cell.
        found.extend((cell, node) for u in by_rp if (node := (nodes or {}).get(u)))
    mapped = lookup.host_cells({node.host for _, node in found})
    states: list[HostState] = []
    default_zone = CONF.default_availability_zone
    # Built straight into each state's __dict__ (what __init__ and
    # __post_init__ would set): at 1,000 candidates per request the
    # dataclass's __init__ and a helper call per resource class were most of
    # this function.
    new = object.__new__
    empty: dict[str, Any] = {}
    for cell, node in found:
        if mapped.get(node.host) != cell['id']:
            continue
        summary = provider_summaries.get(node.uuid)
        res = summary.get('resources', empty) if summary else empty
        vcpu, ram, disk = res.get('VCPU'), res.get('MEMORY_MB'), res.get('DISK_GB')
        total_vcpus = float(vcpu['capacity']) if vcpu else 0.0
        free_vcpus = float(vcpu['capacity'] - vcpu['used']) if vcpu else 0.0
        total_ram = float(ram['capacity']) if ram else 0.0
        free_ram = float(ram['capacity'] - ram['used']) if ram else 0.0
        free_disk = float(disk['capacity'] - disk['used']) if disk else 0.0
        state = new(HostState)
        state.__dict__ = {
            'uuid': node.uuid, 'host': node.host, 'nodename': node.nodename,
            'cell_uuid': cell['uuid'], 'service': node.service,
            'availability_zone': zones.get(node.host, default_zone),
            'free_vcpus': free_vcpus, 'free_ram_mb': free_ram, 'free_disk_gb': free_disk,
            'total_vcpus': total_vcpus, 'total_ram_mb': total_ram,
            'allocation_request': by_rp[node.uuid], 'num_instances': node.num_instances,
            'hypervisor_type': node.hypervisor_type, 'cpu_arch': node.cpu_arch,
            'aggregate_metadata': agg_meta.get(node.host) or {},
            'summary': (free_vcpus, free_ram, free_disk, node.num_instances)}
        states.append(state)
    return states
