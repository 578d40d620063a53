"""Resource tracker: inventory reported to placement and usage written to the node row."""
from __future__ import annotations

import logging
from typing import Any

import pytest

from minova import exception
from minova.compute import resource_tracker
from minova.context import get_admin_context
from minova.virt.fake import FakeDriver
from tests.unit.backbone.fakes import FakePlacement

RES = {'vcpus': 16, 'memory_mb': 32768, 'local_gb': 500}


def test_inventory_defaults_reserve_host_memory_and_overcommit_cpu() -> None:
    inv = resource_tracker.inventory_from(RES)
    assert inv['VCPU'] == {'total': 16, 'reserved': 0, 'min_unit': 1, 'max_unit': 16,
                           'step_size': 1, 'allocation_ratio': 4.0}
    assert inv['MEMORY_MB']['reserved'] == 512
    assert inv['MEMORY_MB']['allocation_ratio'] == 1.0
    assert inv['DISK_GB']['reserved'] == 0
    assert inv['DISK_GB']['max_unit'] == 500


def test_inventory_uses_configured_ratios_and_reserved_amounts(flags: Any) -> None:
    flags('cpu_allocation_ratio', 2.0)
    flags('initial_ram_allocation_ratio', 1.5)
    flags('reserved_host_cpus', 2)
    flags('reserved_host_memory_mb', 2048)
    flags('reserved_host_disk_mb', 1025)     # rounds up to whole GB
    inv = resource_tracker.inventory_from(RES)
    assert inv['VCPU']['allocation_ratio'] == 2.0
    assert inv['VCPU']['reserved'] == 2
    assert inv['MEMORY_MB']['allocation_ratio'] == 1.5
    assert inv['MEMORY_MB']['reserved'] == 2048
    assert inv['DISK_GB']['reserved'] == 2


def test_inventory_caps_reserved_at_total_and_skips_empty_classes(flags: Any) -> None:
    flags('reserved_host_memory_mb', 4096)
    inv = resource_tracker.inventory_from({'vcpus': 4, 'memory_mb': 1024, 'local_gb': 0})
    assert inv['MEMORY_MB']['reserved'] == 1024
    assert 'DISK_GB' not in inv


class RecordingConductor:
    def __init__(self, instances: list[dict[str, Any]]) -> None:
        self.instances = instances
        self.writes: list[dict[str, Any]] = []

    def instance_get_all_by_host(self, ctx: Any, host: str) -> list[dict[str, Any]]:
        return [i for i in self.instances if i.get('host') == host]

    def compute_node_update(self, ctx: Any, host: str, nodename: str,
                            values: dict[str, Any]) -> dict[str, Any]:
        self.writes.append(dict(values, host=host, nodename=nodename))
        return dict(values, uuid=f'{nodename}-uuid', hypervisor_hostname=nodename)


def _inst(uuid: str, vm_state: str = 'active', **kw: Any) -> dict[str, Any]:
    base = {'uuid': uuid, 'host': 'h1', 'node': 'h1', 'vm_state': vm_state, 'vcpus': 2,
            'memory_mb': 1024, 'root_gb': 10, 'ephemeral_gb': 5}
    base.update(kw)
    return base


@pytest.fixture
def tracker(flags: Any) -> Any:
    flags('vcpus', 16, group='fake_driver')
    flags('memory_mb', 32768, group='fake_driver')
    flags('disk_gb', 500, group='fake_driver')
    driver = FakeDriver()
    driver.init_host('h1')
    cond = RecordingConductor([_inst('a'), _inst('b'), _inst('gone', vm_state='deleted'),
                               _inst('elsewhere', host='h2')])
    rt = resource_tracker.ResourceTracker('h1', driver, cond, FakePlacement())
    rt.update_available_resource(get_admin_context(), service_id=7)
    return rt


