"""The scheduler's memory of each cell's compute nodes and their services.

Reading every candidate's node and service row for every request grew with
the cell: at 1,000 hosts it was a quarter of select_destinations. A
scheduler keeps them in memory instead, per cell, and on each request reads
only the rows written since its newest copy (compute_nodes.
changed_for_scheduling: heartbeats and usage flushes of the last moments).

Every writer of these rows stamps updated_at (or deleted_at). Rows are
re-read from a little before the newest stamp seen (OVERLAP), so a write
whose stamp was taken just before a later one's commit is not missed, and
the whole cell is re-read every FULL_SECONDS, and when placement offers a
node the copy does not know, so nothing stays wrong for long.

The copy also counts the instances this scheduler just placed on a node
(consume), as Nova's host manager does, until the node's row is written again
(a row read again within OVERLAP with the same stamps is not a new write).

Each node also holds the host state host_manager made of it once (its
template: all that changes only with the node's row, its host's aggregates
and its host mapping), so that a request does not make 1,000 host states
from scratch. A new copy of the node has none yet, and every template is of
an older generation once the aggregates or host mappings the scheduler reads
differ from those it was made with.

The cache also logs which nodes changed, in order (a row written, a node
gone, an instance placed), and counts its whole-cell reads (its era): the
host states made of one placement answer (host_manager.AnswerStates) are
brought up to date from the log, node by node, rather than made again.
"""
from __future__ import annotations

import datetime
import functools
import json
import threading
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from minova import utils
from minova.db import aggregates, compute_nodes

OVERLAP = datetime.timedelta(seconds=2)
FULL_SECONDS = 60.0
MISS_FULL_SECONDS = 1.0     # at most one whole-cell read a second for unknown nodes
LOG_KEPT = 4096             # changes logged before the older half is let go


@dataclass(slots=True)
class Node:
    """What the filters and weighers read of a compute node and its service."""
    uuid: str
    host: str
    nodename: str
    num_instances: int
    hypervisor_type: str
    cpu_arch: str
    service: dict[str, Any] | None   # with 'seen': its last heartbeat as a datetime
    # The rows' stamps, as changed_for_scheduling's 'version' says: not the
    # latest alone, which a write stamped earlier but committed later (the
    # race OVERLAP is for) would leave unchanged.
    version: tuple[Any, ...] | None = None
    # (the generation of what it was made with, host_manager's host state of
    # this node or None when it is not to be offered), set as one so that
    # racing requests cannot pair one's state with another's generation.
    template: tuple[int, Any] = (-1, None)


@functools.lru_cache(maxsize=256)
def _arch(cpu_info: str | None) -> str:
    """The arch in a node's cpu_info (hosts of a cell mostly share one text)."""
    try:
        return str(json.loads(cpu_info or '{}').get('arch') or '')
    except (ValueError, AttributeError):
        return ''


def _node(row: dict[str, Any]) -> Node:
    svc = row['service']
    if svc is not None:
        seen = svc.get('last_seen_up') or svc.get('updated_at') or svc.get('created_at')
        try:
            svc['seen'] = utils.parse_time(seen)
        except ValueError:
            svc['seen'] = None
    return Node(uuid=row['uuid'], host=row['host'], nodename=row['hypervisor_hostname'],
                num_instances=row.get('running_vms') or 0,
                hypervisor_type=row.get('hypervisor_type') or '',
                cpu_arch=_arch(row.get('cpu_info')), service=svc,
                version=row.get('version'))


def _known(nodes: dict[str, Node], uuid: str, version: tuple[Any, ...] | None) -> bool:
    """Whether this row is one the copy has already (read again within
    OVERLAP but not written since): it stays, with what it holds (its
    template, the instances placed meanwhile)."""
    node = nodes.get(uuid)
    return node is not None and node.version is not None and node.version == version


class _Cell:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.hosts: set[str] = set()    # every host of .nodes
        self.newest: datetime.datetime | None = None
        self.full_at = 0.0
        self.lock = threading.Lock()


