"""Cells v2 operations behind minova-manage: map cell0, create cells, discover hosts."""
from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa

from minova import rpc
from minova.cells import mappings as cells
from minova.cells.mappings import CellMapping
from minova.conf import CONF
from minova.db import compute_nodes, engines

LOG = logging.getLogger(__name__)


def cell0_url(main_url: str | None = None) -> str:
    """Nova's rule: the cell DB URL with '_cell0' appended to the database name."""
    url = sa.engine.make_url(main_url or engines.cell_url())
    database = url.database or 'nova'
    if url.drivername.startswith('sqlite'):
        stem, dot, ext = database.rpartition('.')
        database = f'{stem}_cell0.{ext}' if dot and '/' not in ext else database + '_cell0'
    else:
        database += '_cell0'
    return url.set(database=database).render_as_string(hide_password=False)


def map_cell0(database_connection: str | None = None) -> tuple[bool, CellMapping]:
    """Create the cell0 mapping; (False, existing) if it is already there."""
    for cell in cells.cell_list():
        if cells.is_cell0(cell):
            return False, cell
    cell = cells.cell_create('cell0', 'none:///', database_connection or cell0_url(),
                             uuid=cells.CELL0_UUID)
    return True, cell


def create_cell(name: str | None, transport_url: str | None = None,
                database_connection: str | None = None) -> CellMapping:
    """Map a new cell. Raises ValueError when it would duplicate an existing one."""
    transport_url = transport_url or CONF.transport_url or rpc.IN_MEMORY_URL
    database_connection = database_connection or engines.cell_url()
    for cell in cells.cell_list():
        if cells.is_cell0(cell):
            continue
        if (cell['transport_url'] == transport_url
                and cell['database_connection'] == database_connection):
            raise ValueError(f'The specified transport_url and/or database_connection '
                             f'combination already exists for another cell with uuid '
                             f'{cell["uuid"]}.')
    return cells.cell_create(name, transport_url, database_connection)


def discover_hosts(cell_uuid: str | None = None,
                   out: Callable[[str], None] | None = None) -> list[dict]:
    """Map compute hosts that are not mapped yet; returns the new host mappings.

    Running it again is harmless: mapped nodes are skipped, and a host mapped
    by a concurrent run is left as it is.
    """
    say = out or (lambda msg: LOG.debug(msg))
    mappings = cells.cell_list()
    if cell_uuid:
        all_cells = [c for c in mappings if c['uuid'] == cell_uuid]
    else:
        say(f'Found {len(mappings)} cell mappings.')
        all_cells = []
        for c in mappings:
            if cells.is_cell0(c):
                say('Skipping cell0 since it does not contain hosts.')
            else:
                all_cells.append(c)
    added: list[dict] = []
    for cell in all_cells:
        if cell['name']:
            say(f"Getting computes from cell '{cell['name']}': {cell['uuid']}")
        else:
            say(f"Getting computes from cell: {cell['uuid']}")
        url = cell['database_connection']
        nodes = compute_nodes.get_all(url, unmapped_only=True)
        say(f"Found {len(nodes)} unmapped computes in cell: {cell['uuid']}")
        done: list[int] = []
        for node in nodes:
            host = node['host']
            say(f"Checking host mapping for compute host '{host}': {node['uuid']}")
            if cells.host_mapping_create(host, cell['id']):
                say(f"Creating host mapping for compute host '{host}': {node['uuid']}")
                added.append({'host': host, 'cell_uuid': cell['uuid']})
            done.append(node['id'])
        if done:
            compute_nodes.mark_mapped(url, done)
    if added:
        LOG.info('Mapped compute hosts %s', [a['host'] for a in added])
    return added
