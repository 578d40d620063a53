"""Host states: what the filters and weighers know about each candidate node.

Built per answer of placement from its provider summaries (capacity and
usage, which already include claims made a moment ago) joined with the
compute node and service of each candidate, as the scheduler's host cache
(host_cache.py) knows them, and copied from the cache's template of the
node (AnswerStates). Hosts without a host mapping are skipped: until
`cell_v2 discover_hosts` maps them, nothing is scheduled to them.
"""
from __future__ import annotations

import logging
import threading
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

    def copy(self) -> HostState:
        """A copy of its own to adjust (the states of an answer are shared)."""
        state: HostState = object.__new__(HostState)
        state.__dict__ = dict(self.__dict__)
        return state

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
    """The host states of one answer of placement, for one request (see
    AnswerStates; a throwaway host cache, read whole, without `cache`)."""
    return AnswerStates(allocation_requests, provider_summaries).states(cache or HostCache())


class AnswerStates:
    """The host states of one answer of placement's allocation candidates: a
    HostState for each single-provider candidate that is a mapped compute
    node of an answering cell, in placement's order, its nodes and services
    as the scheduler's host cache knows them.

    Every request that uses the answer (the scheduler shares one between
    requests, see SchedulerManager._read) gets the same states: they are
    made once, from each node's template (host_cache.py), and afterwards
    only the nodes the host cache logged as changed are made again. At
    1,000 candidates, making 1,000 states per request was most of the
    scheduler's own work. The states are never changed once made: a request
    that adjusts one (claims in flight, its own claims) copies it first."""

    def __init__(self, allocation_requests: list[AllocationRequest],
                 provider_summaries: dict[str, Any]) -> None:
        by_rp: dict[str, AllocationRequest] = {}
        for areq in allocation_requests:
            allocs = areq['allocations']
            if len(allocs) == 1:  # single-provider candidates: the compute node itself
                for rp in allocs:
                    if rp not in by_rp:
                        by_rp[rp] = areq
        self._by_rp = by_rp
        self.offered = len(allocation_requests)
        self._summaries = provider_summaries
        self._lock = threading.Lock()
        # What the states were made with: (generation, era, cells answered).
        self._made: tuple[Any, ...] | None = None
        self._seen = 0                          # the host cache's changes applied
        self._list: list[HostState] = []
        self._at: dict[str, int] = {}           # node uuid -> its index in _list
        # (template generation, host cache members) when first used: once
        # either moves, a host may have been added or mapped since the read,
        # which this answer cannot offer.
        self._basis: tuple[int, int] | None = None
        self.stale = False

    def states(self, cache: HostCache) -> list[HostState]:
        """The states, brought up to date with the host cache (a list of the
        request's own; the states in it are shared)."""
        if not self._by_rp:
            return []
        wanted = self._by_rp.keys()
        zones = aggregates.host_zones()
        agg_meta = cache.host_metadata(zones)
        cell_list = lookup.all_cells(include_cell0=False)
        results = scatter.for_each_cell(
            lambda c: cache.nodes(c['database_connection'], wanted), cells=cell_list)
        answered: list[tuple[CellMapping, dict[str, Node]]] = []
        for cell in cell_list:
            nodes = results.get(cell['uuid'])
            if isinstance(nodes, scatter.CellFailed):
                LOG.warning('Cell %s did not answer (%s): its hosts are left out',
                            cell['name'], nodes.error)
                continue
            answered.append((cell, nodes or {}))
        if len(answered) == 1:
            hosts = cache.hosts(answered[0][0]['database_connection'])
        else:
            hosts = set()
            for cell, _ in answered:
                hosts |= cache.hosts(cell['database_connection'])
        mapped = lookup.host_cells(hosts)
        generation = cache.generation((zones, agg_meta, mapped))
        context = (zones, agg_meta, mapped, CONF.default_availability_zone, generation)
        basis = (generation, cache.members)
        with self._lock:
            if self._basis is None:
                self._basis = basis
            elif basis != self._basis:
                self.stale = True
            # The log's position first: a change logged after it is applied
            # by the next request, one logged before it by this one.
            era, end, changed = cache.changes(self._seen)
            made = (generation, era, tuple(c['uuid'] for c, _ in answered))
            if made != self._made or changed is None or not self._update(
                    changed, answered, context):
                self._build(answered, context)
                self._made = made
            self._seen = end
            return list(self._list)

    def _build(self, answered: list[tuple[CellMapping, dict[str, Node]]],
               context: tuple[Any, ...]) -> None:
        states: list[HostState] = []
        at: dict[str, int] = {}
        for cell, nodes in answered:
            for uuid in self._by_rp:
                node = nodes.get(uuid)
                state = None if node is None else self._state(node, cell, context)
                if state is not None:
                    at[uuid] = len(states)
                    states.append(state)
        self._list, self._at = states, at

    def _update(self, changed: list[str], answered: list[tuple[CellMapping, dict[str, Node]]],
                context: tuple[Any, ...]) -> bool:
        """The changed nodes' states made again in place; False when one of
        them joins or leaves the list (the list is then made again)."""
        for uuid in dict.fromkeys(changed):
            if uuid not in self._by_rp:
                continue
            state = None
            for cell, nodes in answered:
                node = nodes.get(uuid)
                if node is not None:
                    state = self._state(node, cell, context)
                    break
            i = self._at.get(uuid)
            if (state is None) != (i is None):
                return False
            if state is not None and i is not None:
                self._list[i] = state
        return True

    def _state(self, node: Node, cell: CellMapping, context: tuple[Any, ...]
               ) -> HostState | None:
        """The node's host state with placement's summary for it; None when
        it is not to be offered (its host is not mapped to this cell)."""
        generation = context[-1]
        made, kept = node.template
        if made != generation:
            kept = _template(node, cell, context)
            node.template = (generation, kept)
        if kept is None:
            return None
        try:
            res = self._summaries[node.uuid]['resources']
        except (KeyError, TypeError):
            res = {}
        vcpu, ram, disk = res.get('VCPU'), res.get('MEMORY_MB'), res.get('DISK_GB')
        if vcpu:
            total_vcpus = float(vcpu['capacity'])
            free_vcpus = total_vcpus - vcpu['used']
        else:
            total_vcpus = free_vcpus = 0.0
        if ram:
            total_ram = float(ram['capacity'])
            free_ram = total_ram - ram['used']
        else:
            total_ram = free_ram = 0.0
        free_disk = float(disk['capacity'] - disk['used']) if disk else 0.0
        count = node.num_instances      # consume() changes it, and logs the node
        state: HostState = object.__new__(HostState)
        state.__dict__ = {
            **kept.__dict__,
            'free_vcpus': free_vcpus, 'free_ram_mb': free_ram, 'free_disk_gb': free_disk,
            'total_vcpus': total_vcpus, 'total_ram_mb': total_ram,
            'allocation_request': self._by_rp[node.uuid], 'num_instances': count,
            'summary': (free_vcpus, free_ram, free_disk, count)}
        return state


def _template(node: Node, cell: CellMapping, context: tuple[Any, ...]) -> HostState | None:
    """The node's host state but for placement's summary; None when its host
    is not mapped to this cell (not to be scheduled to)."""
    zones, agg_meta, mapped, default_zone, _ = context
    if mapped.get(node.host) != cell['id']:
        return None
    # Built straight into its __dict__ (what __init__ and __post_init__ set):
    # every field, so that a copy of it is a whole state.
    state: HostState = object.__new__(HostState)
    state.__dict__ = {
        'uuid': node.uuid, 'host': node.host, 'nodename': node.nodename,
        'cell_uuid': cell['uuid'], 'service': node.service,
        'availability_zone': zones.get(node.host, default_zone),
        'free_vcpus': 0.0, 'free_ram_mb': 0.0, 'free_disk_gb': 0.0,
        'total_vcpus': 0.0, 'total_ram_mb': 0.0,
        'allocation_request': AllocationRequest(), 'num_instances': 0,
        'hypervisor_type': node.hypervisor_type, 'cpu_arch': node.cpu_arch,
        'aggregate_metadata': agg_meta.get(node.host) or {},
        'summary': (0.0, 0.0, 0.0, 0)}
    return state
