"""Host filters: each drops hosts that cannot take the request.

RAM, vCPU, disk, traits and the availability zone's aggregates are already
guaranteed by placement's allocation candidates (see request_filter.py), so
only what placement does not know is checked here. Server group filters run
again for every instance of a multi-create, because each claim moves the
group onto one more host.
"""
from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Callable

from minova import utils
from minova.conf import CONF
from minova.db import services
from minova.db.build_requests import GroupRequest, RequestSpec
from minova.scheduler import extra_specs_ops
from minova.scheduler.host_manager import HostState

LOG = logging.getLogger(__name__)

Filter = Callable[[HostState, RequestSpec], bool]


def compute_filter(host: HostState, spec: RequestSpec) -> bool:
    """The host's compute service exists, is enabled and is up."""
    svc = host.service
    if not svc:
        return False
    return not svc['disabled'] and services.is_up(svc)


def availability_zone_filter(host: HostState, spec: RequestSpec) -> bool:
    az = spec.get('availability_zone')
    return not az or az in host.availability_zone.split(',')


def aggregate_instance_extra_specs_filter(host: HostState, spec: RequestSpec) -> bool:
    """Flavor extra specs `aggregate_instance_extra_specs:key` (or unscoped
    keys) must match the metadata of one of the host's aggregates."""
    for key, req in (spec['flavor'].get('extra_specs') or {}).items():
        scope, _, name = key.partition(':')
        if name and scope != 'aggregate_instance_extra_specs':
            continue
        name = name or scope
        values = host.aggregate_metadata.get(name)
        if not values or not any(extra_specs_ops.match(v, str(req)) for v in values):
            return False
    return True


# Image properties and the (arch, hypervisor type, vm mode) they ask for.
_IMAGE_PROPS = (('hw_architecture', 'architecture'), ('img_hv_type', 'hypervisor_type'),
                ('hw_vm_mode', 'vm_mode'))


def image_properties_filter(host: HostState, spec: RequestSpec) -> bool:
    props = (spec.get('image') or {}).get('properties') or {}
    wanted: list[tuple[int, str]] = []
    for i, names in enumerate(_IMAGE_PROPS):
        value = next((props[n] for n in names if props.get(n)), None)
        if value:
            wanted.append((i, str(value).lower()))
    if not wanted:
        return True
    supported = host.supported_instances
    return any(all(cap[i] == v for i, v in wanted) for cap in supported)


def _group(spec: RequestSpec) -> GroupRequest | None:
    return spec.get('instance_group') or None


def server_group_affinity_filter(host: HostState, spec: RequestSpec) -> bool:
    group = _group(spec)
    if not group or group['policy'] != 'affinity':
        return True
    hosts = group.get('hosts') or {}
    return not hosts or host.host in hosts


def server_group_anti_affinity_filter(host: HostState, spec: RequestSpec) -> bool:
    group = _group(spec)
    if not group or group['policy'] != 'anti-affinity':
        return True
    limit = int((group.get('rules') or {}).get('max_server_per_host') or 1)
    return (group.get('hosts') or {}).get(host.host, 0) < limit


FILTERS: dict[str, Filter] = {
    'ComputeFilter': compute_filter,
    'AvailabilityZoneFilter': availability_zone_filter,
    'AggregateInstanceExtraSpecsFilter': aggregate_instance_extra_specs_filter,
    'ImagePropertiesFilter': image_properties_filter,
    'ServerGroupAffinityFilter': server_group_affinity_filter,
    'ServerGroupAntiAffinityFilter': server_group_anti_affinity_filter,
    # Placement already enforces these; accepted so nova.conf files carry over.
    'RamFilter': lambda h, s: True,
    'CoreFilter': lambda h, s: True,
    'DiskFilter': lambda h, s: True,
}

HostCheck = Callable[[HostState], bool]
HostsCheck = Callable[[list[HostState]], list[HostState]]


def _compute_hosts(spec: RequestSpec) -> HostsCheck:
    """ComputeFilter over the whole list (no call per host, 1,000 per
    request), with the clock read once per request and each service's last
    heartbeat as the host cache parsed it (services.is_up otherwise)."""
    oldest = utils.utcnow() - datetime.timedelta(seconds=CONF.service_down_time)

    def keep(hosts: list[HostState]) -> list[HostState]:
        out = []
        for host in hosts:
            svc = host.service
            if not svc or svc['disabled']:
                continue
            if 'seen' not in svc:
                if services.is_up(svc):
                    out.append(host)
                continue
            seen = svc['seen']
            if not svc.get('forced_down') and seen is not None and seen >= oldest:
                out.append(host)
        return out
    return keep


