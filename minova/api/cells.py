"""Cell lookups the admin handlers share (services, hypervisors, host status).

Binaries are stored as `minova-<service>`; the API shows them as Nova names
them (`nova-<service>`), so that clients and scripts filtering on
`nova-compute` keep working, and accepts either spelling in filters.
"""
from __future__ import annotations

from typing import Any

from minova.compute import multi_cell
from minova.db import cells as cells_db
from minova.db import services as services_db

COMPUTE_BINARY = 'minova-compute'


def api_binary(binary: str) -> str:
    return 'nova-' + binary[len('minova-'):] if binary.startswith('minova-') else binary


def db_binary(binary: str) -> str:
    return 'minova-' + binary[len('nova-'):] if binary.startswith('nova-') else binary


def cells(include_cell0: bool = False) -> list[dict[str, Any]]:
    return multi_cell.all_cells(include_cell0=include_cell0)


def cell_by_uuid(uuid: str | None) -> dict[str, Any] | None:
    for cell in multi_cell.all_cells():
        if cell['uuid'] == uuid:
            return cell
    return None


def is_cell0(cell: dict[str, Any]) -> bool:
    return cells_db.is_cell0(cell)


def host_status(service: dict[str, Any] | None) -> str:
    """UP, DOWN, MAINTENANCE or UNKNOWN for a compute service; '' without one."""
    if service is None:
        return ''
    if service.get('forced_down'):
        return 'DOWN'
    if service.get('disabled'):
        return 'MAINTENANCE'
    return 'UP' if services_db.is_up(service) else 'UNKNOWN'


def host_statuses(instances: list[dict[str, Any]]) -> dict[str, str]:
    """{host: status} for the hosts of these instances."""
    by_cell: dict[str, set[str]] = {}
    for inst in instances:
        if inst.get('host') and inst.get('cell_uuid'):
            by_cell.setdefault(inst['cell_uuid'], set()).add(inst['host'])
    out: dict[str, str] = {}
    for cell_uuid, hosts in by_cell.items():
        cell = cell_by_uuid(cell_uuid)
        if cell is None:
            continue
        try:
            found = {s['host']: s for s in services_db.get_all(
                cell['database_connection'], binary=COMPUTE_BINARY)}
        except Exception:  # a cell that is down: its hosts are UNKNOWN
            found = {}
            for host in hosts:
                out[host] = 'UNKNOWN'
            continue
        for host in hosts:
            out[host] = host_status(found.get(host))
    return out
