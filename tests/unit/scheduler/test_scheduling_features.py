"""Request filters, host filters, weighers and server groups, each seen in the
host the scheduler picks and the claim it leaves in placement."""
from __future__ import annotations

import collections
import uuid
from typing import Any

import pytest

from minova import exception
from minova.db import aggregates, server_groups
from minova.scheduler import request_filter
from tests.unit.backbone.fakes import FLAVOR, make_instance, spec


def uuids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def flavor(**extra_specs: str) -> dict[str, Any]:
    return dict(FLAVOR, extra_specs=extra_specs)


def in_aggregate(cloud: Any, name: str, hosts: list[str], zone: str | None = None,
                 **metadata: str) -> dict[str, Any]:
    agg = aggregates.create(name, zone)
    for host in hosts:
        aggregates.add_host(agg['id'], host)
        assert cloud.client.aggregate_add_host(cloud.ctx, agg['uuid'], host) == 1
    if metadata:
        aggregates.update_metadata(agg['id'], metadata)
    return agg


def test_flavor_traits_become_required_and_forbidden(cloud: Any) -> None:
    cloud.add_host('plain', vcpus=64, ram=65536)
    cloud.add_host('avx', traits=['HW_CPU_X86_AVX2'])
    cloud.add_host('avx-gpu', vcpus=32, ram=32768, traits=['HW_CPU_X86_AVX2', 'CUSTOM_GPU'])
    want = spec(flavor=flavor(**{'trait:HW_CPU_X86_AVX2': 'required',
                                 'trait:CUSTOM_GPU': 'forbidden'}))
    assert cloud.select(want, uuids(1)) == ['avx']
    assert cloud.usage('avx')['VCPU'] == 1
    assert cloud.usage('plain')['VCPU'] == 0
    assert cloud.select(spec(flavor=flavor(**{'trait:CUSTOM_GPU': 'required'})),
                        uuids(1)) == ['avx-gpu']
    with pytest.raises(exception.NoValidHost):
        cloud.select(spec(flavor=flavor(**{'trait:CUSTOM_NOPE': 'required'})), uuids(1))


def test_image_traits_and_custom_resources_reach_placement(cloud: Any) -> None:
    q = request_filter.build(spec(
        flavor=flavor(**{'resources:VCPU': '3', 'trait:A': 'required'}),
        image={'id': 'x', 'properties': {'trait:B': 'forbidden', 'trait:C': 'required'}}))
    assert q.resources == {'VCPU': 3, 'MEMORY_MB': 512, 'DISK_GB': 1}
    assert q.required == ['A', 'C', '!B', '!COMPUTE_STATUS_DISABLED']


def test_availability_zone_asks_placement_for_its_aggregates(cloud: Any) -> None:
    for name in ('a1', 'a2', 'b1'):
        cloud.add_host(name, vcpus=16 if name == 'b1' else 8)
    az_a = in_aggregate(cloud, 'zone-a', ['a1', 'a2'], zone='az-a')
    assert request_filter.build(spec(availability_zone='az-a')).member_of == [az_a['uuid']]
    chosen = cloud.select(spec(availability_zone='az-a'), uuids(4))
    assert sorted(chosen) == ['a1', 'a1', 'a2', 'a2']
    # b1 is in no zone aggregate: it is in the default zone
    assert cloud.select(spec(availability_zone='nova'), uuids(1)) == ['b1']
    with pytest.raises(exception.NoValidHost):
        cloud.select(spec(availability_zone='az-none'), uuids(1))


