"""How the admin handlers show compute services: binary names, host status, zones.

Binaries are stored as `minova-<service>`; the API shows them as Nova names
them (`nova-<service>`), so that clients and scripts filtering on
`nova-compute` keep working, and accepts either spelling in filters.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from minova import exception
from minova.cells import lookup
from minova.conf import CONF
from minova.db import services as services_db
from minova.db.instances import Instance

COMPUTE_BINARY = 'minova-compute'


def api_binary(binary: str) -> str:
    return 'nova-' + binary[len('minova-'):] if binary.startswith('minova-') else binary


def db_binary(binary: str) -> str:
    return 'minova-' + binary[len('nova-'):] if binary.startswith('nova-') else binary


def zone(binary: str, host: str | None = None) -> str:
    """A compute host's AZ comes from its aggregates (see os-aggregates); other
    services are "internal"."""
    if binary != COMPUTE_BINARY:
        return 'internal'
    from minova.db import aggregates as aggregates_db
    return aggregates_db.host_zone(host) if host else CONF.default_availability_zone


def host_status(service: dict[str, Any] | None) -> str:
    """UP, DOWN, MAINTENANCE or UNKNOWN for a compute service; '' without one."""
    if service is None:
        return ''
    if service.get('forced_down'):
        return 'DOWN'
    if service.get('disabled'):
        return 'MAINTENANCE'
    return 'UP' if services_db.is_up(service) else 'UNKNOWN'


# Above this many hosts a list reads all the cell's compute services instead.
HOSTS_IN_QUERY = 200
# A host's service row is reused this long: a client polling GET /servers/{id}
# every few ms then reads the service once a second, not on every GET. Up or
# down turns on heartbeats of service_down_time (60 s); a disable or force-down
# through this process is seen at once (services_db.CHANGES), through another
# API worker within this time.
SERVICE_TTL = 1.0
_MAX_KEPT = 4096
_kept: dict[tuple[str, str], tuple[float, int, dict[str, Any] | None]] = {}
_kept_lock = threading.Lock()


def _kept_services(cell_uuid: str, hosts: set[str]) -> tuple[dict[str, Any], set[str]]:
    """({host: service or None} still fresh, the hosts to read)."""
    now, gen = time.monotonic(), services_db.CHANGES[0]
    fresh: dict[str, Any] = {}
    with _kept_lock:
        for host in hosts:
            hit = _kept.get((cell_uuid, host))
            if hit is not None and hit[0] > now and hit[1] == gen:
                fresh[host] = hit[2]
    return fresh, hosts - set(fresh)


def _keep(cell_uuid: str, found: dict[str, dict[str, Any]], hosts: set[str], gen: int) -> None:
    expires = time.monotonic() + SERVICE_TTL
    with _kept_lock:
        if len(_kept) + len(hosts) > _MAX_KEPT:
            _kept.clear()
        for host in hosts:
            _kept[(cell_uuid, host)] = (expires, gen, found.get(host))


def host_statuses(instances: list[Instance]) -> dict[str, str]:
    """{host: status} for the hosts of these instances."""
    by_cell: dict[str, set[str]] = {}
    for inst in instances:
        host, cell_uuid = inst.get('host'), inst.get('cell_uuid')
        if host and cell_uuid:
            by_cell.setdefault(cell_uuid, set()).add(host)
    out: dict[str, str] = {}
    for cell_uuid, hosts in by_cell.items():
        try:
            cell = lookup.get(cell_uuid)
        except exception.CellMappingNotFound:
            continue
        found, missing = _kept_services(cell_uuid, hosts)
        if missing:
            gen = services_db.CHANGES[0]
            try:
                # Only these hosts' services: a GET of one server read every
                # compute service of its cell (a hundred rows at 100 hosts).
                read = {s['host']: s for s in services_db.get_all(
                    cell['database_connection'], binary=COMPUTE_BINARY,
                    hosts=missing if len(missing) <= HOSTS_IN_QUERY else None)}
            except Exception:  # a cell that is down: its hosts are UNKNOWN
                for host in hosts:
                    out[host] = 'UNKNOWN'
                continue
            _keep(cell_uuid, read, missing, gen)
            found.update({h: read.get(h) for h in missing})
        for host in hosts:
            out[host] = host_status(found.get(host))
    return out
