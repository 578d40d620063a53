"""Host filters: each drops hosts that cannot take the request.

RAM, vCPU and disk are already guaranteed by placement's allocation
candidates, so only what placement does not know is checked here.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from minova.db import services
from minova.scheduler.host_manager import HostState

LOG = logging.getLogger(__name__)

Filter = Callable[[HostState, dict[str, Any]], bool]


def compute_filter(host: HostState, spec: dict[str, Any]) -> bool:
    """The host's compute service exists, is enabled and is up."""
    svc = host.service
    return bool(svc) and not svc['disabled'] and services.is_up(svc)


def availability_zone_filter(host: HostState, spec: dict[str, Any]) -> bool:
    az = spec.get('availability_zone')
    return not az or az == host.availability_zone


FILTERS: dict[str, Filter] = {
    'ComputeFilter': compute_filter,
    'AvailabilityZoneFilter': availability_zone_filter,
    # Placement already enforces these; accepted so nova.conf files carry over.
    'RamFilter': lambda h, s: True,
    'CoreFilter': lambda h, s: True,
    'DiskFilter': lambda h, s: True,
}


def run(enabled: list[str], hosts: list[HostState], spec: dict[str, Any]) -> list[HostState]:
    for name in enabled:
        fn = FILTERS.get(name)
        if fn is None:
            LOG.warning('Unknown scheduler filter %s ignored', name)
            continue
        before = len(hosts)
        hosts = [h for h in hosts if fn(h, spec)]
        LOG.debug('Filter %s returned %d of %d hosts', name, len(hosts), before)
        if not hosts:
            break
    return hosts