def test_aggregate_instance_extra_specs_filter(cloud: Any, flags: Any) -> None:
    flags('enabled_filters', ['ComputeFilter', 'AggregateInstanceExtraSpecsFilter'],
          group='filter_scheduler')
    cloud.add_host('fast', vcpus=4)
    cloud.add_host('slow', vcpus=64)
    in_aggregate(cloud, 'ssd', ['fast'], ssd='true', cores='16')
    assert cloud.select(spec(flavor=flavor(
        **{'aggregate_instance_extra_specs:ssd': 'true'})), uuids(1)) == ['fast']
    assert cloud.select(spec(flavor=flavor(
        **{'aggregate_instance_extra_specs:cores': '>= 8'})), uuids(1)) == ['fast']
    with pytest.raises(exception.NoValidHost):
        cloud.select(spec(flavor=flavor(**{'aggregate_instance_extra_specs:ssd': 'false'})),
                     uuids(1))
    # scoped specs of other filters are ignored; no spec at all: the roomiest host wins
    assert cloud.select(spec(flavor=flavor(**{'hw:cpu_policy': 'dedicated'})),
                        uuids(1)) == ['slow']


def test_image_properties_filter(cloud: Any, dbs: Any) -> None:
    cloud.add_host('x86', vcpus=4)
    arm = cloud.add_host('arm', vcpus=64)
    from minova.db import compute_nodes
    compute_nodes.create_or_update(dbs.cell, 'arm', 'arm', {
        'cpu_info': '{"arch": "aarch64"}', 'hypervisor_type': 'QEMU'})
    compute_nodes.create_or_update(dbs.cell, 'x86', 'x86', {
        'cpu_info': '{"arch": "x86_64"}', 'hypervisor_type': 'QEMU'})
    image = {'id': 'img', 'properties': {'hw_architecture': 'x86_64', 'img_hv_type': 'kvm'}}
    assert cloud.select(spec(image=image), uuids(1)) == ['x86']
    image['properties'] = {'hw_architecture': 'aarch64', 'hw_vm_mode': 'hvm'}
    assert cloud.select(spec(image=image), uuids(1)) == ['arm']
    image['properties'] = {'img_hv_type': 'xen'}
    with pytest.raises(exception.NoValidHost):
        cloud.select(spec(image=image), uuids(1))
    assert arm['uuid']


def _group(policy: str, rules: dict[str, Any] | None = None) -> dict[str, Any]:
    return server_groups.create('g', 'proj1', 'user1', policy, rules)


def test_anti_affinity_multi_create_uses_distinct_hosts(cloud: Any) -> None:
    for name in 'abc':
        cloud.add_host(name, vcpus=64, ram=65536)
    group = _group('anti-affinity')
    chosen = cloud.select(spec(instance_group={'uuid': group['uuid']}), uuids(3))
    assert sorted(chosen) == ['a', 'b', 'c']
    with pytest.raises(exception.NoValidHost):
        cloud.select(spec(instance_group={'uuid': group['uuid']}), uuids(4))
    # the failed request left no claim behind
    assert sum(cloud.usage(h)['VCPU'] for h in 'abc') == 3


def test_anti_affinity_counts_existing_members_and_max_per_host(cloud: Any,
                                                                dbs: Any) -> None:
    for name in 'ab':
        cloud.add_host(name, vcpus=64, ram=65536)
    group = _group('anti-affinity', {'max_server_per_host': 2})
    inst = make_instance(dbs.cell, host='a', node='a')
    from minova.cells import mappings as cells
    from tests.unit.backbone.fakes import create_mapping
    create_mapping(inst['uuid'], dbs.cell1['id'])
    server_groups.add_members(group['uuid'], [inst['uuid']])
    assert cells.instance_mapping_get(inst['uuid'])['cell_id'] == dbs.cell1['id']
    chosen = cloud.select(spec(instance_group={'uuid': group['uuid']}), uuids(3))
    assert collections.Counter(chosen) == {'a': 1, 'b': 2}


def test_affinity_keeps_members_together(cloud: Any, dbs: Any) -> None:
    cloud.add_host('big', vcpus=64, ram=65536)
    cloud.add_host('small', vcpus=8)
    group = _group('affinity')
    first = cloud.select(spec(instance_group={'uuid': group['uuid']}), uuids(3))
    assert first == ['big', 'big', 'big']
    inst = make_instance(dbs.cell, host='small', node='small')
    from tests.unit.backbone.fakes import create_mapping
    create_mapping(inst['uuid'], dbs.cell1['id'])
    g2 = _group('affinity')
    server_groups.add_members(g2['uuid'], [inst['uuid']])
    assert cloud.select(spec(instance_group={'uuid': g2['uuid']}), uuids(2)) == \
        ['small', 'small']


