"""The cell mappings every service reads, from one short-lived cache.

Cell mappings change only when an operator adds, renames or disables a cell,
so they are read from the API DB at most every CACHE_SECONDS; a cell asked
for by uuid or id that is not in the cache (created a moment ago) makes it
read again once. Host mappings (which cell a compute host is in) are
cached the same way for the scheduler.
"""
from __future__ import annotations

import time
from typing import Any, Literal

from minova import exception
from minova.cells import mappings
from minova.cells.mappings import CellMapping
from minova.db import engines

CACHE_SECONDS = 5.0
_cache: tuple[float, list[CellMapping]] = (0.0, [])
# Host mappings, per API DB URL: (when read, {host: cell id}).
HOST_MAPPINGS_SECONDS = 10.0
_hosts: dict[str, tuple[float, dict[str, int]]] = {}


def reset() -> None:
    """Forget every cached mapping (tests pointing at new databases)."""
    global _cache
    _cache = (0.0, [])
    _hosts.clear()
    mappings.CELL_IDS.clear()


def all_cells(include_cell0: bool = True, refresh: bool = False) -> list[CellMapping]:
    """Every cell mapping (cell0 first, as created)."""
    global _cache
    stamp, cached = _cache
    if refresh or not cached or time.monotonic() - stamp > CACHE_SECONDS:
        cached = mappings.cell_list()
        _cache = (time.monotonic(), cached)
    return [c for c in cached if include_cell0 or not mappings.is_cell0(c)]


def _find(key: Literal['uuid', 'id'], value: Any) -> CellMapping:
    for refresh in (False, True):
        for cell in all_cells(refresh=refresh):
            if cell[key] == value:
                return cell
    raise exception.CellMappingNotFound(uuid=value)


def get(uuid: str) -> CellMapping:
    """One cell mapping by uuid. CellMappingNotFound when there is none."""
    return _find('uuid', uuid)


def get_by_id(cell_id: int) -> CellMapping:
    """One cell mapping by its id (as instance and host mappings name it)."""
    return _find('id', cell_id)


def cell0() -> CellMapping:
    return get(mappings.CELL0_UUID)


def host_cells(hosts: set[str]) -> dict[str, int]:
    """{host: cell id} of the host mappings, re-read when one of hosts is not
    in them (it may have just been discovered) or after HOST_MAPPINGS_SECONDS:
    reading them for every request was a tenth of select_destinations."""
    url = engines.api_url()
    stamp, mapped = _hosts.get(url, (0.0, {}))
    if time.monotonic() - stamp > HOST_MAPPINGS_SECONDS or not hosts <= mapped.keys():
        mapped = {m['host']: m['cell_id'] for m in mappings.host_mapping_get_all()}
        _hosts[url] = (time.monotonic(), mapped)
    return mapped