def _extra_specs_apply(spec: RequestSpec) -> bool:
    for key in (spec['flavor'].get('extra_specs') or {}):
        scope, _, name = key.partition(':')
        if not name or scope == 'aggregate_instance_extra_specs':
            return True
    return False


def _image_props_apply(spec: RequestSpec) -> bool:
    props = (spec.get('image') or {}).get('properties') or {}
    return any(props.get(n) for names in _IMAGE_PROPS for n in names)


def _group_applies(policy: str) -> Callable[[RequestSpec], bool]:
    return lambda spec: bool((group := _group(spec)) and group['policy'] == policy)


# Per request, before any host is looked at: the filter as a check of one host,
# or None when it passes every host for this request (nothing asked of it).
# At 1,000 hosts, filters that had nothing to check were a tenth of a request.
_PREPARED: dict[str, Callable[[RequestSpec], HostCheck | None]] = {
    'AvailabilityZoneFilter': lambda spec: (
        functools.partial(_with_spec, availability_zone_filter, spec)
        if spec.get('availability_zone') else None),
    'AggregateInstanceExtraSpecsFilter': lambda spec: (
        functools.partial(_with_spec, aggregate_instance_extra_specs_filter, spec)
        if _extra_specs_apply(spec) else None),
    'ImagePropertiesFilter': lambda spec: (
        functools.partial(_with_spec, image_properties_filter, spec)
        if _image_props_apply(spec) else None),
    'ServerGroupAffinityFilter': lambda spec: (
        functools.partial(_with_spec, server_group_affinity_filter, spec)
        if _group_applies('affinity')(spec) else None),
    'ServerGroupAntiAffinityFilter': lambda spec: (
        functools.partial(_with_spec, server_group_anti_affinity_filter, spec)
        if _group_applies('anti-affinity')(spec) else None),
    'RamFilter': lambda spec: None,
    'CoreFilter': lambda spec: None,
    'DiskFilter': lambda spec: None,
}


def _with_spec(fn: Filter, spec: RequestSpec, host: HostState) -> bool:
    return fn(host, spec)


def _check(name: str, spec: RequestSpec) -> HostCheck | None | bool:
    """The check of filter `name` for this request; None when it passes every
    host; False when the filter is unknown."""
    prepare = _PREPARED.get(name)
    if prepare is not None and FILTERS.get(name) is _DEFAULTS.get(name):
        return prepare(spec)
    fn = FILTERS.get(name)
    if fn is None:
        return False
    return functools.partial(_with_spec, fn, spec)


_DEFAULTS = dict(FILTERS)

# Default filters prepared per request as a check of the whole list.
_BULK: dict[str, Callable[[RequestSpec], HostsCheck]] = {'ComputeFilter': _compute_hosts}


def _keep(name: str, spec: RequestSpec) -> HostsCheck | None | bool:
    """Filter `name` for this request as a check of the whole list; None
    when it passes every host; False when the filter is unknown."""
    bulk = _BULK.get(name)
    if bulk is not None and FILTERS.get(name) is _DEFAULTS.get(name):
        return bulk(spec)
    check = _check(name, spec)
    if check is None or check is False:
        return check
    assert not isinstance(check, bool)
    one: HostCheck = check
    return lambda hosts: [h for h in hosts if one(h)]


# Filters whose answer changes as instances of one request are placed.
PER_INSTANCE = frozenset({'ServerGroupAffinityFilter', 'ServerGroupAntiAffinityFilter'})


def run(enabled: list[str], hosts: list[HostState], spec: RequestSpec,
        only: frozenset[str] | None = None) -> list[HostState]:
    for name in enabled:
        name = name.rsplit('.', 1)[-1]
        if only is not None and name not in only:
            continue
        keep = _keep(name, spec)
        if keep is False:
            LOG.warning('Unknown scheduler filter %s ignored', name)
            continue
        if keep is None:
            continue
        assert not isinstance(keep, bool)
        before = len(hosts)
        hosts = keep(hosts)
        LOG.debug('Filter %s returned %d of %d hosts', name, len(hosts), before)
        if not hosts:
            # As Nova does: an operator reading a NoValidHost needs the culprit.
            LOG.info('Filter %s removed the last %d hosts', name, before)
            break
    return hosts