def test_soft_policies_weigh_instead_of_filtering(cloud: Any, flags: Any) -> None:
    cloud.add_host('a', vcpus=64, ram=65536)
    cloud.add_host('b', vcpus=64, ram=65536)
    # As in Nova, the spreading weighers outvote soft affinity at equal multipliers.
    flags('soft_affinity_weight_multiplier', 10.0, group='filter_scheduler')
    soft = _group('soft-affinity')
    chosen = cloud.select(spec(instance_group={'uuid': soft['uuid']}), uuids(3))
    assert len(set(chosen)) == 1


def test_soft_anti_affinity_spreads_but_never_refuses(cloud: Any, flags: Any) -> None:
    cloud.add_host('a', vcpus=64, ram=65536)
    cloud.add_host('b', vcpus=64, ram=65536)
    # only the group weigher: the spread comes from it, not from free RAM
    flags('weight_classes', ['ServerGroupSoftAntiAffinityWeigher'], group='filter_scheduler')
    anti = _group('soft-anti-affinity')
    chosen = cloud.select(spec(instance_group={'uuid': anti['uuid']}), uuids(4))
    # more members than hosts: still placed, spread as evenly as it goes
    assert collections.Counter(chosen) == {'a': 2, 'b': 2}


def test_weigher_multipliers(cloud: Any, flags: Any) -> None:
    cloud.add_host('roomy-disk', vcpus=8, ram=8192, disk=1000)
    cloud.add_host('small-disk', vcpus=8, ram=8192, disk=50)
    assert cloud.select(spec(), uuids(1)) == ['roomy-disk']
    flags('disk_weight_multiplier', -1.0, group='filter_scheduler')
    assert cloud.select(spec(), uuids(1)) == ['small-disk']


def test_host_subset_size_spreads_over_the_best_n(cloud: Any, flags: Any) -> None:
    for name in ('h1', 'h2', 'h3'):
        cloud.add_host(name, vcpus=64, ram=65536)
    cloud.add_host('worst', vcpus=2, ram=2048)
    flags('host_subset_size', 3, group='filter_scheduler')
    chosen = set()
    for _ in range(12):
        chosen.update(cloud.select(spec(), uuids(1)))
    assert 'worst' not in chosen
    assert len(chosen) >= 2


def test_a_move_stays_in_its_cell_and_on_a_requested_host(flags: Any) -> None:
    """A move's requested destination names the server's cell (issue 18): hosts
    of another cell are never candidates, nor hosts other than a requested one."""
    from minova.scheduler.host_manager import HostState
    from minova.scheduler.manager import filter_hosts

    def hs(host: str, cell: str) -> HostState:
        return HostState(uuid=f'rp-{host}', host=host, nodename=host, cell_uuid=cell,
                         service=None, availability_zone='nova')
    hosts = [hs('a1', 'cell-a'), hs('a2', 'cell-a'), hs('b1', 'cell-b')]
    flags('enabled_filters', [], group='filter_scheduler')   # only the narrowing

    def kept(dest: dict[str, Any], **spec: Any) -> set[str]:
        found, _ = filter_hosts(list(hosts), {'requested_destination': dest,  # type: ignore
                                              **spec})
        return {h.host for h in found}
    assert kept({'host': None, 'node': None, 'cell_uuid': 'cell-a'}) == {'a1', 'a2'}
    assert kept({'host': None, 'node': None, 'cell_uuid': 'cell-a'},
                ignore_hosts=['a1']) == {'a2'}
    assert kept({'host': 'b1', 'node': None, 'cell_uuid': 'cell-a'}) == set()
    assert kept({'host': 'b1', 'node': None}) == {'b1'}
    assert kept({'host': None, 'node': None}) == {'a1', 'a2', 'b1'}
