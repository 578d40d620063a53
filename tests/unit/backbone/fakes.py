"""Fakes and helpers shared by the backbone tests."""
from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from minova import utils
from minova.cells import lookup, mappings
from minova.db import api_tables, compute_nodes, engines, services
from minova.db import instances as inst_db
from tests import db_templates


class FakePlacement:
    """Providers with capacities, allocations by consumer, and a record of calls."""

    def __init__(self) -> None:
        self.capacity: dict[str, dict[str, int]] = {}   # rp -> rc -> capacity
        self.allocations: dict[str, dict[str, dict[str, int]]] = {}  # consumer -> rp -> res
        self.refuse: set[str] = set()                    # rps whose claims get a 409
        self.deleted: list[str] = []                     # consumers whose allocs were deleted
        self.claims: list[tuple[str, str]] = []          # (consumer, rp) accepted
        self.providers: dict[str, str] = {}              # ensure_resource_provider
        self.inventories: dict[str, dict[str, Any]] = {}  # set_inventory
        self.traits: dict[str, set[str]] = {}            # update_traits
        self.candidates_error: Exception | None = None

    def add_provider(self, rp: str, vcpus: int = 8, ram: int = 8192, disk: int = 100) -> None:
        self.capacity[rp] = {'VCPU': vcpus, 'MEMORY_MB': ram, 'DISK_GB': disk}

    def used(self, rp: str) -> dict[str, int]:
        out = {rc: 0 for rc in self.capacity.get(rp, {})}
        for allocs in self.allocations.values():
            for rc, n in allocs.get(rp, {}).items():
                out[rc] = out.get(rc, 0) + n
        return out

    def _fits(self, rp: str, resources: dict[str, int]) -> bool:
        cap, used = self.capacity.get(rp), self.used(rp)
        return cap is not None and all(
            rc in cap and used.get(rc, 0) + n <= cap[rc] for rc, n in resources.items())

    def get_allocation_candidates(self, ctx: Any, resources: dict[str, int],
                                  limit: int, **kw: Any) -> tuple[list[dict], dict]:
        if self.candidates_error is not None:
            raise self.candidates_error
        areqs = [{'allocations': {rp: {'resources': dict(resources)}}}
                 for rp in self.capacity if self._fits(rp, resources)][:limit]
        summaries = {rp: {'resources': {rc: {'capacity': cap, 'used': self.used(rp)[rc]}
                                        for rc, cap in self.capacity[rp].items()}}
                     for rp in self.capacity}
        return areqs, summaries

    def claim_resources(self, ctx: Any, consumer: str, areq: dict, project_id: str,
                        user_id: str, keep_existing: bool = False) -> bool:
        (rp, body), = areq['allocations'].items()
        if rp in self.refuse or not self._fits(rp, body['resources']):
            return False
        held = self.allocations.get(consumer, {}) if keep_existing else {}
        self.allocations[consumer] = {**held, rp: dict(body['resources'])}
        self.claims.append((consumer, rp))
        return True

    def get_allocations_for_consumer(self, ctx: Any, consumer: str) -> dict[str, Any]:
        return {rp: {'generation': 1, 'resources': dict(res)}
                for rp, res in self.allocations.get(consumer, {}).items()}

    def delete_allocation_for_instance(self, ctx: Any, consumer: str) -> bool:
        self.deleted.append(consumer)
        return self.allocations.pop(consumer, None) is not None

    def move_allocations(self, ctx: Any, source: str, target: str) -> bool:
        """All of source's allocations given to target (replacing target's)."""
        allocs = self.allocations.pop(source, None)
        if not allocs:
            return False
        self.allocations[target] = allocs
        return True

    def remove_provider_from_allocation(self, ctx: Any, consumer: str, rp: str) -> bool:
        held = self.allocations.get(consumer, {})
        if rp not in held:
            return False
        self.allocations[consumer] = {p: r for p, r in held.items() if p != rp}
        return True

    def ensure_resource_provider(self, ctx: Any, uuid: str, name: str, **kw: Any) -> None:
        self.providers[uuid] = name

    def set_inventory(self, ctx: Any, rp: str, inventory: dict[str, Any]) -> None:
        self.inventories[rp] = inventory

    def update_traits(self, ctx: Any, rp: str, add: set[str], remove: set[str]) -> set[str]:
        self.traits[rp] = (self.traits.get(rp, set()) - remove) | add
        return self.traits[rp]


