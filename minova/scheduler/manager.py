"""Scheduler: pick hosts for a request and claim them in placement.

select_destinations goes through named steps:

  candidates     placement's allocation candidates: the nodes that have room
                 (_candidates, with request_filter.build's query), shared by
                 equal requests while in flight and, for a while, after
                 (_read)
  host states    each candidate joined with its compute node and service,
                 kept in memory and refreshed from the rows written since,
                 made once per answer (host_manager.AnswerStates,
                 host_cache.py)
  filters        what placement does not know (filter_hosts, filters.py)
  placing        per instance: weigh, then claim the best host by writing its
                 allocation (_place_all, _place_one, _claim_one, weights.py)
  alternates     the next-best hosts of the chosen one's cell, for
                 reschedules (alternates_for)

Each instance of a multi-create is placed in the same pass, and claims are
accounted for at once so that a burst spreads over equal hosts.

Requests overlap: the scheduler's lock is held only to choose a host with
the claims every request of this scheduler has in flight (claims.py), not
while placement answers or claims. Requests with a server group still run
one at a time (their filters count the members placed before them).
"""
from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from typing import Any

import oslo_messaging as messaging

from minova import exception, utils
from minova.cells import lookup, mappings
from minova.cells import manage as cells_manage
from minova.clients import placement as placement_client
from minova.clients.placement import AllocationRequest
from minova.conf import CONF
from minova.context import RequestContext
from minova.db import instances, server_groups
from minova.db.build_requests import GroupRequest, RequestSpec
from minova.scheduler import claims, filters, host_cache, host_manager, request_filter, weights
from minova.scheduler.host_manager import HostState
from minova.scheduler.request_filter import resources_from_flavor  # noqa: F401 (re-export)
from minova.scheduler.rpcapi import HostList, Selection

LOG = logging.getLogger(__name__)

NOT_ENOUGH = 'There are not enough hosts available.'
KEPT_CHECK_SECONDS = 5.0


class _Flight:
    """One read of placement's candidates that other requests may join,
    while it is in flight and, for a query whose answer may be reused
    (PlacementQuery.reusable), for [scheduler] candidates_reuse_seconds
    after it came back."""

    def __init__(self, sent: int) -> None:
        self.sent = sent                 # the ledger's counter when it was sent
        self.answered = 0
        self.answer: host_manager.AnswerStates | None = None
        self.done = threading.Event()
        self.hold = 0                    # its hold on the ledger while kept
        self.expires = 0.0               # time.monotonic() when no longer used


class _ReadAgain(Exception):
    """An answer this request did not read itself will not do (no host in
    it, or hosts joined, left or were mapped since): it asks placement."""


