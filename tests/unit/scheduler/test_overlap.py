"""Concurrent select_destinations against the real placement: requests
overlap while placement answers, and placement's claims still decide."""
from __future__ import annotations

import collections
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from minova import exception
from tests.unit.backbone.fakes import let_go_of_kept_answers, spec


def test_concurrent_selects_fill_every_room_and_never_more(cloud: Any) -> None:
    # Six hosts with room for two instances each (2 vCPUs), sixteen requests
    # at once: twelve are placed, two per host, and four find no host.
    for i in range(6):
        cloud.add_host(f'h{i}', vcpus=2)
    consumers = [str(uuid.uuid4()) for _ in range(16)]

    def one(consumer: str) -> str | None:
        try:
            return cloud.select(spec(), [consumer])[0]
        except exception.NoValidHost:
            return None
    with ThreadPoolExecutor(8) as pool:
        placed = list(pool.map(one, consumers))
    assert collections.Counter(h for h in placed if h) == {f'h{i}': 2 for i in range(6)}
    assert placed.count(None) == 4
    for i in range(6):
        assert cloud.usage(f'h{i}')['VCPU'] == 2
    held = {c for c, h in zip(consumers, placed, strict=True) if h}
    for c in consumers:
        allocs = cloud.placement('GET', f'/allocations/{c}').json()['allocations']
        assert bool(allocs) == (c in held)
    let_go_of_kept_answers(cloud.sched)
    assert len(cloud.sched.claims) == 0


def test_concurrent_multi_creates_spread_without_over_commit(cloud: Any) -> None:
    # Four hosts of room 3; four requests of three instances each at once.
    for i in range(4):
        cloud.add_host(f'h{i}', vcpus=3)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: cloud.select(spec(), [str(uuid.uuid4())
                                                                for _ in range(3)]),
                                range(4)))
    assert collections.Counter(h for r in results for h in r) == \
        {f'h{i}': 3 for i in range(4)}


def _select_while_first_read_held(cloud: Any, joiners: int, fail: bool = False
                                  ) -> tuple[Any, list[Any], list[int]]:
    """One request, then `joiners` equal ones sent while its read of the
    candidates is held in flight (and fails once released, with `fail`):
    (the first's future, the joiners' futures, every read sent), all done."""
    import threading
    import time
    sched = cloud.sched
    release, joined = threading.Event(), threading.Semaphore(0)
    reads: list[int] = []
    send, join = sched._candidates, sched._join

    def candidates(*a: Any, **kw: Any) -> Any:
        reads.append(1)
        if len(reads) == 1:
            assert release.wait(10)
            if fail:
                raise exception.NoValidHost(reason='placement went away')
        return send(*a, **kw)

    def joining(*a: Any, **kw: Any) -> Any:
        joined.release()
        return join(*a, **kw)
    sched._candidates, sched._join = candidates, joining
    with ThreadPoolExecutor(joiners + 1) as pool:
        first = pool.submit(cloud.select, spec(), [str(uuid.uuid4())])
        while not sched._flights:
            time.sleep(0.001)
        rest = [pool.submit(cloud.select, spec(), [str(uuid.uuid4())])
                for _ in range(joiners)]
        for _ in range(joiners):
            assert joined.acquire(timeout=10)
        release.set()
    return first, rest, reads


def test_equal_requests_share_one_read_and_still_spread(cloud: Any) -> None:
    # Four hosts with room for one instance each; four equal requests, three
    # of them arriving while the first one's read is in flight: placement is
    # asked once, and the claims made off the shared answer spread the four
    # over the four hosts (none is refused, none over-commits).
    for i in range(4):
        cloud.add_host(f'h{i}', vcpus=1)
    first, rest, reads = _select_while_first_read_held(cloud, 3)
    placed = first.result() + [h for f in rest for h in f.result()]
    assert len(reads) == 1
    assert sorted(placed) == ['h0', 'h1', 'h2', 'h3']
    for i in range(4):
        assert cloud.usage(f'h{i}')['VCPU'] == 1
    let_go_of_kept_answers(cloud.sched)
    assert not cloud.sched._flights and len(cloud.sched.claims) == 0


def test_requests_that_joined_a_failed_read_read_again(cloud: Any) -> None:
    cloud.add_host('h0', vcpus=4)
    first, rest, reads = _select_while_first_read_held(cloud, 2, fail=True)
    with pytest.raises(exception.NoValidHost):   # the failed read fails its own request
        first.result()
    assert [f.result() for f in rest] == [['h0'], ['h0']]
    assert len(reads) == 3
    assert cloud.usage('h0')['VCPU'] == 2
