"""minova-deploy: bring a two-cell mini-Nova up on this machine, and down again.

  minova-deploy [--state-dir DIR] up [--db mysql|postgresql] [--computes-per-cell N] ...
  minova-deploy [--state-dir DIR] down [SERVICE ...]      stop (all, or the named)
  minova-deploy [--state-dir DIR] start SERVICE ...
  minova-deploy [--state-dir DIR] restart [SERVICE ...]
  minova-deploy [--state-dir DIR] status
  minova-deploy [--state-dir DIR] add-compute --cell CELL [--host NAME]
  minova-deploy [--state-dir DIR] teardown                stop, drop DBs, vhosts, state

`up` on a state dir that holds a deployment starts whatever is not running;
on an empty one it creates the databases and vhosts, writes etc/, runs the
minova-manage syncs and cell mappings, starts every service and maps the
compute hosts with `cell_v2 discover_hosts`.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import time

from minova.deploy import backends, config, procs
from minova.deploy.layout import STATE_FILE, Settings


def manage(s: Settings, *args: str, conf: str = 'minova.conf') -> str:
    cmd = [procs._script('minova-manage'), '--config-file', str(s.root / 'etc' / conf), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f'{" ".join(cmd[1:])} failed ({r.returncode}):\n{r.stdout}{r.stderr}')
    return r.stdout


def _sync_and_map(s: Settings) -> None:
    manage(s, 'api_db', 'sync')
    manage(s, 'placement_db', 'sync')
    manage(s, 'cell_v2', 'map_cell0', '--database_connection', s.db_url('cell0'))
    manage(s, 'db', 'sync', '--local_cell')  # cell0: the top-level [database]
    for cell in s.cell_names:
        manage(s, 'db', 'sync', '--local_cell', conf=f'{cell}.conf')
        manage(s, 'cell_v2', 'create_cell', '--name', cell,
               '--transport-url', s.transport_url(cell),
               '--database_connection', s.db_url(cell))
    (s.root / 'synced').write_text('')


def _wait_compute_nodes(s: Settings, timeout: float = 90.0) -> None:
    """Until every compute host has registered its node in its cell DB."""
    from minova.db import compute_nodes
    want = {cell: set(s.compute_hosts(cell)) for cell in s.cell_names}
    deadline = time.monotonic() + timeout
    while True:
        missing = []
        for cell, hosts in want.items():
            have = {n['host'] for n in compute_nodes.get_all(s.db_url(cell))}
            missing += sorted(hosts - have)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f'compute hosts not registered: {missing}')
        for name in missing:
            if procs.running_pid(s, name) is None:
                raise SystemExit(f'{name} exited:\n{procs.tail(s, name)}')
        time.sleep(0.3)


def _start_all(s: Settings, names: list[str] | None = None) -> None:
    for svc in s.services():
        if names is not None and svc['name'] not in names:
            continue
        procs.start(s, svc)
        if 'http' in svc:
            procs.wait_http(s, svc['name'], svc['http'])


def cmd_up(args: argparse.Namespace) -> int:
    if (args.root / STATE_FILE).exists():
        s = Settings.load(args.state_dir)
    else:
        fields = {f.name for f in dataclasses.fields(Settings)}
        s = Settings(**{k: v for k, v in vars(args).items() if k in fields and v is not None})
        s.cell_db_ports = {c: int(p) for c, p in
                           (item.split('=', 1) for item in args.cell_db_port or [])}
        if s.single_conductor and s.cells != 1:
            raise SystemExit('--single-conductor needs --cells 1')
        s.save()
    if not (s.root / 'synced').exists():
        created = backends.create_databases(s)
        backends.create_vhosts(s)
        config.write(s)
        print(f'databases: {", ".join(created) or "(existing)"}; '
              f'vhosts: {", ".join(s.vhosts().values())}')
        _sync_and_map(s)
    _start_all(s)
    _wait_compute_nodes(s)
    print(manage(s, 'cell_v2', 'discover_hosts', '--verbose'), end='')
    print(f'compute API: http://127.0.0.1:{s.api_port}/v2.1  '
          f'placement: http://127.0.0.1:{s.placement_port}  '
          f'config: {s.root / "etc"}')
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    s = Settings.load(args.state_dir)
    names = args.services or [svc['name'] for svc in reversed(s.services())]
    for name in names:
        s.service(name)
    for name in procs.stop_all(s, names):
        print(f'stopped {name}')
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    s = Settings.load(args.state_dir)
    for name in args.services:
        s.service(name)
    _start_all(s, args.services)
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    s = Settings.load(args.state_dir)
    names = args.services or [svc['name'] for svc in s.services()]
    for name in names:
        s.service(name)
    procs.stop_all(s, names)
    _start_all(s, names)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    s = Settings.load(args.state_dir)
    rows = []
    for svc in s.services():
        pid = procs.running_pid(s, svc['name'])
        rows.append((svc['name'], svc.get('cell', '-'), str(pid or '-'),
                     'running' if pid else 'stopped'))
    width = max(len(r[0]) for r in rows)
    print(f'{"service":<{width}}  {"cell":<6}  {"pid":>7}  state')
    for name, cell, pid_text, state in rows:
        print(f'{name:<{width}}  {cell:<6}  {pid_text:>7}  {state}')
    return 0 if all(r[3] == 'running' for r in rows) else 3


def cmd_add_compute(args: argparse.Namespace) -> int:
    s = Settings.load(args.state_dir)
    if args.cell not in s.cell_names:
        raise SystemExit(f'No cell {args.cell!r}')
    taken = {svc['name'] for svc in s.services()}
    host = args.host or next(f'{args.cell}-compute{i}' for i in range(1, 1000)
                             if f'{args.cell}-compute{i}' not in taken)
    if host in taken:
        raise SystemExit(f'{host} exists already')
    s.extra_computes.setdefault(args.cell, []).append(host)
    s.save()
    config.write(s)
    procs.start(s, s.service(host))
    print(host)
    return 0


def cmd_teardown(args: argparse.Namespace) -> int:
    if not (args.root / STATE_FILE).exists():
        print(f'nothing deployed in {args.state_dir}')
        return 0
    s = Settings.load(args.state_dir)
    procs.stop_all(s, [svc['name'] for svc in reversed(s.services())])
    backends.drop_databases(s)
    backends.drop_vhosts(s)
    shutil.rmtree(s.root, ignore_errors=True)
    print(f'removed the deployment in {args.state_dir}')
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='minova-deploy', description=__doc__.split('\n')[0])
    p.add_argument('--state-dir', default=Settings.state_dir)
    sub = p.add_subparsers(dest='command', required=True)
    up = sub.add_parser('up', help='create (first time) and start everything')
    up.add_argument('--db', choices=['mysql', 'postgresql'])
    up.add_argument('--db-host')
    up.add_argument('--db-port', type=int)
    up.add_argument('--db-user')
    up.add_argument('--db-password')
    up.add_argument('--prefix', help='database and vhost name prefix (default minova)')
    up.add_argument('--rabbit-url', help='rabbit://user:pass@host:port, without vhost')
    up.add_argument('--rabbit-node', help='RabbitMQ node name, for rabbitmqctl -n')
    up.add_argument('--cells', type=int)
    up.add_argument('--computes-per-cell', type=int)
    up.add_argument('--api-workers', type=int)
    up.add_argument('--api-port', type=int)
    up.add_argument('--placement-port', type=int)
    up.add_argument('--report-interval', type=int)
    up.add_argument('--service-down-time', type=int)
    up.add_argument('--build-timeout', type=int, help='[compute] build_timeout_seconds')
    up.add_argument('--spawn-delay', type=float, help='[fake_driver] spawn_delay')
    up.add_argument('--backend', choices=['threading', 'eventlet'])
    up.add_argument('--single-conductor', action='store_true', default=None,
                    help='one cell only: one conductor for the API and the cell '
                         '(no super-conductor), one message bus')
    up.add_argument('--durable-queues', action='store_true', default=None,
                    help='durable RabbitMQ queues and persistent messages: casts in '
                         'flight survive a broker restart, but every publish waits for '
                         'the broker to write it to disk (Nova\'s default is transient)')
    up.add_argument('--debug', action='store_true', default=None)
    up.add_argument('--extra-conf', help='text appended to every config file')
    up.add_argument('--cell-db-port', action='append', metavar='CELL=PORT',
                    help='put that cell\'s database on another server on PORT')
    up.add_argument('--novnc-port', type=int,
                    help='run a minova-novncproxy per cell, on PORT, PORT+1, ... '
                         '(default: none)')
    up.add_argument('--serial-port', type=int,
                    help='run a minova-serialproxy per cell, on PORT, PORT+1, ... and '
                         'give the cells\' guests serial consoles (default: none)')
    up.set_defaults(func=cmd_up)
    for name, fn, hlp in (('down', cmd_down, 'stop services (all, or the named)'),
                          ('restart', cmd_restart, 'restart services (all, or the named)')):
        sp = sub.add_parser(name, help=hlp)
        sp.add_argument('services', nargs='*')
        sp.set_defaults(func=fn)
    sp = sub.add_parser('start', help='start the named services')
    sp.add_argument('services', nargs='+')
    sp.set_defaults(func=cmd_start)
    sub.add_parser('status', help='which services run').set_defaults(func=cmd_status)
    sp = sub.add_parser('add-compute', help='start one more compute agent in a cell')
    sp.add_argument('--cell', required=True)
    sp.add_argument('--host')
    sp.set_defaults(func=cmd_add_compute)
    sub.add_parser('teardown', help='stop, drop databases and vhosts, remove the state dir'
                   ).set_defaults(func=cmd_teardown)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    from pathlib import Path
    args.root = Path(args.state_dir)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
