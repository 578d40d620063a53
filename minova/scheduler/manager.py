"""Scheduler: pick hosts for a request and claim them in placement.

select_destinations asks placement for allocation candidates (hosts that
have room), filters and weighs them, then claims the best by writing the
allocation. Each instance of a multi-create is placed in the same pass, and
claims are accounted for at once so that a burst spreads over equal hosts.
"""
from __future__ import annotations

import logging
import random
import threading

import oslo_messaging as messaging

from minova import exception, utils
from minova.cells import lookup, mappings
from minova.cells import manage as cells_manage
from minova.clients import placement as placement_client
from minova.conf import CONF
from minova.context import RequestContext
from minova.db import instances, server_groups
from minova.db.build_requests import GroupRequest, RequestSpec
from minova.scheduler import filters, host_manager, request_filter, weights
from minova.scheduler.request_filter import resources_from_flavor  # noqa: F401 (re-export)
from minova.scheduler.rpcapi import HostList, Selection

LOG = logging.getLogger(__name__)

NOT_ENOUGH = 'There are not enough hosts available.'


class SchedulerManager:
    target = messaging.Target(version='1.0')

    def __init__(self) -> None:
        self.placement = placement_client.Client()
        # One request at a time per scheduler: candidates are read after the
        # previous request's claims landed, so bursts spread exactly.
        self._lock = threading.Lock()

    def periodic_tasks(self) -> list[utils.Periodic]:
        interval = CONF.scheduler.discover_hosts_in_cells_interval
        if interval <= 0:
            return []
        return [utils.Periodic('discover_hosts', lambda: cells_manage.discover_hosts(), interval)]

    @messaging.expected_exceptions(exception.NoValidHost)
    def select_destinations(self, context: RequestContext, request_spec: RequestSpec,
                            instance_uuids: list[str], return_alternates: bool = True
                            ) -> list[HostList]:
        with self._lock:
            return self._select(context, request_spec, instance_uuids, return_alternates)

    def _select(self, context: RequestContext, spec: RequestSpec,
                instance_uuids: list[str], return_alternates: bool) -> list[HostList]:
        query = request_filter.build(spec)
        resources = query.resources
        try:
            areqs, summaries = self.placement.get_allocation_candidates(
                context, resources, CONF.scheduler.max_placement_results,
                required=query.required or None, member_of=query.member_of or None)
        except exception.PlacementAPIConnectFailure as e:
            raise exception.NoValidHost(reason=str(e)) from e
        hosts = host_manager.get_host_states(areqs, summaries)
        if not hosts:
            LOG.info('No host for %s: placement offered %d candidates for %s, and none is '
                     'a mapped compute node of an answering cell', instance_uuids, len(areqs),
                     resources)
        spec = spec.copy()
        group = server_group_info(spec, instance_uuids)
        if group is not None:
            spec['instance_group'] = group
        forced = set(spec.get('force_hosts') or [])
        forced_nodes = set(spec.get('force_nodes') or [])
        wanted = spec.get('requested_destination')
        host, node = (wanted.get('host'), wanted.get('node')) if wanted else (None, None)
        enabled = CONF.filter_scheduler.enabled_filters
        if forced or forced_nodes:
            # An admin's az:host[:node] bypasses the filters, as in Nova.
            hosts = [h for h in hosts if (not forced or h.host in forced)
                     and (not forced_nodes or h.nodename in forced_nodes)]
            enabled = []
        else:
            hosts = [h for h in hosts if (not host or h.host == host)
                     and (not node or h.nodename == node)]
            hosts = filters.run(enabled, hosts, spec)
        if not hosts:
            raise exception.NoValidHost(reason=NOT_ENOUGH)
        claimed: list[tuple[str, host_manager.HostState]] = []
        results: list[HostList] = []
        try:
            for uuid in instance_uuids:
                # Each claim moves the group onto a host: its filters run again.
                fit = hosts if group is None else filters.run(enabled, hosts, spec,
                                                              only=filters.PER_INSTANCE)
                ranked = [h for h in weights.weigh(fit, spec) if h.fits(resources)]
                chosen = self._claim_one(context, spec, uuid, ranked, resources)
                if chosen is None:
                    raise exception.NoValidHost(reason=NOT_ENOUGH)
                claimed.append((uuid, chosen))
                chosen.consume(resources)
                if group is not None:
                    group['hosts'][chosen.host] = group['hosts'].get(chosen.host, 0) + 1
                alternates = []
                if return_alternates:
                    alternates = [h for h in ranked
                                  if h is not chosen and h.cell_uuid == chosen.cell_uuid
                                  and h.fits(resources)][:CONF.scheduler.max_attempts - 1]
                results.append([_selection(chosen)] + [_selection(h) for h in alternates])
        except Exception:
            for uuid, _host in claimed:
                self.placement.delete_allocation_for_instance(context, uuid)
            raise
        LOG.info('Scheduled %s to %s', instance_uuids, [r[0]['service_host'] for r in results])
        return results

    def _claim_one(self, context: RequestContext, spec: RequestSpec, uuid: str,
                   ranked: list[host_manager.HostState], resources: dict[str, int]
                   ) -> host_manager.HostState | None:
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


def server_group_info(spec: RequestSpec, scheduling: list[str]) -> GroupRequest | None:
    """The request's server group with `hosts`: {host: members there}.

    Read fresh for every request, so members placed by an earlier request
    (or deleted since) count as they are now. Members being scheduled now
    are left out: they have no host yet.
    """
    ref = spec.get('instance_group') or {}
    uuid = ref.get('uuid') if isinstance(ref, dict) else None
    if not uuid:
        return None
    try:
        group = server_groups.get(uuid)
    except server_groups.InstanceGroupNotFound:
        LOG.warning('Server group %s is gone; scheduling without it', uuid)
        return None
    members = [m for m in group['members'] if m not in set(scheduling)]
    hosts: dict[str, int] = {}
    by_cell: dict[int, list[str]] = {}
    for member in members:
        try:
            mapping = mappings.instance_mapping_get(member)
        except exception.NotFound:
            continue
        if mapping['cell_id'] is not None:
            by_cell.setdefault(mapping['cell_id'], []).append(member)
    for cell in lookup.all_cells(include_cell0=False):
        uuids = by_cell.get(cell['id'])
        if not uuids:
            continue
        for inst in instances.get_all(cell['database_connection'], {'uuid': uuids},
                                      columns=['uuid', 'host']):
            host = inst.get('host')
            if host:
                hosts[host] = hosts.get(host, 0) + 1
    return {'uuid': uuid, 'policy': group['policy'], 'rules': group['rules'],
            'hosts': hosts}


def _selection(host: host_manager.HostState) -> Selection:
    return {'service_host': host.host, 'nodename': host.nodename,
            'cell_uuid': host.cell_uuid, 'compute_node_uuid': host.uuid,
            'allocation_request': host.allocation_request,
            'allocation_request_version': '1.28'}