class HostCache:
    """Per cell database: {node uuid: Node}, kept current (see module doc)."""

    def __init__(self) -> None:
        self._cells: dict[str, _Cell] = {}
        self._lock = threading.Lock()
        # What the templates were made with: (zones, aggregate metadata, host mappings).
        self._context: tuple[Any, Any, Any] | None = None
        self._generation = 0
        # Node uuids in the order they changed; _log[0] is change number _base.
        self._log: list[str] = []
        self._base = 0
        self._era = 0
        # Bumped whenever a node joins or leaves a cell: an answer of
        # placement read before may lack a host (AnswerStates.stale).
        self.members = 0
        self._zones: dict[str, str] | None = None
        self._metadata: dict[str, dict[str, set[str]]] = {}

    def _cell(self, url: str) -> _Cell:
        with self._lock:
            return self._cells.setdefault(url, _Cell())

    def nodes(self, url: str, wanted: AbstractSet[str] | None = None) -> dict[str, Node]:
        """The cell's nodes, brought up to date; re-read whole when due or
        when one of `wanted` is not among them (it may be in another cell)."""
        cell = self._cell(url)
        with cell.lock:
            now = time.monotonic()
            newest = cell.newest
            full = newest is None or now - cell.full_at > FULL_SECONDS
            if newest is not None and not full:
                changed, joined = self._apply(cell, compute_nodes.changed_for_scheduling(
                    url, newest - OVERLAP, functools.partial(_known, cell.nodes)))
                if changed:
                    self._logged(changed, joined)
                if wanted and not wanted <= cell.nodes.keys() \
                        and now - cell.full_at > MISS_FULL_SECONDS:
                    full = True
            if full:
                rows = compute_nodes.changed_for_scheduling(url, None)
                before = set(cell.nodes)
                cell.nodes = {}
                cell.hosts = set()
                cell.newest = None
                cell.full_at = now
                self._apply(cell, rows)
                with self._lock:
                    self._era += 1      # every node is a new one
                    if cell.nodes.keys() != before:
                        self.members += 1
                if cell.newest is None:     # an empty cell: nothing to start from
                    cell.newest = datetime.datetime(1970, 1, 1)
            return cell.nodes

    @staticmethod
    def _apply(cell: _Cell, rows: list[dict[str, Any]]) -> tuple[list[str], bool]:
        """The rows into the cell's nodes: (the uuids of the nodes changed,
        whether a node joined or left)."""
        # A writer whose clock runs ahead must not make later rows look old.
        cap = utils.utcnow()
        changed = []
        joined = False
        for row in rows:
            if row['deleted']:
                if cell.nodes.pop(row['uuid'], None) is not None:
                    changed.append(row['uuid'])
                    joined = True
                    # A host left behind unmapped would have every request
                    # read the host mappings again (host_manager).
                    cell.hosts = {n.host for n in cell.nodes.values()}
            elif not _known(cell.nodes, row['uuid'], row.get('version')):
                joined = joined or row['uuid'] not in cell.nodes
                node = cell.nodes[row['uuid']] = _node(row)
                cell.hosts.add(node.host)
                changed.append(node.uuid)
            stamp = row['stamp'] if row['stamp'] is None else min(row['stamp'], cap)
            if stamp is not None and (cell.newest is None or stamp > cell.newest):
                cell.newest = stamp
        return changed, joined

    def _logged(self, uuids: list[str], joined: bool = False) -> None:
        with self._lock:
            self.members += joined
            self._log.extend(uuids)
            if len(self._log) > LOG_KEPT:
                drop = len(self._log) // 2
                del self._log[:drop]
                self._base += drop

    def changes(self, since: int) -> tuple[int, int, list[str] | None]:
        """(the era, the number of changes so far, the uuids changed since
        change number `since`, or None when the log no longer holds them)."""
        with self._lock:
            end = self._base + len(self._log)
            if since < self._base:
                return self._era, end, None
            return self._era, end, self._log[since - self._base:]

    def consume(self, uuid: str) -> None:
        """One more instance on this node, until its row says otherwise."""
        with self._lock:
            cells = list(self._cells.values())
        for cell in cells:
            with cell.lock:
                node = cell.nodes.get(uuid)
                if node is not None:
                    node.num_instances += 1
                    self._logged([uuid])
                    return

    def hosts(self, url: str) -> set[str]:
        return self._cell(url).hosts

    def host_metadata(self, zones: dict[str, str]) -> dict[str, dict[str, set[str]]]:
        """Each host's aggregate metadata, read again whenever the zones are:
        aggregates.host_zones() answers a new map after every aggregate
        change this process makes and at least every ZONES_TTL seconds, so
        metadata changes are seen as soon as availability zones are."""
        with self._lock:
            if zones is self._zones:
                return self._metadata
        metadata = aggregates.host_metadata()
        with self._lock:
            self._zones, self._metadata = zones, metadata
        return metadata

    def generation(self, context: tuple[Any, Any, Any]) -> int:
        """The generation of templates made with these zones, aggregate
        metadata and host mappings: a new one when they differ from the
        last ones given, so that every template made before is made again."""
        with self._lock:
            old = self._context
            if old is None or not all(a is b or a == b for a, b in
                                      zip(old, context, strict=True)):
                self._context = context
                self._generation += 1
            return self._generation
