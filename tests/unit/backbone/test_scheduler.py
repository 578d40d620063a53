"""Scheduler: placement candidates, filters, weighers and claims."""
from __future__ import annotations

import collections
import datetime
import threading
import uuid
from typing import Any

import oslo_messaging as messaging
import pytest

from minova import exception, utils
from minova.scheduler import claims, filters, manager, weights
from minova.scheduler.host_manager import HostState
from tests.unit.backbone.fakes import (
    FLAVOR,
    FakePlacement,
    add_compute,
    let_go_of_kept_answers,
    spec,
)

NOT_ENOUGH = 'No valid host was found. There are not enough hosts available.'


def uuids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


@pytest.fixture
def sched(dbs: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(manager.placement_client, 'Client', FakePlacement)
    mgr = manager.SchedulerManager()

    def add_host(name: str, vcpus: int = 8, ram: int = 8192, disk: int = 100,
                 mapped: bool = True, cell: tuple[dict, str] | None = None,
                 **svc: Any) -> dict[str, Any]:
        cell_map, url = cell or (dbs.cell1, dbs.cell)
        node = add_compute(url, name, cell_map['id'] if mapped else None, vcpus=vcpus,
                           memory_mb=ram, local_gb=disk, **svc)
        mgr.placement.add_provider(node['uuid'], vcpus, ram, disk)
        return node

    mgr.add_host = add_host
    return mgr


def select(mgr: Any, ctx: Any, request_spec: dict[str, Any], instance_uuids: list[str],
           return_alternates: bool = True) -> list[list[dict[str, Any]]]:
    """select_destinations as the RPC caller sees it: the expected error re-raised."""
    try:
        return mgr.select_destinations(ctx, request_spec, instance_uuids, return_alternates)
    except messaging.ExpectedException as e:
        raise e.exc_info[1] from None


def hosts_of(result: list[list[dict[str, Any]]]) -> list[str]:
    return [r[0]['service_host'] for r in result]


# -- resources_from_flavor --------------------------------------------------------

def test_resources_from_flavor_adds_ephemeral_and_swap_rounded_up_to_gb() -> None:
    res = manager.resources_from_flavor({'vcpus': 2, 'memory_mb': 2048, 'root_gb': 10,
                                         'ephemeral_gb': 5, 'swap': 1500})
    assert res == {'VCPU': 2, 'MEMORY_MB': 2048, 'DISK_GB': 17}


def test_resources_from_flavor_extra_specs_override_add_and_drop() -> None:
    res = manager.resources_from_flavor({
        'vcpus': 2, 'memory_mb': 2048, 'root_gb': 0, 'ephemeral_gb': 0, 'swap': 0,
        'extra_specs': {'resources:VCPU': '0', 'resources:CUSTOM_GPU': '2',
                        'resources:MEMORY_MB': 'lots', 'hw:cpu_policy': 'dedicated'}})
    # VCPU=0 removes the class, a bad value is ignored, a zero-disk flavor asks no disk.
    assert res == {'MEMORY_MB': 2048, 'CUSTOM_GPU': 2}


# -- filters and weighers -------------------------------------------------------

def _svc(**kw: Any) -> dict[str, Any]:
    base = {'disabled': False, 'forced_down': False, 'last_seen_up': utils.utcnow()}
    base.update(kw)
    return base


def _host(name: str, service: dict[str, Any] | None = None, az: str = 'nova',
          ram: float = 1024, vcpus: float = 4) -> HostState:
    return HostState(uuid=name + '-uuid', host=name, nodename=name, cell_uuid='c1',
                     service=service, availability_zone=az, free_ram_mb=ram,
                     free_vcpus=vcpus, free_disk_gb=10)


@pytest.mark.parametrize('service_kw, passes', [
    ({}, True),
    ({'disabled': True}, False),
    ({'forced_down': True}, False),
    ({'last_seen_up': -3600}, False),
    (None, False),
], ids=['up', 'disabled', 'forced-down', 'not-heard-from', 'no-service'])
def test_compute_filter(service_kw: dict[str, Any] | None, passes: bool) -> None:
    # Built when the test runs, not at collection: heartbeats age.
    service = None
    if service_kw is not None:
        kw = dict(service_kw)
        if 'last_seen_up' in kw:
            kw['last_seen_up'] = utils.utcnow() + datetime.timedelta(seconds=kw['last_seen_up'])
        service = _svc(**kw)
    assert filters.compute_filter(_host('h', service), {}) is passes


def test_availability_zone_filter() -> None:
    h = _host('h', _svc(), az='nova')
    assert filters.availability_zone_filter(h, {'availability_zone': None})
    assert filters.availability_zone_filter(h, {'availability_zone': 'nova'})
    assert not filters.availability_zone_filter(h, {'availability_zone': 'az2'})


def test_unknown_filter_name_is_ignored_not_fatal() -> None:
    up, down = _host('up', _svc()), _host('down', _svc(disabled=True))
    kept = filters.run(['NoSuchFilter', 'RamFilter', 'ComputeFilter'], [up, down], {})
    assert [h.host for h in kept] == ['up']


def test_weighers_spread_by_default_and_stack_with_negative_multipliers(flags: Any) -> None:
    roomy, busy = _host('roomy', ram=4096, vcpus=8), _host('busy', ram=512, vcpus=1)
    assert [h.host for h in weights.weigh([busy, roomy])] == ['roomy', 'busy']
    flags('ram_weight_multiplier', -1.0, group='filter_scheduler')
    flags('cpu_weight_multiplier', -1.0, group='filter_scheduler')
    assert [h.host for h in weights.weigh([roomy, busy])] == ['busy', 'roomy']


# -- select_destinations ----------------------------------------------------------

def test_picks_host_with_most_room_and_claims_it(sched: Any, ctx: Any, dbs: Any) -> None:
    sched.add_host('small', vcpus=4, ram=4096)
    big = sched.add_host('big', vcpus=16, ram=16384)
    [uuid1] = uuids(1)
    [[chosen, *alts]] = select(sched, ctx, spec(), [uuid1])
    assert chosen['service_host'] == 'big'
    assert chosen['nodename'] == 'big'
    assert chosen['cell_uuid'] == dbs.cell1['uuid']
    assert chosen['compute_node_uuid'] == big['uuid']
    assert chosen['allocation_request'] == {
        'allocations': {big['uuid']: {'resources': {'VCPU': 1, 'MEMORY_MB': 512,
                                                    'DISK_GB': 1}}}}
    assert [a['service_host'] for a in alts] == ['small']
    assert sched.placement.allocations == {
        uuid1: {big['uuid']: {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1}}}


def test_multi_create_spreads_over_equal_hosts(sched: Any, ctx: Any) -> None:
    sched.add_host('a')
    sched.add_host('b')
    result = select(sched, ctx, spec(), uuids(4))
    chosen = hosts_of(result)
    assert collections.Counter(chosen) == {'a': 2, 'b': 2}
    assert chosen[0] != chosen[1]


def test_alternates_count_bounded_by_max_attempts(sched: Any, ctx: Any, flags: Any) -> None:
    for name in 'abcde':
        sched.add_host(name)
    flags('max_attempts', 3, group='scheduler')
    result = select(sched, ctx, spec(), uuids(2))
    for host_list in result:
        names = [s['service_host'] for s in host_list]
        assert len(names) == 3
        assert len(set(names)) == 3
    flags('max_attempts', 1, group='scheduler')
    [only] = select(sched, ctx, spec(), uuids(1))
    assert len(only) == 1


def test_no_alternates_when_not_asked(sched: Any, ctx: Any) -> None:
    sched.add_host('a')
    sched.add_host('b')
    [host_list] = select(sched, ctx, spec(), uuids(1), False)
    assert len(host_list) == 1


def test_host_filled_by_earlier_instance_is_not_an_alternate(sched: Any, ctx: Any) -> None:
    # Each host takes exactly one m1.tiny (1 vCPU).
    for name in 'xyz':
        sched.add_host(name, vcpus=1)
    first, second = select(sched, ctx, spec(), uuids(2))
    assert len(first) == 3
    assert first[0]['service_host'] != second[0]['service_host']
    alt_names = [s['service_host'] for s in second[1:]]
    assert first[0]['service_host'] not in alt_names
    assert len(alt_names) == 1


def test_alternates_are_in_the_chosen_hosts_cell(sched: Any, ctx: Any, dbs: Any) -> None:
    cell2 = dbs.new_cell('cell2')
    sched.add_host('big', vcpus=32, ram=32768)
    sched.add_host('also-cell1', vcpus=2, ram=2048)
    sched.add_host('cell2-host', vcpus=16, ram=16384, cell=cell2)
    [[chosen, *alts]] = select(sched, ctx, spec(), uuids(1))
    assert chosen['service_host'] == 'big'
    assert [a['service_host'] for a in alts] == ['also-cell1']
    assert {a['cell_uuid'] for a in alts} == {dbs.cell1['uuid']}


def test_multi_create_that_cannot_all_fit_rolls_back_every_claim(sched: Any,
                                                                 ctx: Any) -> None:
    sched.add_host('a', vcpus=1)
    sched.add_host('b', vcpus=1)
    wanted = uuids(3)
    with pytest.raises(exception.NoValidHost) as err:
        select(sched, ctx, spec(), wanted)
    assert str(err.value) == NOT_ENOUGH
    assert sched.placement.allocations == {}
    assert set(sched.placement.deleted) == set(wanted[:2])


def test_no_host_at_all_is_novalidhost(sched: Any, ctx: Any) -> None:
    with pytest.raises(exception.NoValidHost) as err:
        select(sched, ctx, spec(), uuids(1))
    assert str(err.value) == NOT_ENOUGH


def test_flavor_bigger_than_every_host_is_novalidhost(sched: Any, ctx: Any) -> None:
    sched.add_host('a', ram=1024)
    big = spec(flavor={'vcpus': 1, 'memory_mb': 4096, 'root_gb': 1})
    with pytest.raises(exception.NoValidHost, match='not enough hosts available'):
        select(sched, ctx, big, uuids(1))


def test_placement_unreachable_is_novalidhost(sched: Any, ctx: Any) -> None:
    sched.add_host('a')
    sched.placement.candidates_error = exception.PlacementAPIConnectFailure()
    with pytest.raises(exception.NoValidHost) as err:
        select(sched, ctx, spec(), uuids(1))
    assert str(err.value) == ('No valid host was found. Unable to communicate with the '
                              'Placement API.')


def test_claim_refused_by_placement_falls_back_to_next_host(sched: Any, ctx: Any) -> None:
    best = sched.add_host('best', vcpus=32, ram=32768)
    sched.add_host('next', vcpus=8, ram=8192)
    sched.placement.refuse.add(best['uuid'])
    [uuid1] = uuids(1)
    [[chosen, *_]] = select(sched, ctx, spec(), [uuid1])
    assert chosen['service_host'] == 'next'
    assert best['uuid'] not in sched.placement.allocations[uuid1]


def test_disabled_down_and_forced_down_hosts_are_not_chosen(sched: Any, ctx: Any) -> None:
    sched.add_host('disabled', vcpus=64, ram=65536, disabled=True)
    sched.add_host('stale', vcpus=64, ram=65536, seen_seconds_ago=3600)
    sched.add_host('forced', vcpus=64, ram=65536, forced_down=True)
    sched.add_host('ok', vcpus=2, ram=2048)
    [host_list] = select(sched, ctx, spec(), uuids(1))
    assert [s['service_host'] for s in host_list] == ['ok']


def test_only_disabled_hosts_is_novalidhost(sched: Any, ctx: Any) -> None:
    sched.add_host('disabled', disabled=True)
    with pytest.raises(exception.NoValidHost) as err:
        select(sched, ctx, spec(), uuids(1))
    assert str(err.value) == NOT_ENOUGH


def test_host_not_yet_discovered_is_never_scheduled(sched: Any, ctx: Any) -> None:
    sched.add_host('unmapped', vcpus=64, ram=65536, mapped=False)
    with pytest.raises(exception.NoValidHost):
        select(sched, ctx, spec(), uuids(1))
    sched.add_host('mapped', vcpus=2, ram=2048)
    [host_list] = select(sched, ctx, spec(), uuids(1))
    assert [s['service_host'] for s in host_list] == ['mapped']


def test_forced_host_bypasses_filters(sched: Any, ctx: Any) -> None:
    sched.add_host('big', vcpus=64, ram=65536)
    sched.add_host('maint', disabled=True)
    [[chosen, *alts]] = select(sched, ctx, spec(force_hosts=['maint']),
                                                  uuids(1))
    assert chosen['service_host'] == 'maint'
    assert alts == []


def test_requested_destination_limits_hosts_but_filters_still_apply(sched: Any,
                                                                    ctx: Any) -> None:
    sched.add_host('big', vcpus=64, ram=65536)
    sched.add_host('wanted')
    sched.add_host('off', disabled=True)
    [[chosen]] = sched.select_destinations(
        ctx, spec(requested_destination={'host': 'wanted'}), uuids(1))
    assert chosen['service_host'] == 'wanted'
    with pytest.raises(exception.NoValidHost):
        select(sched, ctx, spec(requested_destination={'host': 'off'}),
                                  uuids(1))


def test_unknown_availability_zone_is_novalidhost(sched: Any, ctx: Any) -> None:
    sched.add_host('a')
    with pytest.raises(exception.NoValidHost):
        select(sched, ctx, spec(availability_zone='elsewhere'), uuids(1))
    [[chosen, *_]] = select(sched, ctx, spec(availability_zone='nova'),
                                               uuids(1))
    assert chosen['service_host'] == 'a'


# -- overlapping requests -----------------------------------------------------------

def _gate_candidates(sched: Any, *, summary_after: bool = False) -> tuple[Any, Any]:
    """The next candidates call waits (inside placement, as a slow answer
    would) until released; with summary_after it reads placement's state
    after the wait, so claims made meanwhile are in its answer."""
    entered, release = threading.Event(), threading.Event()
    real = sched.placement.get_allocation_candidates
    gated = [True]

    def candidates(*a: Any, **kw: Any) -> Any:
        if not gated[0]:
            return real(*a, **kw)
        gated[0] = False
        out = None if summary_after else real(*a, **kw)
        entered.set()
        assert release.wait(10)
        return real(*a, **kw) if summary_after else out
    sched.placement.get_allocation_candidates = candidates
    return entered, release


def _other_shape() -> dict[str, Any]:
    """A request that asks placement something else than spec()'s (less
    RAM): an equal one would share the slow read in flight rather than send
    its own (tests/unit/scheduler/test_overlap.py)."""
    return spec(flavor={**FLAVOR, 'memory_mb': 256})


def _in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out['result'] = fn()
        except Exception as e:  # noqa: BLE001 (handed to the test)
            out['error'] = e
    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_select_does_not_wait_for_another_in_placement_and_they_spread(
        sched: Any, ctx: Any) -> None:
    sched.add_host('a')
    sched.add_host('b')
    entered, release = _gate_candidates(sched)
    slow, out = _in_thread(lambda: hosts_of(select(sched, ctx, spec(), uuids(1))))
    assert entered.wait(10)
    # The slow request is inside placement: this one completes meanwhile.
    [fast] = hosts_of(select(sched, ctx, _other_shape(), uuids(1)))
    release.set()
    slow.join(10)
    # The slow one's answer predates the fast claim, which it still counts.
    assert out['result'] != [fast]
    assert sorted(out['result'] + [fast]) == ['a', 'b']
    let_go_of_kept_answers(sched)
    assert len(sched.claims) == 0


def test_overlapping_selects_never_claim_beyond_capacity(sched: Any, ctx: Any) -> None:
    sched.add_host('one', vcpus=1)
    entered, release = _gate_candidates(sched)
    slow, out = _in_thread(lambda: select(sched, ctx, spec(), uuids(1)))
    assert entered.wait(10)
    assert hosts_of(select(sched, ctx, _other_shape(), uuids(1))) == ['one']
    release.set()
    slow.join(10)
    # Its answer still showed the room: placement's claim refused it.
    assert isinstance(out['error'], exception.NoValidHost)
    assert sched.placement.used(next(iter(sched.placement.capacity)))['VCPU'] == 1
    assert len(sched.placement.allocations) == 1
    let_go_of_kept_answers(sched)
    assert len(sched.claims) == 0


def test_claim_in_flight_during_the_read_is_not_counted_twice(sched: Any, ctx: Any) -> None:
    # Room for two; the other request's claim lands while placement answers
    # the slow one, and that answer already includes it.
    node = sched.add_host('two', vcpus=2)
    entered, release = _gate_candidates(sched, summary_after=True)
    slow, out = _in_thread(lambda: hosts_of(select(sched, ctx, spec(), uuids(1))))
    assert entered.wait(10)
    assert hosts_of(select(sched, ctx, _other_shape(), uuids(1))) == ['two']
    release.set()
    slow.join(10)
    assert out['result'] == ['two']
    assert sched.placement.used(node['uuid'])['VCPU'] == 2


def test_failed_claim_leaves_nothing_in_the_ledger(sched: Any, ctx: Any) -> None:
    sched.add_host('a')

    def broken(*a: Any, **kw: Any) -> bool:
        raise exception.AllocationUpdateFailed(consumer_uuid='x', error='boom')
    sched.placement.claim_resources = broken
    with pytest.raises(exception.AllocationUpdateFailed):
        select(sched, ctx, spec(), uuids(1))
    assert len(sched.claims) == 0


def test_ledger_sorts_claims_by_when_they_happened_against_a_read() -> None:
    ledger = claims.Ledger()
    res = {'VCPU': 1}
    before = ledger.choose('n1', res)
    ledger.landed(before)             # landed before any read: forgotten
    assert len(ledger) == 0
    in_flight = ledger.choose('n1', res)
    key, read = ledger.begin_read()
    during = ledger.choose('n2', res)
    ledger.answered(read)
    after = ledger.choose('n2', res)
    unseen = ledger.unseen(read)
    assert unseen.maybe == {'n1': {'VCPU': 1}, 'n2': {'VCPU': 1}}
    assert unseen.sure == {'n2': {'VCPU': 1}}
    assert unseen.count == {'n1': 1, 'n2': 2}
    for k in (in_flight, during, after):
        ledger.landed(k)
    assert len(ledger) == 3           # the read may still miss them
    ledger.end_read(key)
    assert len(ledger) == 0