def test_refresh_counts_live_instances_on_this_host(tracker: Any) -> None:
    [w] = tracker.conductor.writes
    assert w['service_id'] == 7
    assert (w['vcpus'], w['memory_mb'], w['local_gb']) == (16, 32768, 500)
    assert w['running_vms'] == 2
    assert w['vcpus_used'] == 4
    assert w['memory_mb_used'] == 2048 + 512
    assert w['free_ram_mb'] == 32768 - 2048 - 512
    assert w['local_gb_used'] == 30
    assert w['free_disk_gb'] == 470
    assert w['cpu_allocation_ratio'] == 4.0
    placement = tracker.placement
    assert placement.providers == {'h1-uuid': 'h1'}
    assert placement.inventories['h1-uuid']['VCPU']['total'] == 16


def test_flush_writes_only_after_usage_changed(tracker: Any) -> None:
    writes = tracker.conductor.writes
    tracker.flush()
    assert len(writes) == 1
    tracker.instance_added(_inst('c', node=None))   # no node: this host's node
    tracker.flush()
    assert len(writes) == 2
    assert (writes[-1]['running_vms'], writes[-1]['vcpus_used']) == (3, 6)
    tracker.flush()
    assert len(writes) == 2
    tracker.instance_removed('a')
    tracker.instance_removed('never-here')
    tracker.flush()
    assert (writes[-1]['running_vms'], writes[-1]['memory_mb_used']) == (2, 2048 + 512)
    assert 'service_id' not in writes[-1]


def test_reserved_cpus_and_disk_show_as_used_like_memory(flags: Any) -> None:
    flags('reserved_host_cpus', 2)
    flags('reserved_host_disk_mb', 10240)
    driver = FakeDriver()
    driver.init_host('h1')
    cond = RecordingConductor([])
    rt = resource_tracker.ResourceTracker('h1', driver, cond, FakePlacement())
    rt.update_available_resource(get_admin_context())
    [w] = cond.writes
    assert w['memory_mb_used'] == 512
    assert w['vcpus_used'] == 2
    assert w['local_gb_used'] == 10
    assert w['free_disk_gb'] == w['local_gb'] - 10


class DownPlacement(FakePlacement):
    """A placement that does not answer until `up` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.up = False

    def ensure_resource_provider(self, ctx: Any, uuid: str, name: str, **kw: Any) -> None:
        if not self.up:
            raise exception.PlacementAPIUnavailable(
                status=503, what=f'GET resource provider {uuid}', detail='not ready')
        super().ensure_resource_provider(ctx, uuid, name, **kw)


def test_placement_down_costs_one_line_and_the_next_update_reports(
        flags: Any, caplog: pytest.LogCaptureFixture) -> None:
    driver = FakeDriver()
    driver.init_host('h1')
    cond = RecordingConductor([])
    placement = DownPlacement()
    rt = resource_tracker.ResourceTracker('h1', driver, cond, placement)
    caplog.set_level(logging.INFO, logger=resource_tracker.__name__)

    assert rt.update_available_resource(get_admin_context(), service_id=7) is False
    # The node row is written all the same (hypervisor views, discover_hosts).
    assert [w['service_id'] for w in cond.writes] == [7]
    [line] = caplog.records
    assert line.levelno == logging.ERROR and line.exc_info is None
    assert line.getMessage() == (
        'Could not report compute node h1 to placement; the resource update retries '
        'every 60s: Placement answered 503 to GET resource provider h1-uuid: not ready')

    caplog.clear()
    placement.up = True
    assert rt.update_available_resource() is True   # the periodic task's call
    assert placement.providers == {'h1-uuid': 'h1'}
    assert placement.inventories['h1-uuid']['VCPU']['total'] == driver.get_available_resource(
        'h1')['vcpus']
    assert cond.writes[-1]['service_id'] == 7       # the periodic update keeps it
    assert [r.getMessage() for r in caplog.records] == [
        'Compute node h1 is reported to placement']
    caplog.clear()
    assert rt.update_available_resource() is True
    assert caplog.records == []
