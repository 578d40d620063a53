"""Placement's answer kept for later equal requests ([scheduler]
candidates_reuse_seconds): the claims made since count against it, a request
that finds no host in it asks placement again, and only answers that depend
on nothing but room are kept."""
from __future__ import annotations

import time
import types
import uuid
from typing import Any

import pytest

from minova import exception
from tests.unit.backbone.fakes import spec


@pytest.fixture(autouse=True)
def _long_enough(flags: Any) -> None:
    """Answers kept far longer than a test takes, however loaded the
    machine (tests that need another time set their own)."""
    flags('candidates_reuse_seconds', 60.0, 'scheduler')


def _count_reads(sched: Any) -> list[int]:
    reads: list[int] = []
    send = sched._candidates

    def candidates(*a: Any, **kw: Any) -> Any:
        reads.append(1)
        return send(*a, **kw)
    sched._candidates = candidates
    return reads


def _one(cloud: Any, **values: Any) -> str:
    return cloud.select(spec(**values), [str(uuid.uuid4())])[0]


def test_later_equal_requests_use_the_answer_and_still_spread(cloud: Any) -> None:
    # Four hosts of room one, four requests one after the other: one read,
    # and each request counts the claims of those before it against it.
    for i in range(4):
        cloud.add_host(f'h{i}', vcpus=1)
    reads = _count_reads(cloud.sched)
    assert sorted(_one(cloud) for _ in range(4)) == ['h0', 'h1', 'h2', 'h3']
    assert len(reads) == 1
    for i in range(4):
        assert cloud.usage(f'h{i}')['VCPU'] == 1


def test_no_host_in_a_kept_answer_asks_placement_again(cloud: Any) -> None:
    # The kept answer knows only h0, full once the first request claimed it;
    # the host added after it is found by a new read.
    cloud.add_host('h0', vcpus=1)
    reads = _count_reads(cloud.sched)
    assert _one(cloud) == 'h0'
    cloud.add_host('h1', vcpus=1)
    assert _one(cloud) == 'h1'
    assert len(reads) == 2
    # Nothing left anywhere: placement's own answer says so.
    with pytest.raises(exception.NoValidHost):
        _one(cloud)
    assert len(reads) == 3


def test_a_host_added_after_the_answer_is_offered_at_once(cloud: Any) -> None:
    # h1 (more vCPUs: the weighers prefer it) joins the cell after the kept
    # read: the next request reads again, so it and the alternates of a
    # reschedule come from both hosts.
    cloud.add_host('h0', vcpus=4)
    reads = _count_reads(cloud.sched)
    assert _one(cloud) == 'h0'
    cloud.add_host('h1', vcpus=8)
    result = cloud.sched.select_destinations(cloud.ctx, spec(), [str(uuid.uuid4())])
    assert [s['service_host'] for s in result[0]] == ['h1', 'h0']
    assert len(reads) == 2
    assert not any(f.answer.stale for f in cloud.sched._recent.values())


def test_room_freed_since_the_answer_is_found(cloud: Any) -> None:
    cloud.add_host('h0', vcpus=1)
    first = str(uuid.uuid4())
    assert cloud.select(spec(), [first]) == ['h0']
    cloud.client.delete_allocation_for_instance(cloud.ctx, first)
    assert _one(cloud) == 'h0'
    assert cloud.usage('h0')['VCPU'] == 1


def test_answers_that_depend_on_traits_are_not_kept(cloud: Any) -> None:
    # A trait could be taken off the host between two requests, and a claim
    # does not check traits: each such request asks placement.
    cloud.add_host('h0', vcpus=4, traits=['CUSTOM_FAST'])
    reads = _count_reads(cloud.sched)
    flavor = dict(spec()['flavor'], extra_specs={'trait:CUSTOM_FAST': 'required'})
    assert _one(cloud, flavor=flavor) == 'h0'
    assert _one(cloud, flavor=flavor) == 'h0'
    assert len(reads) == 2


@pytest.mark.parametrize('setting', [
    ('candidates_reuse_seconds', 0, 'scheduler'),
    ('enabled_filters', ['AvailabilityZoneFilter'], 'filter_scheduler'),
])
def test_not_kept_when_turned_off_or_disabled_hosts_go_unchecked(
        cloud: Any, flags: Any, setting: tuple[str, Any, str]) -> None:
    # Without ComputeFilter, only placement's trait keeps a disabled
    # compute's host out: its answer must then be new.
    name, value, group = setting
    flags(name, value, group)
    cloud.add_host('h0', vcpus=4)
    reads = _count_reads(cloud.sched)
    assert [_one(cloud), _one(cloud)] == ['h0', 'h0']
    assert len(reads) == 2


def test_a_kept_answer_is_let_go_after_its_time(cloud: Any, flags: Any,
                                                monkeypatch: Any) -> None:
    # The scheduler's clock, moved by hand: a loaded machine must not make
    # the second request come after the answer's time.
    from minova.scheduler import manager
    now = [1000.0]
    monkeypatch.setattr(manager, 'time', types.SimpleNamespace(monotonic=lambda: now[0]))
    flags('candidates_reuse_seconds', 1.0, 'scheduler')
    cloud.add_host('h0', vcpus=4)
    reads = _count_reads(cloud.sched)
    assert _one(cloud) == 'h0'
    now[0] += 0.9
    assert _one(cloud) == 'h0'
    assert len(reads) == 1
    now[0] += 0.2
    assert _one(cloud) == 'h0'
    assert len(reads) == 2
    assert len(cloud.sched._recent) == 1


def test_an_idle_scheduler_lets_go_of_its_kept_answer(cloud: Any, flags: Any) -> None:
    # With no request coming, the scheduler's periodic task lets it go.
    flags('candidates_reuse_seconds', 0.05, 'scheduler')
    cloud.add_host('h0', vcpus=4)
    assert _one(cloud) == 'h0'
    assert len(cloud.sched._recent) == 1
    [task] = [t for t in cloud.sched.periodic_tasks() if t.name == 'kept_answers']
    time.sleep(0.1)
    task.fn()
    assert not cloud.sched._recent and len(cloud.sched.claims) == 0