class SchedulerManager:
    target = messaging.Target(version='1.0')

    def __init__(self) -> None:
        self.placement = placement_client.Client()
        # Guards the claims in flight and the choice of a host, not placement's
        # answer: requests overlap while placement computes candidates, and
        # each one chooses with what the others claimed (claims.py).
        self._lock = threading.Lock()
        self.claims = claims.Ledger()
        # Requests with a server group wait for each other, whole: a group's
        # members are placed one request at a time, as before.
        self._group_lock = threading.Lock()
        self.host_cache = host_cache.HostCache()
        # Reads of placement's candidates in flight, and the latest answers
        # kept for reuse, by the query's shape.
        self._flights: dict[tuple[Any, ...], _Flight] = {}
        self._recent: dict[tuple[Any, ...], _Flight] = {}

    def periodic_tasks(self) -> list[utils.Periodic]:
        # A kept answer of placement (0.8 MB at 1,000 hosts) is let go once
        # past its time even when no request comes to notice.
        tasks = [utils.Periodic('kept_answers', self._let_go, KEPT_CHECK_SECONDS)]
        interval = CONF.scheduler.discover_hosts_in_cells_interval
        if interval > 0:
            tasks.append(utils.Periodic('discover_hosts',
                                        lambda: cells_manage.discover_hosts(), interval))
        return tasks

    def _let_go(self) -> None:
        with self._lock:
            self._expire(time.monotonic())

    @messaging.expected_exceptions(exception.NoValidHost)
    def select_destinations(self, context: RequestContext, request_spec: RequestSpec,
                            instance_uuids: list[str], return_alternates: bool = True
                            ) -> list[HostList]:
        if server_group_ref(request_spec):
            with self._group_lock:
                return self._select(context, request_spec, instance_uuids,
                                    return_alternates)
        return self._select(context, request_spec, instance_uuids, return_alternates)

    def _select(self, context: RequestContext, spec: RequestSpec,
                instance_uuids: list[str], return_alternates: bool) -> list[HostList]:
        """Candidates, host states, filters; then each instance is placed.
        A request that found no host in an answer it shared asks placement
        itself before it says so: room freed since, or a host added, is in
        placement's new answer. So does one whose shared answer predates a
        change of the cell's hosts (a host added, removed or mapped): its
        alternates, too, must come from every host."""
        try:
            return self._select_once(context, spec, instance_uuids, return_alternates,
                                     fresh=False)
        except _ReadAgain:
            LOG.debug('Shared answer unfit for %s; asking placement', instance_uuids)
            return self._select_once(context, spec, instance_uuids, return_alternates,
                                     fresh=True)

    def _select_once(self, context: RequestContext, spec: RequestSpec,
                     instance_uuids: list[str], return_alternates: bool, fresh: bool
                     ) -> list[HostList]:
        query = request_filter.build(spec)
        with self._lock:
            key, read = self.claims.begin_read()
        try:
            answer, own = self._read(context, query, read, fresh)
            hosts = answer.states(self.host_cache)
            if answer.stale and not own:
                self._drop(answer)
                raise _ReadAgain()
            if not hosts:
                LOG.info('No host for %s: placement offered %d candidates for %s, and '
                         'none is a mapped compute node of an answering cell',
                         instance_uuids, answer.offered, query.resources)
            spec = spec.copy()
            group = server_group_info(spec, instance_uuids)
            if group is not None:
                spec['instance_group'] = group
            hosts, enabled = filter_hosts(hosts, spec)
            try:
                if not hosts:
                    raise exception.NoValidHost(reason=NOT_ENOUGH)
                results = self._place_all(context, spec, group, instance_uuids, hosts,
                                          enabled, query.resources, return_alternates, read)
            except exception.NoValidHost:
                if own:
                    raise
                raise _ReadAgain() from None
        finally:
            with self._lock:
                self.claims.end_read(key)
        LOG.info('Scheduled %s to %s', instance_uuids, [r[0]['service_host'] for r in results])
        return results

    def _read(self, context: RequestContext, query: request_filter.PlacementQuery,
              read: claims.Read, fresh: bool) -> tuple[host_manager.AnswerStates, bool]:
        """Placement's candidates for `query`, and whether this request read
        them itself. Requests that ask the same share one answer: the read in
        flight (a burst of equal boots asks placement once per round trip,
        not once per boot) and, for a reusable query, the latest answer for
        [scheduler] candidates_reuse_seconds. `fresh`: not an answer read
        before this request began.

        A request that shares an answer takes that read's send and answer as
        its own in the ledger (claims.py), so the claims made meanwhile count
        against the answer for it exactly as for the request that sent it:
        a claim that landed after the send is taken off as in flight, one
        chosen after the answer as not in it (the ledger keeps them while the
        answer is kept). Placement's claim still decides."""
        shape = query.shape()
        with self._lock:
            self._expire(time.monotonic())
            shared = None if fresh else (self._flights.get(shape) or self._recent.get(shape))
            # Its own read is one others may join, unless one is in flight.
            mine = _Flight(read.sent) if shared is None and shape not in self._flights \
                else None
            if mine is not None:
                self._flights[shape] = mine
            elif shared is not None:
                read.sent = shared.sent
        if shared is not None:
            answer = self._join(shared, read)
            if answer is not None:
                return answer, False
            # The read it joined failed: its own, as if it had not joined
            # (its ledger read stays the older one: more is counted as in
            # flight, never less).
        try:
            answer = host_manager.AnswerStates(*self._candidates(context, query))
            if mine is not None:
                mine.answer = answer
        finally:
            with self._lock:
                self.claims.answered(read)
                if mine is not None:
                    mine.answered = read.answered
                    del self._flights[shape]
                    if mine.answer is not None and query.reusable():
                        self._keep(shape, mine)
            if mine is not None:
                mine.done.set()
        return answer, True

    def _keep(self, shape: tuple[Any, ...], flight: _Flight) -> None:
        """Keep an answer for later requests of its shape (under the lock)."""
        seconds = CONF.scheduler.candidates_reuse_seconds
        if seconds <= 0 or 'ComputeFilter' not in {
                f.rsplit('.', 1)[-1] for f in CONF.filter_scheduler.enabled_filters}:
            return      # a disabled compute's trait is then placement's alone to check
        self._release(shape)
        flight.hold = self.claims.hold(flight.sent)
        flight.expires = time.monotonic() + seconds
        self._recent[shape] = flight

    def _drop(self, answer: host_manager.AnswerStates) -> None:
        """No later request uses this answer."""
        with self._lock:
            for shape in [s for s, f in self._recent.items() if f.answer is answer]:
                self._release(shape)

    def _expire(self, now: float) -> None:
        """Let go of the kept answers past their time (under the lock)."""
        for shape in [s for s, f in self._recent.items() if f.expires <= now]:
            self._release(shape)

    def _release(self, shape: tuple[Any, ...]) -> None:
        """Forget the answer kept for `shape`, if any, and the ledger's hold
        for it (under the lock)."""
        kept = self._recent.pop(shape, None)
        if kept is not None:
            self.claims.end_read(kept.hold)

    def _join(self, flight: _Flight, read: claims.Read) -> host_manager.AnswerStates | None:
        """The answer of a read in flight, as this request's read (None if
        that read failed)."""
        flight.done.wait()
        if flight.answer is None:
            return None
        read.answered = flight.answered
        return flight.answer

    def _candidates(self, context: RequestContext, query: request_filter.PlacementQuery
                    ) -> tuple[list[AllocationRequest], dict[str, Any]]:
        """Placement's allocation candidates: (allocation requests, provider summaries)."""
        try:
            return self.placement.get_allocation_candidates(
                context, query.resources, CONF.scheduler.max_placement_results,
                required=query.required or None, member_of=query.member_of or None)
        except exception.PlacementAPIConnectFailure as e:
            raise exception.NoValidHost(reason=str(e)) from e

    def _place_all(self, context: RequestContext, spec: RequestSpec,
                   group: GroupRequest | None, instance_uuids: list[str],
                   hosts: list[HostState], enabled: list[str], resources: dict[str, int],
                   return_alternates: bool, read: claims.Read) -> list[HostList]:
        """A host list per instance, each instance claimed in turn (and
        counted in its server group); on any failure every claim made here
        is removed."""
        claimed: list[tuple[str, int]] = []
        results: list[HostList] = []
        by_uuid = {h.uuid: h for h in hosts}
        own: dict[str, HostState] = {}      # the states this request adjusts, copied
        try:
            for uuid in instance_uuids:
                # Each claim moves the group onto a host: its filters run again.
                fit = hosts if group is None else filters.run(
                    enabled, hosts, spec, only=filters.PER_INSTANCE)
                chosen, ranked, key, areq = self._place_one(
                    context, spec, uuid, fit, by_uuid, own, resources, read)
                claimed.append((uuid, key))
                self.host_cache.consume(chosen.uuid)
                if group is not None:
                    group['hosts'][chosen.host] = group['hosts'].get(chosen.host, 0) + 1
                alternates = alternates_for(chosen, ranked, resources) \
                    if return_alternates else []
                results.append([_selection(chosen, areq)] +
                               [_selection(h) for h in alternates])
        except Exception:
            for uuid, key in claimed:
                self.placement.delete_allocation_for_instance(context, uuid)
                with self._lock:
                    self.claims.forget(key)
            raise
        return results

    def _place_one(self, context: RequestContext, spec: RequestSpec, uuid: str,
                   hosts: list[HostState], by_uuid: dict[str, HostState],
                   own: dict[str, HostState], resources: dict[str, int], read: claims.Read
                   ) -> tuple[HostState, list[HostState], int, AllocationRequest]:
        """Weigh the hosts for one instance and claim the best that takes it:
        (the claimed host, the hosts ranked best first, its claim in the
        ledger, the allocation claimed). NoValidHost if none does.

        The ranking and each choice are made under the lock, with what every
        request of this scheduler claimed meanwhile; the claim itself is
        sent without it, and a refused one moves on to the next host."""
        with self._lock:
            ranked = self._rank(hosts, by_uuid, own, spec, resources, read)
            ranked = _subset_first(ranked)
            key = self.claims.choose(ranked[0].uuid, resources) if ranked else 0
        for i, host in enumerate(ranked):
            if i:
                with self._lock:
                    key = self.claims.choose(host.uuid, resources)
            areq: AllocationRequest = {'allocations': {host.uuid: {'resources': resources}}}
            try:
                ok = self.placement.claim_resources(
                    context, uuid, areq, spec['project_id'], spec['user_id'],
                    keep_existing=bool(spec.get('keep_allocations')))
            except Exception:
                with self._lock:
                    self.claims.forget(key)
                raise
            with self._lock:
                if ok:
                    self.claims.landed(key)
                else:
                    self.claims.forget(key)
            if ok:
                return host, ranked, key, areq
            LOG.debug('Claim of %s on %s refused; trying the next host', uuid, host.host)
        raise exception.NoValidHost(reason=NOT_ENOUGH)

    def _rank(self, hosts: list[HostState], by_uuid: dict[str, HostState],
              own: dict[str, HostState], spec: RequestSpec, resources: dict[str, int],
              read: claims.Read) -> list[HostState]:
        """The hosts that may take the instance, best first, each as its
        summary less the claims the summary may not include. A host that
        fits only if the claims in flight during the read are already in it
        comes after every other (placement's claim tells). The states of
        `hosts` are shared: those adjusted here are the request's copies
        (`own`)."""
        unseen = self.claims.unseen(read)
        lenient: set[str] = set()
        for node in read.touched | unseen.count.keys():
            host = own.get(node)
            if host is None:
                shared = by_uuid.get(node)
                if shared is None:
                    continue
                host = own[node] = shared.copy()
            sure = unseen.sure.get(node, {})
            host.take(sure, 0)
            fits_sure = host.fits(resources)
            taken = dict(sure)
            for rc, n in unseen.maybe.get(node, {}).items():
                taken[rc] = taken.get(rc, 0) + n
            host.take(taken, unseen.count.get(node, 0))
            if fits_sure and not host.fits(resources):
                lenient.add(node)
        read.touched = set(unseen.count)
        if own:
            hosts = [own.get(h.uuid, h) for h in hosts]
        weighed = weights.weigh(hosts, spec)
        # HostState.fits inline: a method call per host was a tenth of _rank.
        vcpus, ram, disk = (resources.get('VCPU', 0), resources.get('MEMORY_MB', 0),
                            resources.get('DISK_GB', 0))
        fit = [h for h in weighed if h.free_vcpus >= vcpus and h.free_ram_mb >= ram
               and h.free_disk_gb >= disk]
        return fit + [h for h in weighed if h.uuid in lenient] if lenient else fit


