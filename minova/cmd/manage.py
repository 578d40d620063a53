"""minova-manage: database syncs and cells v2 mappings, as nova-manage has them.

  minova-manage api_db sync
  minova-manage db sync                 (the cell DB, and cell0 once mapped)
  minova-manage placement_db sync
  minova-manage cell_v2 map_cell0 [--database_connection URL]
  minova-manage cell_v2 create_cell --name NAME [--transport-url URL]
                                    [--database_connection URL] [--verbose]
  minova-manage cell_v2 list_cells [--verbose]
  minova-manage cell_v2 list_hosts [--cell_uuid UUID]
  minova-manage cell_v2 discover_hosts [--cell_uuid UUID] [--verbose] [--strict]
  minova-manage cell discover_hosts ...  (same as cell_v2 discover_hosts)
  minova-manage service list [--host HOST]
  minova-manage server timeline [UUID] [--limit N] [--project P]
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg

from minova.cells import lookup, mappings
from minova.cells import manage as cells_manage
from minova.cmd import common
from minova.conf import CONF
from minova.db import engines, migration


def _mask(url: str) -> str:
    import sqlalchemy as sa
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def api_db_sync(args: Any) -> int:
    migration.upgrade('api_db', engines.api_url(), args.version or 'head')
    return 0


def db_sync(args: Any) -> int:
    migration.upgrade('main_db', engines.cell_url(), args.version or 'head')
    if not args.local_cell and not _missing_sqlite(engines.api_url()):
        try:
            cell0 = lookup.get(mappings.CELL0_UUID)
        except Exception:
            cell0 = None
        if cell0 is not None:
            migration.upgrade('main_db', cell0['database_connection'], args.version or 'head')
    return 0


def placement_db_sync(args: Any) -> int:
    migration.upgrade('placement_db', engines.placement_url(), args.version or 'head')
    return 0


def map_cell0(args: Any) -> int:
    created, cell = cells_manage.map_cell0(args.database_connection)
    if not created:
        print('Cell0 is already setup')
    return 0


def create_cell(args: Any) -> int:
    try:
        cell = cells_manage.create_cell(args.cell_name, args.cell_transport_url,
                                     args.database_connection)
    except ValueError as e:
        print(e)
        return 2
    if args.disabled:
        mappings.cell_update(cell['uuid'], disabled=True)
    if args.verbose:
        print(cell['uuid'])
    return 0


def list_cells(args: Any) -> int:
    rows = [(c['name'] or '', c['uuid'],
             c['transport_url'] if args.verbose else _mask(c['transport_url']),
             c['database_connection'] if args.verbose else _mask(c['database_connection']),
             str(bool(c['disabled']))) for c in sorted(mappings.cell_list(),
                                                       key=lambda c: c['name'] or '')]
    _table(('Name', 'UUID', 'Transport URL', 'Database Connection', 'Disabled'), rows)
    return 0


def list_hosts(args: Any) -> int:
    by_id = {c['id']: c for c in mappings.cell_list()}
    rows = []
    for m in mappings.host_mapping_get_all():
        cell = by_id[m['cell_id']]
        if args.cell_uuid and cell['uuid'] != args.cell_uuid:
            continue
        rows.append((cell['name'] or '', cell['uuid'], m['host']))
    _table(('Cell Name', 'Cell UUID', 'Hostname'), rows)
    return 0


def discover_hosts(args: Any) -> int:
    out = print if args.verbose else None
    added = cells_manage.discover_hosts(args.cell_uuid, out=out)
    if args.strict and not added:
        return 1
    return 0


def server_timeline(args: Any) -> int:
    from minova.cmd import timeline
    if args.server_uuid:
        try:
            print(timeline.render_one(args.server_uuid))
        except LookupError as e:
            print(e)
            return 1
        except Exception as e:  # InstanceNotFound and friends
            print(getattr(e, 'message', e))
            return 1
        return 0
    print(timeline.render_batch(args.limit, args.project))
    return 0


def service_list(args: Any) -> int:
    """Every service of every cell, as `openstack compute service list` shows them."""
    from minova.cells import lookup, scatter
    from minova.db import services
    rows, failed = [], []
    results = scatter.for_each_cell(
        lambda c: services.get_all(c['database_connection'], host=args.service_host))
    for cell in lookup.all_cells():
        result = results.get(cell['uuid'])
        if isinstance(result, scatter.CellFailed):
            failed.append(cell['name'] or cell['uuid'])
            continue
        for svc in result or []:
            zone = CONF.default_availability_zone if svc['binary'] == 'minova-compute' \
                else 'internal'
            stamp = svc.get('last_seen_up') or svc.get('updated_at')
            rows.append((svc['binary'], svc['host'], zone,
                         'disabled' if svc['disabled'] else 'enabled',
                         'up' if services.is_up(svc) else 'down',
                         stamp.isoformat() if stamp else '', cell['name'] or cell['uuid']))
    _table(('Binary', 'Host', 'Zone', 'Status', 'State', 'Updated At', 'Cell'), rows)
    for name in failed:
        print(f'Cell {name} is not responding; its services are not listed.', file=sys.stderr)
    return 1 if failed else 0


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    sep = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def line(cols: tuple[str, ...]) -> str:
        return '| ' + ' | '.join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + ' |'

    print(sep)
    print(line(headers))
    print(sep)
    for r in rows:
        print(line(r))
    print(sep)


def _add_parsers(subparsers: argparse._SubParsersAction) -> None:
    def category(name: str) -> argparse._SubParsersAction:
        return subparsers.add_parser(name).add_subparsers(dest='action', required=True)

    def sync_parser(cat: argparse._SubParsersAction, fn: Any, local_cell: bool = False) -> None:
        p = cat.add_parser('sync', help='Upgrade the schema to the newest version.')
        p.add_argument('version', nargs='?', default=None)
        if local_cell:
            p.add_argument('--local_cell', action='store_true',
                           help='Only sync the cell DB of this config, not cell0.')
        p.set_defaults(func=fn)

    p = category('service').add_parser('list', help='Services of every cell, up or down.')
    p.add_argument('--host', dest='service_host')  # 'host' is an oslo.config option
    p.set_defaults(func=service_list)

    sync_parser(category('api_db'), api_db_sync)
    sync_parser(category('db'), db_sync, local_cell=True)
    sync_parser(category('placement_db'), placement_db_sync)

    p = category('server').add_parser(
        'timeline', help='Where the time of a boot went: one server, or a batch.')
    p.add_argument('server_uuid', nargs='?', help='One server (omit for the batch view).')
    p.add_argument('--limit', type=int, default=1000, help='Batch: newest N per cell.')
    p.add_argument('--project', help='Batch: only this project.')
    p.set_defaults(func=server_timeline)

    for name in ('cell_v2', 'cell'):
        cat = category(name)
        p = cat.add_parser('discover_hosts', help='Map compute hosts not mapped to a cell yet.')
        p.add_argument('--cell_uuid')
        p.add_argument('--verbose', action='store_true')
        p.add_argument('--strict', action='store_true',
                       help='Exit 1 when no new host was found.')
        p.add_argument('--by-service', action='store_true', help='Accepted; nodes are used.')
        p.set_defaults(func=discover_hosts)
        if name == 'cell':
            continue
        p = cat.add_parser('map_cell0')
        p.add_argument('--database_connection')
        p.set_defaults(func=map_cell0)
        p = cat.add_parser('create_cell')
        # dest 'name' would be overwritten by oslo.config with the category name.
        p.add_argument('--name', dest='cell_name')
        p.add_argument('--transport-url', '--transport_url', dest='cell_transport_url')
        p.add_argument('--database_connection')
        p.add_argument('--verbose', action='store_true')
        p.add_argument('--disabled', action='store_true')
        p.set_defaults(func=create_cell)
        p = cat.add_parser('list_cells')
        p.add_argument('--verbose', action='store_true')
        p.set_defaults(func=list_cells)
        p = cat.add_parser('list_hosts')
        p.add_argument('--cell_uuid')
        p.set_defaults(func=list_hosts)


CATEGORY_OPT = cfg.SubCommandOpt('category', handler=_add_parsers)


def _missing_sqlite(url: str) -> str | None:
    """The file of a SQLite URL that does not exist (None: exists, or not SQLite)."""
    import os

    import sqlalchemy as sa
    u = sa.engine.make_url(url)
    if u.drivername.startswith('sqlite') and u.database and u.database != ':memory:' \
            and not os.path.exists(u.database):
        return u.database
    return None


def _not_ready(func: Any) -> str | None:
    """Why `func` cannot run yet, in one line (None: go ahead).

    Every command but the syncs reads the API database; SQLite would create an
    empty file on the first query, so a missing one is caught before that.
    """
    if func in (api_db_sync, placement_db_sync, db_sync):
        return None
    missing = _missing_sqlite(engines.api_url())
    if missing:
        return (f"minova-manage: there is no API database yet ({missing}); run "
                "'minova-manage api_db sync' first")
    return None


def main(argv: list[str] | None = None) -> int:
    import sqlalchemy as sa

    CONF.register_cli_opt(CATEGORY_OPT)  # the same object again is a no-op
    common.parse_args(sys.argv[1:] if argv is None else argv)
    func = CONF.category.func
    problem = _not_ready(func)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        return func(CONF.category)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as e:
        # No schema (SQLite's "no such table", MySQL's and PostgreSQL's
        # ProgrammingError) or no server: say so in one line.
        reason = ' '.join(str(e.orig).split())[:200]
        print(f"minova-manage: the database is not ready ({reason}); run "
              "'minova-manage api_db sync' and 'minova-manage db sync' first, and check "
              "the [api_database] and [database] connections", file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
