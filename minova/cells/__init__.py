"""Cells v2: the mappings in the API DB, one cached look-up of them, asking
every cell at once, and the operations behind `minova-manage cell_v2`.

  lookup   - all_cells(), get(uuid), get_by_id(id), cell0(), reset()
  mappings - the cell, host and instance mapping queries
  scatter  - for_each_cell(): one call per cell DB, a down cell a CellFailed
  manage   - map_cell0, create_cell, discover_hosts
"""