def _subset_first(ranked: list[HostState]) -> list[HostState]:
    """host_subset_size > 1: the first host tried is any of the best N."""
    subset = CONF.filter_scheduler.host_subset_size
    if subset > 1 and ranked:
        head = ranked[:subset]
        random.shuffle(head)
        ranked = head + ranked[subset:]
    return ranked


def server_group_ref(spec: RequestSpec) -> str | None:
    ref = spec.get('instance_group') or {}
    uuid = ref.get('uuid') if isinstance(ref, dict) else None
    return str(uuid) if uuid else None


def filter_hosts(hosts: list[HostState], spec: RequestSpec
                 ) -> tuple[list[HostState], list[str]]:
    """The hosts that may take the request, and the filters that ran (which
    run again per instance for a server group). An admin's forced host or
    node (az:host[:node]) bypasses the filters, as in Nova; a requested
    destination (2.74) only narrows the hosts the filters see."""
    ignored = set(spec.get('ignore_hosts') or [])   # a move's source host
    if ignored:
        hosts = [h for h in hosts if h.host not in ignored]
    forced = set(spec.get('force_hosts') or [])
    forced_nodes = set(spec.get('force_nodes') or [])
    if forced or forced_nodes:
        return [h for h in hosts if (not forced or h.host in forced)
                and (not forced_nodes or h.nodename in forced_nodes)], []
    wanted = spec.get('requested_destination')
    host, node = (wanted.get('host'), wanted.get('node')) if wanted else (None, None)
    cell = wanted.get('cell_uuid') if wanted else None
    enabled: list[str] = CONF.filter_scheduler.enabled_filters
    hosts = [h for h in hosts if (not host or h.host == host)
             and (not node or h.nodename == node) and (not cell or h.cell_uuid == cell)]
    return filters.run(enabled, hosts, spec), enabled


