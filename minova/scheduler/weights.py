"""Weighers: rank hosts; each weigher's values are normalised to 0..1 and
multiplied by its [filter_scheduler] *_weight_multiplier (positive spreads)."""
from __future__ import annotations

import logging
from collections.abc import Callable

from minova.conf import CONF
from minova.scheduler.host_manager import HostState

LOG = logging.getLogger(__name__)

WEIGHERS: dict[str, tuple[Callable[[HostState], float], Callable[[], float]]] = {
    'RAMWeigher': (lambda h: h.free_ram_mb, lambda: CONF.filter_scheduler.ram_weight_multiplier),
    'CPUWeigher': (lambda h: h.free_vcpus, lambda: CONF.filter_scheduler.cpu_weight_multiplier),
}


def _normalise(values: list[float]) -> list[float]:
    lo, hi = min(values), max(values)
    if hi == lo:
        return [0.0] * len(values)
    return [(v - lo) / (hi - lo) for v in values]


def weigh(hosts: list[HostState]) -> list[HostState]:
    """Hosts best first."""
    totals = [0.0] * len(hosts)
    for name in CONF.filter_scheduler.weight_classes:
        if name not in WEIGHERS:
            LOG.warning('Unknown weigher %s ignored', name)
            continue
        fn, multiplier = WEIGHERS[name]
        for i, w in enumerate(_normalise([fn(h) for h in hosts])):
            totals[i] += w * multiplier()
    order = sorted(range(len(hosts)), key=lambda i: totals[i], reverse=True)
    return [hosts[i] for i in order]
