"""Weighers: rank hosts; each weigher's values are normalised to 0..1 and
multiplied by its [filter_scheduler] *_weight_multiplier (positive spreads)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from minova.conf import CONF
from minova.db.build_requests import RequestSpec
from minova.scheduler.host_manager import HostState

LOG = logging.getLogger(__name__)

Weigher = Callable[[HostState, RequestSpec], float]


def _group_count(h: HostState, spec: RequestSpec, policy: str) -> float:
    group = spec.get('instance_group') or {}
    if group.get('policy') != policy:
        return 0.0
    return float((group.get('hosts') or {}).get(h.host, 0))


def _fs() -> Any:
    return CONF.filter_scheduler


WEIGHERS: dict[str, tuple[Weigher, Callable[[], float]]] = {
    'RAMWeigher': (lambda h, s: h.free_ram_mb, lambda: _fs().ram_weight_multiplier),
    'CPUWeigher': (lambda h, s: h.free_vcpus, lambda: _fs().cpu_weight_multiplier),
    'DiskWeigher': (lambda h, s: h.free_disk_gb, lambda: _fs().disk_weight_multiplier),
    'NumInstancesWeigher': (lambda h, s: float(h.num_instances),
                            lambda: _fs().num_instances_weight_multiplier),
    # More group members on a host: better for soft-affinity, worse for soft-anti.
    'ServerGroupSoftAffinityWeigher': (
        lambda h, s: _group_count(h, s, 'soft-affinity'),
        lambda: _fs().soft_affinity_weight_multiplier),
    'ServerGroupSoftAntiAffinityWeigher': (
        lambda h, s: -_group_count(h, s, 'soft-anti-affinity'),
        lambda: _fs().soft_anti_affinity_weight_multiplier),
}


# The group weighers, and the policy without which they weigh every host 0.
_GROUP_POLICY = {'ServerGroupSoftAffinityWeigher': 'soft-affinity',
                 'ServerGroupSoftAntiAffinityWeigher': 'soft-anti-affinity'}


# The weighers that read one attribute of a host: read with attrgetter
# over the whole list (no call of Python code per host), as long as the
# entry in WEIGHERS is still the default one.
_ATTR = {'RAMWeigher': attrgetter('free_ram_mb'), 'CPUWeigher': attrgetter('free_vcpus'),
         'DiskWeigher': attrgetter('free_disk_gb'),
         'NumInstancesWeigher': attrgetter('num_instances')}
_DEFAULTS = {name: WEIGHERS[name][0] for name in _ATTR}


def enabled() -> list[str]:
    names: list[str] = []
    for name in CONF.filter_scheduler.weight_classes:
        if name.endswith('all_weighers'):
            names.extend(WEIGHERS)
            continue
        names.append(name.rsplit('.', 1)[-1])
    return list(dict.fromkeys(names))


def weigh(hosts: list[HostState], spec: RequestSpec | None = None) -> list[HostState]:
    """Hosts best first (a stable sort: equal hosts keep placement's order).
    Each weigher's values are normalised to 0..1 over the hosts, then
    multiplied by its multiplier and summed."""
    if not hosts:
        return []
    spec = spec or {}
    totals = [0.0] * len(hosts)
    for name in enabled():
        if name not in WEIGHERS:
            LOG.warning('Unknown weigher %s ignored', name)
            continue
        fn, multiplier = WEIGHERS[name]
        m = multiplier()
        if not m:
            continue
        policy = _GROUP_POLICY.get(name)
        if policy and (spec.get('instance_group') or {}).get('policy') != policy:
            continue    # 0 for every host: it would add nothing
        attr = _ATTR.get(name)
        values = list(map(attr, hosts)) if attr is not None and fn is _DEFAULTS[name] \
            else [fn(h, spec) for h in hosts]
        lo, hi = min(values), max(values)
        if hi == lo:
            continue    # normalised, 0 for every host
        span = hi - lo
        totals = [t + (v - lo) / span * m for t, v in zip(totals, values, strict=True)]
    order = sorted(range(len(hosts)), key=totals.__getitem__, reverse=True)
    return [hosts[i] for i in order]