def alternates_for(chosen: HostState, ranked: list[HostState], resources: dict[str, int]
                   ) -> list[HostState]:
    """Where a failed build of this instance may be retried: the next-best
    hosts of the chosen one's cell that still fit, up to max_attempts in all."""
    return list(itertools.islice(
        (h for h in ranked if h.uuid != chosen.uuid and h.cell_uuid == chosen.cell_uuid
         and h.fits(resources)), max(0, CONF.scheduler.max_attempts - 1)))


def server_group_info(spec: RequestSpec, scheduling: list[str]) -> GroupRequest | None:
    """The request's server group with `hosts`: {host: members there}.

    Read fresh for every request, so members placed by an earlier request
    (or deleted since) count as they are now. Members being scheduled now
    are left out: they have no host yet.
    """
    uuid = server_group_ref(spec)
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


def _selection(host: HostState, claimed: AllocationRequest | None = None) -> Selection:
    """Where to build: the host, and the allocation claimed on it (for an
    alternate, the one placement offered it to claim on a reschedule)."""
    return {'service_host': host.host, 'nodename': host.nodename,
            'cell_uuid': host.cell_uuid, 'compute_node_uuid': host.uuid,
            'allocation_request': claimed or host.allocation_request,
            'allocation_request_version': '1.28'}
