"""Run a function against every cell DB at once, tolerating cells that fail.

Listing servers, services or hypervisors means asking each cell; a cell whose
DB is down must not fail the whole request (Nova returns partial results), so
results carry the exception instead of raising it.
"""
from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from minova.cells import lookup
from minova.cells.mappings import CellMapping
from minova.db import engines
from minova.db.api_tables import instance_mappings
from minova.db.instances import Instance

LOG = logging.getLogger(__name__)

CELL_TIMEOUT = 60.0

T = TypeVar('T')


class CellFailed:
    """Marks a cell that did not answer (down DB, timeout)."""

    def __init__(self, cell: CellMapping, error: BaseException | None) -> None:
        self.cell = cell
        self.error = error

    def __repr__(self) -> str:
        return f'CellFailed({self.cell["name"]!r}, {self.error!r})'


def _fail_fast(fn: Callable[[CellMapping], T], cell: CellMapping) -> T:
    with engines.fail_fast():  # a down cell answers at once, as a CellFailed
        return fn(cell)


def for_each_cell(fn: Callable[[CellMapping], T],
                  cells: list[CellMapping] | None = None,
                  include_cell0: bool = True,
                  timeout: float = CELL_TIMEOUT) -> dict[str, T | CellFailed]:
    """{cell uuid: fn(cell) or CellFailed} over the given (or all) cells."""
    if cells is None:
        cells = lookup.all_cells(include_cell0)
    if len(cells) == 1:
        cell = cells[0]
        try:
            return {cell['uuid']: _fail_fast(fn, cell)}
        except Exception as e:
            LOG.warning('Cell %s failed: %s', cell['name'], e)
            return {cell['uuid']: CellFailed(cell, e)}
    results: dict[str, T | CellFailed] = {}
    futures = {_executor().submit(_fail_fast, fn, cell): cell for cell in cells}
    done, pending = concurrent.futures.wait(futures, timeout=timeout)
    for fut in done:
        cell = futures[fut]
        try:
            results[cell['uuid']] = fut.result()
        except Exception as e:
            LOG.warning('Cell %s failed: %s', cell['name'], e)
            results[cell['uuid']] = CellFailed(cell, e)
    for fut in pending:
        cell = futures[fut]
        LOG.warning('Cell %s did not answer within %ss', cell['name'], timeout)
        results[cell['uuid']] = CellFailed(cell, None)
    return results


_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
# Threads kept for asking cells at once. Starting a pool per request cost a
# thread start per cell (a quarter of a quota check). A cell that hangs holds
# one until CELL_TIMEOUT; there are enough for many such at once.
POOL_THREADS = 32


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=POOL_THREADS,
                                                          thread_name_prefix='cells')
        return _pool


def down_cell_instances(cell: CellMapping, project_id: str | None = None,
                        limit: int | None = None) -> list[Instance]:
    """What the API DB knows of the servers of a cell that does not answer.

    Nova (2.69+) lists them from their instance mappings: uuid, project,
    created_at, rendered with status UNKNOWN.
    """
    q = (sa.select(instance_mappings.c.instance_uuid, instance_mappings.c.project_id,
                   instance_mappings.c.user_id, instance_mappings.c.created_at)
         .where(instance_mappings.c.cell_id == cell['id'],
                instance_mappings.c.queued_for_delete.is_(False))
         .order_by(instance_mappings.c.id))
    if project_id is not None:
        q = q.where(instance_mappings.c.project_id == project_id)
    if limit is not None:
        q = q.limit(limit)
    with engines.reader(engines.api_url()) as conn:
        rows = conn.execute(q).mappings().all()
    return [{'uuid': r['instance_uuid'], 'project_id': r['project_id'],
             'user_id': r['user_id'], 'created_at': r['created_at'],
             'cell_uuid': cell['uuid'], 'cell_down': True} for r in rows]
