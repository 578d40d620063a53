"""Concurrent select_destinations against the real placement: requests
overlap while placement answers, and placement's claims still decide."""
from __future__ import annotations

import collections
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from minova import exception
from tests.unit.backbone.fakes import spec


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
