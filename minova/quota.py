"""Quota limits and usage, counted the way Nova counts them (no reservations).

Limits are the `[quota]` defaults overridden per project by the API DB
`quotas` table. Usage of instances, cores and ram is counted live across all
cells plus the build requests not yet in a cell; key pairs are counted per
user. -1 means unlimited.
"""
from __future__ import annotations

import logging

from minova import exception
from minova.cells import scatter
from minova.cells.mappings import CellMapping
from minova.conf import CONF
from minova.db import build_requests
from minova.db import instances as instances_db
from minova.db import keypairs as keypairs_db
from minova.db import quotas as quotas_db

LOG = logging.getLogger(__name__)

RESOURCES = ('instances', 'cores', 'ram', 'key_pairs', 'metadata_items', 'server_groups',
             'server_group_members')


DEFAULT_CLASS = 'default'


def get_defaults() -> dict[str, int]:
    """The [quota] defaults, overridden by the "default" quota class (as Nova's)."""
    limits = {r: getattr(CONF.quota, r) for r in RESOURCES}
    for resource, value in quotas_db.get_class(DEFAULT_CLASS).items():
        if resource in limits:
            limits[resource] = value
    return limits


def get_limits(project_id: str) -> dict[str, int]:
    limits = get_defaults()
    for resource, value in quotas_db.get_all_by_project(project_id).items():
        if resource in limits:
            limits[resource] = value
    return limits


def _server_usage(project_id: str) -> dict[str, int]:
    """instances/cores/ram of the project: all cells plus build requests.

    Build requests are read first: conductor writes a server into its cell
    before it drops the build request, so read in this order a server is
    counted once or (leaving out those already counted) never twice, and a
    server on its way into a cell is never missed.
    """
    usage, pending = build_requests.count_by_project(project_id)

    def count(cell: CellMapping) -> dict[str, int]:
        return instances_db.count_by_project(cell['database_connection'], project_id,
                                             exclude=pending)

    for result in scatter.for_each_cell(count).values():
        if isinstance(result, scatter.CellFailed):
            LOG.warning('Quota usage of %s ignores %r', project_id, result)
            continue
        for key in ('instances', 'cores', 'ram'):
            usage[key] += result.get(key, 0)
    return usage


def get_usage(project_id: str, user_id: str | None = None) -> dict[str, int]:
    """Usage of every resource of the project (instances/cores/ram over all
    cells and build requests); key_pairs is counted for `user_id` when given."""
    usage = _server_usage(project_id)
    usage['key_pairs'] = keypairs_db.count(user_id) if user_id else 0
    from minova.db import server_groups
    usage['server_groups'] = server_groups.count_by_project(project_id)
    usage['server_group_members'] = 0  # counted per group, when a member is added
    usage['metadata_items'] = 0
    return usage


def enforce_instances(project_id: str, count: int, vcpus: int, memory_mb: int,
                      max_count: int | None = None) -> int:
    """How many servers of this flavor (vcpus, memory_mb each) may be built now.

    Returns a number between `count` and `max_count` (default: count) that
    fits within the instances, cores and ram limits. Raises TooManyInstances
    (403) with Nova's message when not even `count` fits.
    """
    max_count = max(count, max_count or count)
    limits = get_limits(project_id)
    per_instance = {'instances': 1, 'cores': vcpus or 0, 'ram': memory_mb or 0}
    if all(limits[r] < 0 or each == 0 for r, each in per_instance.items()):
        return max_count  # nothing limited: no need to count across the cells
    usage = _server_usage(project_id)
    allowed = max_count
    headroom: dict[str, int] = {}
    for resource, each in per_instance.items():
        limit = limits[resource]
        if limit < 0 or each == 0:
            continue
        headroom[resource] = limit - usage[resource]
        allowed = min(allowed, max(headroom[resource], 0) // each)
    if allowed >= count:
        return allowed
    overs = sorted(r for r, each in per_instance.items()
                   if r in headroom and headroom[r] < each * count)
    requested = str(count) if count == max_count else f'{count}-{max_count}'
    req = {'instances': requested, 'cores': str(per_instance['cores'] * count),
           'ram': str(per_instance['ram'] * count)}
    raise exception.TooManyInstances(
        overs=', '.join(overs), req=', '.join(req[r] for r in overs),
        used=', '.join(str(usage[r]) for r in overs),
        allowed=', '.join(str(limits[r]) for r in overs))


def enforce_resize(project_id: str, cores: int, ram: int) -> None:
    """Room for a resize's growth (cores, ram: new minus old, counted only
    when positive), as Nova checks it; TooManyInstances (403) otherwise."""
    delta = {'cores': max(cores, 0), 'ram': max(ram, 0)}
    limits = get_limits(project_id)
    if all(limits[r] < 0 or n == 0 for r, n in delta.items()):
        return
    usage = _server_usage(project_id)
    overs = sorted(r for r, n in delta.items()
                   if n and limits[r] >= 0 and usage[r] + n > limits[r])
    if overs:
        raise exception.TooManyInstances(
            overs=', '.join(overs), req=', '.join(str(delta[r]) for r in overs),
            used=', '.join(str(usage[r]) for r in overs),
            allowed=', '.join(str(limits[r]) for r in overs))


def recheck_instances(project_id: str, count: int, vcpus: int, memory_mb: int) -> None:
    """After a request's `count` servers were recorded: raise TooManyInstances
    if the project is now over a limit (a concurrent request got in too).

    As Nova's [quota] recheck_quota: the caller undoes its servers. Of two
    racing requests at least the later one sees the other, so usage can
    never end over a limit; near one, both may be refused.
    """
    if not CONF.quota.recheck_quota:
        return
    limits = get_limits(project_id)
    per_instance = {'instances': 1, 'cores': vcpus or 0, 'ram': memory_mb or 0}
    if all(limits[r] < 0 or each == 0 for r, each in per_instance.items()):
        return
    usage = _server_usage(project_id)
    overs = sorted(r for r, each in per_instance.items()
                   if limits[r] >= 0 and each and usage[r] > limits[r])
    if overs:
        LOG.info('Project %s went over quota (%s) with a concurrent request; '
                 'refusing this one', project_id, ', '.join(overs))
        raise exception.QuotaRecheckFailed(
            overs=', '.join(overs), req=', '.join(str(per_instance[r] * count) for r in overs),
            used=', '.join(str(usage[r] - per_instance[r] * count) for r in overs),
            allowed=', '.join(str(limits[r]) for r in overs))


def enforce_metadata_items(project_id: str, count: int) -> None:
    """A server's metadata within the project's metadata_items limit; else
    MetadataLimitExceeded (403) with Nova's message."""
    limit = get_limits(project_id)['metadata_items']
    if limit >= 0 and count > limit:
        raise exception.MetadataLimitExceeded(allowed=limit)


def enforce_key_pairs(user_id: str, count: int = 1) -> None:
    limit = get_defaults()['key_pairs']
    if limit >= 0 and keypairs_db.count(user_id) + count > limit:
        raise exception.Forbidden('Quota exceeded, too many key pairs.')