class FakeComputeAPI:
    """Records the build casts conductor sends to computes."""

    def __init__(self, error: Exception | None = None) -> None:
        self.builds: list[dict[str, Any]] = []
        self.error = error

    def build_and_run_instance(self, ctxt: Any, host: str, instance: dict[str, Any],
                               request_spec: dict[str, Any], node: str,
                               allocations: dict[str, Any],
                               alternates: list[dict[str, Any]]) -> None:
        if self.error is not None:
            raise self.error
        self.builds.append({'host': host, 'instance': instance, 'node': node,
                            'allocations': allocations, 'alternates': alternates})


@dataclass
class DBs:
    api: str
    cell: str
    cell0: str
    cell1: dict[str, Any]
    cell0_mapping: dict[str, Any]
    tmp: Any

    def new_cell(self, name: str) -> tuple[dict[str, Any], str]:
        """Another cell with its own (migrated) DB; returns (mapping, url)."""
        url = f'sqlite:///{self.tmp}/{name}.sqlite'
        db_templates.migrated('main_db', url)
        cell = mappings.cell_create(name, f'fake:/{name}', url)
        lookup.reset()
        return cell, url


def add_compute(cell_url: str, host: str, cell_id: int | None = None, *,
                disabled: bool = False, forced_down: bool = False,
                seen_seconds_ago: float = 0.0, vcpus: int = 8, memory_mb: int = 8192,
                local_gb: int = 100) -> dict[str, Any]:
    """A compute service + node in the cell, host-mapped when cell_id is given."""
    svc = services.get_or_create(cell_url, host, 'minova-compute', 'compute')
    seen = utils.utcnow() - datetime.timedelta(seconds=seen_seconds_ago)
    services.update(cell_url, svc['id'], {'disabled': disabled, 'forced_down': forced_down,
                                          'last_seen_up': seen})
    node = compute_nodes.create_or_update(cell_url, host, host, {
        'vcpus': vcpus, 'memory_mb': memory_mb, 'local_gb': local_gb,
        'service_id': svc['id']})
    if cell_id is not None:
        mappings.host_mapping_create(host, cell_id)
        compute_nodes.mark_mapped(cell_url, [node['id']])
    return node


def make_instance(url: str, **values: Any) -> dict[str, Any]:
    base = {'uuid': str(uuid.uuid4()), 'display_name': 'vm', 'project_id': 'proj1',
            'user_id': 'user1', 'vcpus': 1, 'memory_mb': 512, 'root_gb': 1,
            'ephemeral_gb': 0, 'vm_state': 'building', 'task_state': 'scheduling',
            'power_state': 0, 'flavor': FLAVOR}
    base.update(values)
    return inst_db.create(url, base)


def instance_mapping(uuid_: str) -> dict[str, Any] | None:
    with engines.reader(engines.api_url()) as conn:
        row = conn.execute(sa.select(api_tables.instance_mappings).where(
            api_tables.instance_mappings.c.instance_uuid == uuid_)).mappings().first()
    return dict(row) if row else None


def create_mapping(uuid_: str, cell_id: int | None = None) -> None:
    with engines.writer(engines.api_url()) as conn:
        mappings.instance_mapping_create(conn, uuid_, 'proj1', 'user1', cell_id)


FLAVOR = {'flavorid': '1', 'name': 'm1.tiny', 'vcpus': 1, 'memory_mb': 512, 'root_gb': 1,
          'ephemeral_gb': 0, 'swap': 0, 'extra_specs': {}}


def spec(**values: Any) -> dict[str, Any]:
    out = {'flavor': dict(FLAVOR), 'project_id': 'proj1', 'user_id': 'user1',
           'availability_zone': None}
    out.update(values)
    return out


def let_go_of_kept_answers(sched: Any) -> None:
    """As if [scheduler] candidates_reuse_seconds had passed: a scheduler's
    ledger keeps the claims made since a kept answer's read while it is kept."""
    import math
    with sched._lock:
        sched._expire(math.inf)
