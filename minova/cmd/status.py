"""minova-status upgrade check: is this deployment ready to serve, as
nova-status upgrade check reports it (exit 0 success, 1 warning, 2 failure).

Checks: cells v2 (cell0 and at least one cell mapped, hosts mapped), the
placement API (reachable, new enough for mini-Nova's calls), and that every
compute node is mapped to its cell and has a resource provider.
"""
from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from typing import Any

from minova.cells import mappings
from minova.cmd import common
from minova.db import compute_nodes

SUCCESS, WARNING, FAILURE = 0, 1, 2
NAMES = {SUCCESS: 'Success', WARNING: 'Warning', FAILURE: 'Failure'}
Result = tuple[int, str | None]


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split('.'))


def check_cells_v2() -> Result:
    cell_list = mappings.cell_list()
    if len(cell_list) < 2:
        return FAILURE, ('There needs to be at least two cell mappings, one for cell0 and '
                         "one for your first cell. Run command 'minova-manage cell_v2 "
                         "map_cell0' and 'minova-manage cell_v2 create_cell' and then retry.")
    if not any(mappings.is_cell0(c) for c in cell_list):
        return FAILURE, ("No cell0 mapping found. Run command 'minova-manage cell_v2 "
                         "map_cell0' and then retry.")
    if not mappings.host_mapping_get_all():
        nodes = sum(len(compute_nodes.get_all(c['database_connection']))
                    for c in cell_list if not mappings.is_cell0(c))
        if nodes:
            return FAILURE, ('No host mappings found but there are compute nodes. Run '
                             "command 'minova-manage cell_v2 discover_hosts' and then retry.")
        return SUCCESS, ('No host mappings or compute nodes were found. Remember to run '
                         "command 'minova-manage cell_v2 discover_hosts' when new compute "
                         'hosts are deployed.')
    return SUCCESS, None


def check_placement() -> Result:
    from minova.clients import placement as placement_client
    need = placement_client.IN_TREE_VERSION
    try:
        resp = placement_client.Client().adapter.get('/', raise_exc=False, timeout=10)
    except Exception as e:
        return FAILURE, f'Placement API endpoint not reachable: {e}'
    if resp.status_code != 200:
        return FAILURE, f'Placement API answered {resp.status_code} at its root.'
    versions = resp.json().get('versions') or [{}]
    have = versions[0].get('max_version') or '1.0'
    if _version(have) < _version(need):
        return FAILURE, f'Placement API version {need} needed, you have {have}.'
    return SUCCESS, None


def check_compute_nodes() -> Result:
    """Every compute node mapped to its cell and known to placement."""
    from minova.clients import placement as placement_client
    unmapped, nodes = [], []
    for cell in mappings.cell_list():
        if mappings.is_cell0(cell):
            continue
        for node in compute_nodes.get_all(cell['database_connection']):
            nodes.append(node)
            if not node.get('mapped'):
                unmapped.append(node['host'])
    if unmapped:
        return WARNING, (f'{len(unmapped)} compute node(s) not mapped to a cell: '
                         f'{", ".join(sorted(set(unmapped)))}. Run command '
                         "'minova-manage cell_v2 discover_hosts' and then retry.")
    if not nodes:
        return SUCCESS, None
    try:
        resp = placement_client.Client().adapter.get(
            '/resource_providers', raise_exc=False, timeout=10,
            microversion='1.14')
        providers = {rp['uuid'] for rp in resp.json()['resource_providers']}
    except Exception as e:
        return FAILURE, f'Could not list resource providers: {e}'
    missing = [n['hypervisor_hostname'] for n in nodes if n['uuid'] not in providers]
    if missing:
        return WARNING, (f'There are {len(nodes)} compute node(s) but {len(missing)} have no '
                         f'resource provider in placement: {", ".join(sorted(missing))}. '
                         'Check that their compute services can reach placement.')
    return SUCCESS, None


CHECKS: list[tuple[str, Callable[[], Result]]] = [
    ('Cells v2', check_cells_v2),
    ('Placement API', check_placement),
    ('Compute nodes mapped with resource providers', check_compute_nodes),
]


def _render(results: list[tuple[str, int, str | None]]) -> str:
    width = 60
    sep = '+' + '-' * (width + 2) + '+'
    lines = [sep, f'| {"Upgrade Check Results":<{width}} |', sep]
    for name, code, details in results:
        body = [f'Check: {name}', f'Result: {NAMES[code]}']
        wrapped = textwrap.wrap(f'Details: {details}', width - 2) or ['Details: None']
        body += [wrapped[0]] + ['  ' + w for w in wrapped[1:]]
        lines += [f'| {b:<{width}} |' for b in body] + [sep]
    return '\n'.join(lines)


def upgrade_check() -> int:
    results: list[tuple[str, int, str | None]] = []
    for name, fn in CHECKS:
        try:
            code, details = fn()
        except Exception as e:  # a check that cannot run is a failed check
            code, details = FAILURE, f'{e.__class__.__name__}: {e}'
        results.append((name, code, details))
    print(_render(results))
    return max(code for _n, code, _d in results)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        i = argv.index('upgrade')
    except ValueError:
        i = -1
    if i < 0 or argv[i + 1:i + 2] != ['check']:
        print('usage: minova-status [--config-file FILE] upgrade check', file=sys.stderr)
        return 2
    rest: list[Any] = argv[:i] + argv[i + 2:]  # oslo.config options only
    common.parse_args(rest)
    return upgrade_check()


if __name__ == '__main__':
    sys.exit(main())
