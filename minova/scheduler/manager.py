"""Scheduler: pick hosts for a request and claim them in placement.

select_destinations asks placement for allocation candidates (hosts that
have room), filters and weighs them, then claims the best by writing the
allocation. Each instance of a multi-create is placed in the same pass, and
claims are accounted for at once so that a burst spreads over equal hosts.
"""
from __future__ import annotations

import logging
import math
import random
import threading
from typing import Any

import oslo_messaging as messaging

from minova import cells_v2, exception, placement_client, utils
from minova.conf import CONF
from minova.context import RequestContext
from minova.scheduler import filters, host_manager, weights

LOG = logging.getLogger(__name__)

NOT_ENOUGH = 'There are not enough hosts available.'


def resources_from_flavor(flavor: dict[str, Any]) -> dict[str, int]:
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


class SchedulerManager:
    target = messaging.Target(version='1.0')

    def __init__(self) -> None:
        self.placement = placement_client.PlacementClient()
        # One request at a time per scheduler: candidates are read after the
        # previous request's claims landed, so bursts spread exactly.
        self._lock = threading.Lock()

    def periodic_tasks(self) -> list[utils.Periodic]:
        interval = CONF.scheduler.discover_hosts_in_cells_interval
        if interval <= 0:
            return []
        return [utils.Periodic('discover_hosts', lambda: cells_v2.discover_hosts(), interval)]

    @messaging.expected_exceptions(exception.NoValidHost)
    def select_destinations(self, context: RequestContext, request_spec: dict[str, Any],
                            instance_uuids: list[str], return_alternates: bool = True
                            ) -> list[list[dict[str, Any]]]:
        with self._lock:
            return self._select(context, request_spec, instance_uuids, return_alternates)

    def _select(self, context: RequestContext, spec: dict[str, Any],
                instance_uuids: list[str], return_alternates: bool
                ) -> list[list[dict[str, Any]]]:
        resources = resources_from_flavor(spec['flavor'])
        try:
            areqs, summaries = self.placement.get_allocation_candidates(
                context, resources, CONF.scheduler.max_placement_results)
        except exception.PlacementAPIConnectFailure as e:
            raise exception.NoValidHost(reason=str(e)) from e
        hosts = host_manager.get_host_states(areqs, summaries)
        forced = set(spec.get('force_hosts') or [])
        forced_nodes = set(spec.get('force_nodes') or [])
        wanted = spec.get('requested_destination') or {}
        if forced or forced_nodes:
            # An admin's az:host[:node] bypasses the filters, as in Nova.
            hosts = [h for h in hosts if (not forced or h.host in forced)
                     and (not forced_nodes or h.nodename in forced_nodes)]
        else:
            hosts = [h for h in hosts if (not wanted.get('host') or h.host == wanted['host'])
                     and (not wanted.get('node') or h.nodename == wanted['node'])]
            hosts = filters.run(CONF.filter_scheduler.enabled_filters, hosts, spec)
        if not hosts:
            raise exception.NoValidHost(reason=NOT_ENOUGH)
        claimed: list[tuple[str, host_manager.HostState]] = []
        results: list[list[dict[str, Any]]] = []
        try:
            for uuid in instance_uuids:
                chosen = self._claim_one(context, spec, uuid, hosts, resources)
                if chosen is None:
                    raise exception.NoValidHost(reason=NOT_ENOUGH)
                claimed.append((uuid, chosen))
                chosen.consume(resources)
                alternates = []
                if return_alternates:
                    alternates = [h for h in weights.weigh(hosts)
                                  if h is not chosen and h.cell_uuid == chosen.cell_uuid
                                  and h.fits(resources)][:CONF.scheduler.max_attempts - 1]
                results.append([_selection(chosen)] + [_selection(h) for h in alternates])
        except Exception:
            for uuid, _host in claimed:
                self.placement.delete_allocation_for_instance(context, uuid)
            raise
        LOG.info('Scheduled %s to %s', instance_uuids, [r[0]['service_host'] for r in results])
        return results

    def _claim_one(self, context: RequestContext, spec: dict[str, Any], uuid: str,
                   hosts: list[host_manager.HostState], resources: dict[str, int]
                   ) -> host_manager.HostState | None:
        ranked = [h for h in weights.weigh(hosts) if h.fits(resources)]
        subset = CONF.filter_scheduler.host_subset_size
        if subset > 1 and ranked:
            head = ranked[:subset]
            random.shuffle(head)
            ranked = head + ranked[subset:]
        for host in ranked:
            areq = {'allocations': {host.uuid: {'resources': resources}}}
            if self.placement.claim_resources(context, uuid, areq, spec['project_id'],
                                              spec['user_id']):
                host.allocation_request = areq
                return host
            LOG.debug('Claim of %s on %s refused; trying the next host', uuid, host.host)
        return None


def _selection(host: host_manager.HostState) -> dict[str, Any]:
    return {'service_host': host.host, 'nodename': host.nodename,
            'cell_uuid': host.cell_uuid, 'compute_node_uuid': host.uuid,
            'allocation_request': host.allocation_request,
            'allocation_request_version': '1.28'}
