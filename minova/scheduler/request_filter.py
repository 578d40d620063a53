"""Request filters: turn a request spec into a placement query.

Whatever placement can decide itself is asked of it rather than checked host
by host afterwards: the resources (flavor, overridden by `resources:RC=N`
extra specs), the traits a flavor or image requires or forbids
(`trait:NAME=required|forbidden`), and the availability zone, as membership
of the aggregates that define it (Nova's map_az_to_placement_aggregate).

The node providers' traits computes report add two more, always on: a
disabled compute's COMPUTE_STATUS_DISABLED is forbidden (Nova's
compute_status_filter), and a boot with a multiattach volume requires
COMPUTE_VOLUME_MULTI_ATTACH. The latter is mini-Nova's own: Nova picks a host
without asking and its build aborts there when the driver cannot share the
volume; here such a boot finds no valid host instead of failing on one.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import os_traits

from minova.conf import CONF
from minova.db import aggregates
from minova.db.build_requests import RequestSpec
from minova.db.flavors import Flavor

LOG = logging.getLogger(__name__)


@dataclass
class PlacementQuery:
    resources: dict[str, int]
    required: list[str] = field(default_factory=list)   # 'TRAIT' or '!TRAIT'
    member_of: list[str] = field(default_factory=list)  # any of these aggregates

    def shape(self) -> tuple[Any, ...]:
        """What placement's answer depends on: equal shapes, equal answers."""
        return (tuple(sorted(self.resources.items())), tuple(self.required),
                tuple(self.member_of))

    def reusable(self) -> bool:
        """Whether placement's answer depends only on what is checked again
        after it: room on a provider (its claim) and a compute's disabled
        trait (ComputeFilter reads the service on every request). A trait or
        aggregate changed meanwhile would not be, so such answers are not
        kept for later requests."""
        return not self.member_of and set(self.required) <= _CHECKED_AGAIN


_CHECKED_AGAIN = frozenset({'!' + os_traits.COMPUTE_STATUS_DISABLED})


def resources_from_flavor(flavor: Flavor) -> dict[str, int]:
    """Placement resources of one instance; extra spec resources:RC=N overrides."""
    disk = (flavor.get('root_gb') or 0) + (flavor.get('ephemeral_gb') or 0) + \
        math.ceil((flavor.get('swap') or 0) / 1024)
    res = {'VCPU': flavor['vcpus'], 'MEMORY_MB': flavor['memory_mb'], 'DISK_GB': disk}
    for key, value in (flavor.get('extra_specs') or {}).items():
        if key.startswith('resources:'):
            try:
                res[key.split(':', 1)[1]] = int(value)
            except ValueError:
                LOG.warning('Ignoring bad extra spec %s=%s', key, value)
    return {rc: n for rc, n in res.items() if n > 0}


def traits_from(props: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(required, forbidden) from `trait:NAME=required|forbidden` keys."""
    required, forbidden = set(), set()
    for key, value in (props or {}).items():
        if not key.startswith('trait:'):
            continue
        name, value = key[len('trait:'):], str(value).strip().lower()
        if value == 'required':
            required.add(name)
        elif value == 'forbidden':
            forbidden.add(name)
        else:
            LOG.warning('Ignoring trait %s=%s: not required or forbidden', name, value)
    return required, forbidden


def build(spec: RequestSpec) -> PlacementQuery:
    query = PlacementQuery(resources=resources_from_flavor(spec['flavor']))
    if spec.get('is_bfv'):      # the root disk is a volume: no local DISK_GB for it
        disk = query.resources.get('DISK_GB', 0) - (spec['flavor'].get('root_gb') or 0)
        if disk > 0:
            query.resources['DISK_GB'] = disk
        else:
            query.resources.pop('DISK_GB', None)
    required, forbidden = traits_from(spec['flavor'].get('extra_specs') or {})
    image_props = (spec.get('image') or {}).get('properties') or {}
    image_req, image_forb = traits_from(image_props)
    required |= image_req
    forbidden |= image_forb
    forbidden.add(os_traits.COMPUTE_STATUS_DISABLED)
    if any(m.get('multiattach') for m in spec.get('block_device_mapping') or []):
        required.add(os_traits.COMPUTE_VOLUME_MULTI_ATTACH)
    # A trait both required and forbidden can match nothing: placement says 400.
    query.required = sorted(required) + sorted('!' + t for t in forbidden)
    az = spec.get('availability_zone')
    if az and CONF.scheduler.query_placement_for_availability_zone \
            and not spec.get('force_hosts') and not spec.get('force_nodes'):
        query.member_of = aggregates.zone_aggregate_uuids(az)
    return query
