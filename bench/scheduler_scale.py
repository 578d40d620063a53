#!/usr/bin/env python3
"""Scheduling at the scale of a cell: select_destinations latency and boots
per second with N simulated compute hosts (default 1,000).

  python bench/scheduler_scale.py --hosts 1000 --selects 50 -n 200 -t 10

Starts a private all-in-one (SQLite, in-memory bus or --transport-url, fake
driver) in this process plus a fleet of N fake compute hosts (minova/cmd/fake_computes.py),
each a real service, compute node and resource provider, maps them with
discover_hosts, then:

  1. calls the scheduler's select_destinations directly --selects times
     (each a real claim in placement, removed afterwards), p50/p95;
  2. boots -n servers through the compute REST API from -t threads until all
     are ACTIVE (boots/s), and deletes them.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import boot_delete  # noqa: E402  (the REST helpers of the boot/delete benchmark)


def start(hosts: int, db: str | None, transport_url: str | None) -> tuple[Any, Any]:
    from minova.cells import manage as cells_manage
    from minova.cmd import all_in_one, common, fake_computes
    from minova.conf import CONF
    common.parse_args([], default_config_files=[])
    import logging
    logging.getLogger('minova').setLevel(logging.WARNING)  # a line per boot drowns the figures
    CONF.set_override('state_path', tempfile.mkdtemp(prefix='minova-scale-'))
    CONF.set_override('host', 'bench-host')
    CONF.set_override('report_interval', 30)
    CONF.set_override('update_resources_interval', 600)
    if transport_url:
        CONF.set_override('transport_url', transport_url)
    if db:
        for group in ('api_database', 'database', 'placement_database'):
            CONF.set_override('connection', db.replace('{kind}', group), group=group)
    for opt in ('instances', 'cores', 'ram'):
        CONF.set_override(opt, -1, group='quota')
    try:  # the embedded image service, where there is one: any free port
        CONF.set_override('bind_port', 0, group='image_api')
    except Exception:
        pass
    aio = all_in_one.AllInOne(api_port=0, placement_port=0)
    aio.start()
    fleet = fake_computes.FakeComputeFleet(hosts, prefix='fake-')
    t0 = time.monotonic()
    fleet.start()
    up = time.monotonic() - t0
    t0 = time.monotonic()
    cells_manage.discover_hosts()
    print(f'{hosts} fake hosts up in {up:.1f} s, mapped in {time.monotonic() - t0:.1f} s',
          flush=True)
    return aio, fleet


def bench_select(aio: Any, n: int) -> list[float]:
    from minova.context import get_admin_context
    from minova.scheduler.manager import SchedulerManager
    sched = next(s.manager for s in aio.services if isinstance(s.manager, SchedulerManager))
    ctx = get_admin_context()
    spec = {'flavor': {'vcpus': 1, 'memory_mb': 64, 'root_gb': 1, 'ephemeral_gb': 0,
                       'swap': 0, 'extra_specs': {}},
            'project_id': 'bench', 'user_id': 'bench', 'availability_zone': None,
            'image': {'id': boot_delete.IMAGE, 'properties': {}}}
    times = []
    for _ in range(n):
        consumer = str(uuid.uuid4())
        t0 = time.monotonic()
        sched.select_destinations(ctx, spec, [consumer])
        times.append(time.monotonic() - t0)
        sched.placement.delete_allocation_for_instance(ctx, consumer)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--hosts', type=int, default=1000)
    ap.add_argument('--selects', type=int, default=50)
    ap.add_argument('-n', type=int, default=200, help='servers to boot')
    ap.add_argument('-t', '--threads', type=int, default=10)
    ap.add_argument('--db', help='SQLAlchemy URL with {kind} for the DB name '
                                 '(default: SQLite files)')
    ap.add_argument('--transport-url', help='e.g. rabbit://guest:guest@127.0.0.1:5672/ '
                                            '(default: the in-memory bus)')
    args = ap.parse_args()
    aio, fleet = start(args.hosts, args.db, args.transport_url)
    try:
        sel = bench_select(aio, args.selects)
        print(f'select_destinations with {args.hosts} hosts: '
              f'p50 {boot_delete.pct(sel, 0.5) * 1000:.1f} ms, '
              f'p95 {boot_delete.pct(sel, 0.95) * 1000:.1f} ms ({args.selects} calls)',
              flush=True)
        rest = argparse.Namespace(nova=f'http://127.0.0.1:{aio.api_port}/v2.1',
                                  token='admin:admin', poll=0.05)
        boot_delete.ensure_flavor(rest)
        t0 = time.monotonic()
        with ThreadPoolExecutor(args.threads) as pool:
            booted = list(pool.map(lambda i: boot_delete.boot_one(rest, i), range(args.n)))
        wall = time.monotonic() - t0
        lat = [t for _, t in booted]
        print(f'{args.n} boots over {args.hosts} hosts from {args.threads} threads: '
              f'{args.n / wall:.1f} boots/s; POST->ACTIVE p50 '
              f'{boot_delete.pct(lat, 0.5) * 1000:.0f} ms, p95 '
              f'{boot_delete.pct(lat, 0.95) * 1000:.0f} ms', flush=True)
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(lambda s: boot_delete.delete_one(rest, s[0]), booted))
    finally:
        fleet.stop()
        aio.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
