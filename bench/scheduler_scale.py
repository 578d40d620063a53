#!/usr/bin/env python3
"""Scheduling at the scale of a cell: select_destinations latency and boots
per second with N simulated compute hosts (default 1,000).

  python bench/scheduler_scale.py --hosts 2,50,1000 --selects 50 -n 200 -t 10

With several sizes, each runs in its own process (bounded by --timeout) and
a table compares them: boots/s against the previous size (issue 22 asks for
at least 80 %), select_destinations in all and the scheduler's own share
(without placement's GET /allocation_candidates and PUT /allocations).

Starts a private all-in-one (SQLite, in-memory bus or --transport-url, fake
driver) in this process plus a fleet of N fake compute hosts (minova/cmd/fake_computes.py),
each a real service, compute node and resource provider, maps them with
discover_hosts (with --fleet-process the fleet is `minova-fake-computes` in a
process of its own, over --transport-url), then:

  1. calls the scheduler's select_destinations directly --selects times
     (each a real claim in placement, removed afterwards, and each with a
     read of its own as on an idle cloud: no answer kept from the one
     before), p50/p95;
  2. boots -n servers through the compute REST API from -t threads until all
     are ACTIVE (boots/s), checks that every server is ACTIVE and that
     placement's consumers are exactly the live servers, deletes them and
     checks that no allocation is left.

The REST client of step 2 (its threads, their POSTs and polls every 50 ms)
runs in a process of its own, as a user's client does (`--client threads`:
in the benchmark's process, as before 2026-12-06, where its CPU and its
polls, more of them per boot the slower the boots, share the control
plane's interpreter).

--profile-boots (one size) boots instead with the process's CPU split by
entry point (bench/cpu_by_entry.py: each RPC method, HTTP route, periodic
task and the benchmark's own client), the garbage collections per boot, and
with --pyspy the same boots sampled by py-spy (threads holding the GIL).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import boot_delete  # noqa: E402  (the REST helpers of the boot/delete benchmark)


def start(hosts: int, db: str | None, transport_url: str | None,
          fleet_process: bool = False, freeze: bool = True,
          gc_threshold: int = 0) -> tuple[Any, Any]:
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
    t0 = time.monotonic()
    if fleet_process:
        fleet: Any = FleetProcess(hosts)
    else:
        fleet = fake_computes.FakeComputeFleet(hosts, prefix='fake-')
        fleet.start()
    up = time.monotonic() - t0
    t0 = time.monotonic()
    cells_manage.discover_hosts()
    print(f'{hosts} fake hosts up in {up:.1f} s, mapped in {time.monotonic() - t0:.1f} s',
          flush=True)
    if freeze:
        # As each minova process does once its services are up
        # (common.wait_for_signal): what start-up made is not walked by every
        # full garbage collection (the fleet's would be in processes of their
        # own), and young collections come every GC_FIRST_THRESHOLD objects.
        common.tune_gc()
    if gc_threshold:
        import gc
        gc.set_threshold(gc_threshold, *gc.get_threshold()[1:])
    return aio, fleet


class FleetProcess:
    """The fleet as `minova-fake-computes` in a process of its own (over
    RabbitMQ), as a deployment runs its computes: its CPU is not the
    control plane's. Up once every host has its compute node row."""

    def __init__(self, hosts: int) -> None:
        from minova.conf import CONF
        from minova.db import compute_nodes, engines
        conf = os.path.join(CONF.state_path, 'fleet.conf')
        with open(conf, 'w') as f:
            f.write(f"[DEFAULT]\ntransport_url = {CONF.transport_url}\n"
                    f"state_path = {CONF.state_path}/fleet\nreport_interval = 30\n"
                    "update_resources_interval = 600\n"
                    f"[placement]\nendpoint_override = {CONF.placement.endpoint_override}\n"
                    f"[glance]\napi_servers = {','.join(CONF.glance.api_servers or [])}\n")
        self.proc = subprocess.Popen(
            [sys.executable, '-c', 'import sys; from minova.cmd.fake_computes import main; '
             'main(sys.argv[1:])', '--count', str(hosts),
             '--prefix', 'fake-', '--config-file', conf],
            stdout=subprocess.DEVNULL, stderr=open(conf + '.log', 'w'))
        deadline = time.monotonic() + 600
        url = engines.cell_url()
        while sum(n['host'].startswith('fake-') for n in compute_nodes.get_all(url)) < hosts:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f'fleet process did not come up (see {conf}.log)')
            time.sleep(1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Timings:
    """Per select_destinations call: total, placement's candidates and claim
    calls (HTTP, placement's own time), and the wait for the scheduler's lock."""

    def __init__(self, sched: Any) -> None:
        self.calls: list[dict[str, float]] = []
        self._tls = threading.local()
        self._wrap(sched, '_candidates', 'candidates')
        self._wrap(sched, '_join', 'candidates')   # a read shared with another select
        self._wrap(sched.placement, 'claim_resources', 'claim')
        lock = sched._lock
        timings = self

        class TimedLock:
            def __enter__(self) -> None:
                t0 = time.perf_counter()
                lock.acquire()
                timings._cur()['lock'] += time.perf_counter() - t0

            def __exit__(self, *exc: Any) -> None:
                lock.release()
        sched._lock = TimedLock()
        select = sched.select_destinations

        def timed_select(*a: Any, **kw: Any) -> Any:
            self._tls.cur = cur = {'candidates': 0.0, 'claim': 0.0, 'lock': 0.0}
            t0 = time.perf_counter()
            try:
                return select(*a, **kw)
            finally:
                cur['total'] = time.perf_counter() - t0
                cur['own'] = cur['total'] - cur['candidates'] - cur['claim'] - cur['lock']
                self.calls.append(cur)
        sched.select_destinations = timed_select

    def _cur(self) -> dict[str, float]:
        cur = getattr(self._tls, 'cur', None)
        return cur if cur is not None else {'candidates': 0.0, 'claim': 0.0, 'lock': 0.0}

    def _wrap(self, obj: Any, name: str, key: str) -> None:
        fn = getattr(obj, name)

        def timed(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self._cur()[key] += time.perf_counter() - t0
        setattr(obj, name, timed)

    def summary(self, since: int = 0) -> dict[str, float]:
        calls = self.calls[since:]
        out: dict[str, float] = {'calls': len(calls)}
        for key in ('total', 'candidates', 'claim', 'lock', 'own'):
            vals = [c[key] for c in calls]
            out[f'{key}_p50_ms'] = boot_delete.pct(vals, 0.5) * 1000
            out[f'{key}_p95_ms'] = boot_delete.pct(vals, 0.95) * 1000
        return out


def scheduler(aio: Any) -> Any:
    from minova.scheduler.manager import SchedulerManager
    return next(s.manager for s in aio.services if isinstance(s.manager, SchedulerManager))


def bench_select(aio: Any, n: int) -> None:
    from minova.context import get_admin_context
    sched = scheduler(aio)
    ctx = get_admin_context()
    spec = {'flavor': {'vcpus': 1, 'memory_mb': 64, 'root_gb': 1, 'ephemeral_gb': 0,
                       'swap': 0, 'extra_specs': {}},
            'project_id': 'bench', 'user_id': 'bench', 'availability_zone': None,
            'image': {'id': boot_delete.IMAGE, 'properties': {}}}
    # Back to back, each select would use the answer the one before read
    # ([scheduler] candidates_reuse_seconds); an idle cloud's select reads
    # its own, and that is the one timed here.
    from minova.conf import CONF
    CONF.set_override('candidates_reuse_seconds', 0, group='scheduler')
    try:
        for _ in range(n):
            consumer = str(uuid.uuid4())
            sched.select_destinations(ctx, spec, [consumer])
            sched.placement.delete_allocation_for_instance(ctx, consumer)
    finally:
        CONF.clear_override('candidates_reuse_seconds', group='scheduler')


def time_collections(clock: Any) -> tuple[dict[int, list[float]], Any]:
    """Each garbage collection's duration by generation, timed with `clock`
    from now on: (the durations, a function that stops the timing)."""
    import gc
    collections: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == 'start':
            started[:] = [clock()]
        elif started:
            collections[info['generation']].append(clock() - started[0])
    gc.callbacks.append(on_gc)
    return collections, lambda: gc.callbacks.remove(on_gc)


def profile(aio: Any, n: int, top: int = 30) -> None:
    """--profile: the process's CPU while idle (the fleet's periodic work),
    then n idle selects under cProfile (this thread only: placement's HTTP
    handlers run in others, so what shows is the scheduler's side and the
    client's wait and decode), split by step, and the top functions."""
    import cProfile
    import pstats
    time.sleep(30)     # the fleet's heartbeats start one report_interval after it is up
    t0, c0 = time.monotonic(), time.process_time()
    time.sleep(10)
    cpu = time.process_time() - c0
    print(f'idle process: {cpu / (time.monotonic() - t0) * 100:.1f} % of one core '
          '(the fleet\'s heartbeats, usage flushes and resource updates)', flush=True)
    bench_select(aio, 3)     # warm the host cache and the statements
    # Unprofiled first: this thread's CPU per select (cProfile's cost per
    # call inflates functions called per host), and its parts.
    from minova.cells import lookup
    from minova.db import aggregates
    from minova.scheduler import host_manager
    from minova.scheduler import manager as sched_manager
    sched = scheduler(aio)
    parts: dict[str, list[float]] = {'select': [], 'candidates': [], 'claim': [],
                                     'host states': [], 'filters': [], 'rank': [],
                                     'node cache': [], 'aggregates': [], 'host mappings': []}
    cur: dict[str, float] = {}

    def cpu_of(obj: Any, name: str, key: str) -> Any:
        fn = getattr(obj, name)

        def timed(*a: Any, **kw: Any) -> Any:
            c = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                cur[key] = cur.get(key, 0.0) + time.thread_time() - c
        setattr(obj, name, timed)
        return fn
    originals = [(sched, '_candidates', cpu_of(sched, '_candidates', 'candidates')),
                 (sched.placement, 'claim_resources',
                  cpu_of(sched.placement, 'claim_resources', 'claim')),
                 (sched, 'select_destinations',
                  cpu_of(sched, 'select_destinations', 'select')),
                 (host_manager.AnswerStates, 'states',
                  cpu_of(host_manager.AnswerStates, 'states', 'host states')),
                 (sched_manager, 'filter_hosts',
                  cpu_of(sched_manager, 'filter_hosts', 'filters')),
                 (sched, '_rank', cpu_of(sched, '_rank', 'rank')),
                 (sched.host_cache, 'nodes', cpu_of(sched.host_cache, 'nodes', 'node cache')),
                 (aggregates, 'host_metadata',
                  cpu_of(aggregates, 'host_metadata', 'aggregates')),
                 (lookup, 'host_cells', cpu_of(lookup, 'host_cells', 'host mappings'))]
    import gc
    collections, stop_timing = time_collections(time.perf_counter)
    t_sel = time.perf_counter()
    for _ in range(n):
        cur.clear()
        bench_select(aio, 1)
        for key in parts:
            parts[key].append(cur.get(key, 0.0))
    t_sel = time.perf_counter() - t_sel
    stop_timing()
    for obj, name, fn in originals:
        setattr(obj, name, fn)
    print(f'garbage collections during {n} selects ({t_sel:.1f} s, all threads): ' + ', '.join(
        f'gen{g} {len(v)} ({sum(v) * 1000:.0f} ms, longest {max(v, default=0) * 1000:.0f} ms)'
        for g, v in collections.items()) + f'; {len(gc.get_objects())} objects tracked',
        flush=True)
    own = [s - c - k for s, c, k in zip(parts['select'], parts['candidates'], parts['claim'],
                                         strict=True)]
    print(f"{n} selects, unprofiled, CPU of the calling thread p50 / p95: select "
          f"{boot_delete.pct(parts['select'], 0.5) * 1000:.1f} / "
          f"{boot_delete.pct(parts['select'], 0.95) * 1000:.1f} ms, of which candidates "
          f"(HTTP client + decode) {boot_delete.pct(parts['candidates'], 0.5) * 1000:.1f} ms, "
          f"claim {boot_delete.pct(parts['claim'], 0.5) * 1000:.1f} ms, scheduler own "
          f"{boot_delete.pct(own, 0.5) * 1000:.1f} / {boot_delete.pct(own, 0.95) * 1000:.1f} ms"
          " (p50 of its parts: " + ', '.join(
              f'{k} {boot_delete.pct(parts[k], 0.5) * 1000:.2f} ms'
              for k in ('host states', 'node cache', 'aggregates', 'host mappings',
                        'filters', 'rank')) + ')', flush=True)
    prof = cProfile.Profile(time.thread_time)   # CPU: wall time moves with the load
    c0 = time.process_time()
    prof.enable()
    bench_select(aio, n)
    prof.disable()
    print(f'{n} selects: {(time.process_time() - c0) / n * 1000:.1f} ms CPU each '
          '(the whole process, the select and delete calls included)', flush=True)
    stats = pstats.Stats(prof)
    steps = {'select_destinations': 'select_destinations',
             '_candidates': 'candidates (HTTP + decode)', 'loads': 'decode (orjson/json)',
             'states': 'host states', 'filter_hosts': 'filters',
             '_rank': 'weigh/rank', 'claim_resources': 'claim (HTTP)',
             'alternates_for': 'alternates', 'delete_allocation_for_instance': 'delete'}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (_, _, func), (_, calls, _tt, ct, _) in sorted(raw.items(), key=lambda kv: -kv[1][3]):
        func = 'loads' if func.endswith('.loads>') and 'json' in func else func
        if func in steps:
            print(f'  {steps.pop(func):28} {ct / n * 1000:7.2f} ms CPU/select cumulative '
                  f'({calls} calls)')
    stats.sort_stats('tottime').print_stats(top)
    stats.print_callees('states|_build|_rank|weigh|nodes|changed_for_scheduling|_apply|host_cells|_call')


def profile_boots(aio: Any, args: argparse.Namespace, cpu_by: Any) -> None:
    """--profile-boots: the process's CPU per boot through the REST API (the
    whole interpreter: API, conductor, scheduler, placement and the fleet),
    unprofiled, then the same boots sampled by py-spy (threads holding the
    GIL), with the process's idle CPU (the fleet's periodic work) measured
    first."""
    rest = argparse.Namespace(nova=f'http://127.0.0.1:{aio.api_port}/v2.1',
                              token='admin:admin', poll=0.05)
    boot_delete.ensure_flavor(rest)
    bench_select(aio, 3)
    warm = [boot_delete.boot_one(rest, i) for i in range(3)]
    for sid, _ in warm:
        boot_delete.delete_one(rest, sid)
    # The fleet's heartbeats start one report_interval after it is up.
    from minova.conf import CONF
    wait = CONF.report_interval + 2 if args.profile_wait is None else args.profile_wait
    time.sleep(max(0.0, wait - (time.monotonic() - args.started)))
    t0, c0 = time.monotonic(), time.process_time()
    time.sleep(10)
    idle = (time.process_time() - c0) / (time.monotonic() - t0)
    print(f'idle process: {idle * 100:.1f} % of one core', flush=True)

    import gc
    collections, _ = time_collections(time.thread_time)

    def boots(label: str) -> None:
        cpu_by.reset()
        for v in collections.values():
            v.clear()
        t0, c0 = time.monotonic(), time.process_time()
        with ThreadPoolExecutor(args.threads) as pool:
            booted = list(pool.map(lambda i: boot_delete.boot_one(rest, i), range(args.n)))
        wall, cpu = time.monotonic() - t0, time.process_time() - c0
        print(f'{label}: {args.n} boots, {args.n / wall:.1f} boots/s, process CPU '
              f'{cpu / args.n * 1000:.1f} ms per boot ({cpu / wall * 100:.0f} % of one core; '
              f'idle share {idle * wall / args.n * 1000:.1f} ms per boot)', flush=True)
        print('  garbage collections per boot: ' + ', '.join(
            f'gen{g} {len(v) / args.n:.1f} ({sum(v) / args.n * 1000:.2f} ms)'
            for g, v in collections.items()), flush=True)
        ports = {str(aio.api_port): 'api', str(aio.placement_port): 'placement'}
        print('  CPU per boot by entry point (ms, calls per boot):')
        for key, ms, calls in cpu_by.table(args.n, cpu, args.profile_top, ports):
            print(f'  {ms:8.2f} {calls:7.2f}  {key}')
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(lambda s: boot_delete.delete_one(rest, s[0]), booted))
        # What a full collection walks: the objects made since the freeze.
        from collections import Counter
        kinds = Counter(type(o).__name__ for o in gc.get_objects())
        print(f'  objects the collector tracks after the deletes: {sum(kinds.values())} ('
              + ', '.join(f'{k} {v}' for k, v in kinds.most_common(8)) + ')', flush=True)
    boots('unprofiled')
    if not args.pyspy:
        return
    # py-spy samples the threads holding the GIL: in one interpreter that
    # is where the CPU of a boot goes.
    out = f'/tmp/pyspy-{args.hosts}.txt'
    spy = subprocess.Popen(['py-spy', 'record', '--pid', str(os.getpid()), '--rate', '200',
                            '--gil', '--nonblocking', '--format', 'raw', '-o', out],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    boots('under py-spy')
    spy.send_signal(2)
    spy.wait(60)
    print(f'py-spy samples in {out}', flush=True)


def consumers() -> set[str]:
    """Every consumer holding an allocation in placement."""
    import sqlalchemy as sa

    from minova.db import engines
    from minova.placement.tables import allocations
    with engines.reader(engines.placement_url()) as conn:
        return {r[0] for r in conn.execute(sa.select(allocations.c.consumer_id).distinct())}


def check(rest: argparse.Namespace, booted: set[str]) -> str:
    """Every booted server ACTIVE, and placement's consumers exactly the live
    servers: 'ok' or what is wrong."""
    servers = boot_delete.call(rest, 'GET', '/servers/detail?all_tenants=1').json()['servers']
    live = {s['id'] for s in servers}
    problems = []
    not_active = [s['id'] for s in servers if s['status'] != 'ACTIVE']
    if not_active:
        problems.append(f'{len(not_active)} servers not ACTIVE')
    if live != booted:
        problems.append(f'{len(live)} live servers, {len(booted)} booted')
    held = consumers()
    if held != live:
        problems.append(f'{len(held - live)} allocations without a server, '
                        f'{len(live - held)} servers without one')
    return '; '.join(problems) or 'ok'


def _boots(nova: str, n: int, threads: int) -> list[tuple[str, float]]:
    """Boot n servers from `threads` threads: (id, POST->ACTIVE seconds) each."""
    rest = argparse.Namespace(nova=nova, token='admin:admin', poll=0.05)
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda i: boot_delete.boot_one(rest, i), range(n)))


def _deletes(nova: str, ids: list[str], threads: int) -> None:
    rest = argparse.Namespace(nova=nova, token='admin:admin', poll=0.05)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda sid: boot_delete.delete_one(rest, sid), ids))


class Client:
    """Where the REST client runs: a spawned process of its own, started and
    warmed before any timing (where == 'process'), or this process."""

    def __init__(self, where: str) -> None:
        self.pool = None
        if where == 'process':
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'))
            self.pool.submit(time.sleep, 0).result()  # the new interpreter's imports

    def __call__(self, fn: Any, *a: Any) -> Any:
        return fn(*a) if self.pool is None else self.pool.submit(fn, *a).result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def run_one(args: argparse.Namespace, hosts: int) -> dict[str, Any]:
    res: dict[str, Any] = {'hosts': hosts, 'servers': args.n, 'threads': args.threads}
    cpu_by = None
    if args.profile_boots:
        import cpu_by_entry
        cpu_by = cpu_by_entry.CpuByEntry().install()
        cpu_by._patch(boot_delete, 'call', lambda _a, method, path, *r, **k:
                      f'bench client {method} {cpu_by_entry._IDS.sub("/ID", path)}')
    aio, fleet = start(hosts, args.db, args.transport_url, args.fleet_process,
                       not args.no_freeze, args.gc_threshold)
    if cpu_by is not None:
        cpu_by.on = True
    args.started = time.monotonic()
    try:
        if args.profile:
            profile(aio, args.selects)
            return res
        if args.profile_boots:
            profile_boots(aio, args, cpu_by)
            return res
        timings = Timings(scheduler(aio))
        bench_select(aio, args.selects)
        res['select'] = timings.summary()
        sel = res['select']
        print(f"select_destinations with {hosts} hosts: p50 {sel['total_p50_ms']:.1f} ms, "
              f"p95 {sel['total_p95_ms']:.1f} ms ({args.selects} calls); placement's "
              f"candidates p50 {sel['candidates_p50_ms']:.1f} ms, claim p50 "
              f"{sel['claim_p50_ms']:.1f} ms; the scheduler's own p50 "
              f"{sel['own_p50_ms']:.1f} ms, p95 {sel['own_p95_ms']:.1f} ms", flush=True)
        rest = argparse.Namespace(nova=f'http://127.0.0.1:{aio.api_port}/v2.1',
                                  token='admin:admin', poll=0.05)
        boot_delete.ensure_flavor(rest)
        before = len(timings.calls)
        client = Client(args.client)
        t0 = time.monotonic()
        booted = client(_boots, rest.nova, args.n, args.threads)
        wall = time.monotonic() - t0
        lat = [t for _, t in booted]
        res.update(boots_per_s=args.n / wall, boot_wall_s=wall,
                   post_to_active_p50_ms=boot_delete.pct(lat, 0.5) * 1000,
                   post_to_active_p95_ms=boot_delete.pct(lat, 0.95) * 1000,
                   select_in_boots=timings.summary(before))
        sb = res['select_in_boots']
        where = 'a process of their own' if args.client == 'process' else 'this process'
        print(f"{args.n} boots over {hosts} hosts from {args.threads} client threads "
              f"(in {where}): "
              f"{res['boots_per_s']:.1f} boots/s; POST->ACTIVE p50 "
              f"{res['post_to_active_p50_ms']:.0f} ms, p95 {res['post_to_active_p95_ms']:.0f} ms;"
              f" select_destinations during the boots p50 {sb['total_p50_ms']:.1f} ms "
              f"(own {sb['own_p50_ms']:.1f}, candidates {sb['candidates_p50_ms']:.1f}, "
              f"lock wait {sb['lock_p50_ms']:.1f})", flush=True)
        res['check_booted'] = check(rest, {sid for sid, _ in booted})
        t0 = time.monotonic()
        client(_deletes, rest.nova, [sid for sid, _ in booted], args.threads)
        client.close()
        res['deletes_per_s'] = args.n / (time.monotonic() - t0)
        left = consumers()
        res['check_deleted'] = 'ok' if not left else f'{len(left)} allocations left'
        print(f"check after boots: {res['check_booted']}; after deletes: "
              f"{res['check_deleted']}", flush=True)
    finally:
        fleet.stop()
        aio.stop()
        import shutil

        from minova.conf import CONF
        shutil.rmtree(CONF.state_path, ignore_errors=True)  # made by start()
    return res


def compare(args: argparse.Namespace, sizes: list[int]) -> int:
    """Each size in its own process, then one table."""
    results: list[dict[str, Any]] = []
    for hosts in sizes:
        fd, out = tempfile.mkstemp(suffix='.json', prefix='scale-')
        os.close(fd)
        cmd = [sys.executable, __file__, '--hosts', str(hosts), '--selects', str(args.selects),
               '-n', str(args.n), '-t', str(args.threads), '--json-out', out]
        if args.db:
            cmd += ['--db', args.db]
        if args.transport_url:
            cmd += ['--transport-url', args.transport_url]
        if args.fleet_process:
            cmd += ['--fleet-process']
        if args.no_freeze:
            cmd += ['--no-freeze']
        if args.gc_threshold:
            cmd += ['--gc-threshold', str(args.gc_threshold)]
        cmd += ['--client', args.client]
        print(f'--- {hosts} hosts', flush=True)
        try:
            subprocess.run(cmd, timeout=args.timeout, check=True)
            with open(out) as f:
                results.append(json.load(f))
        except (subprocess.SubprocessError, ValueError) as e:
            print(f'{hosts} hosts: no result ({e})', flush=True)
            results.append({'hosts': hosts})
        finally:
            os.unlink(out)
    print()
    print('| hosts | boots/s | vs previous | POST->ACTIVE p50 / p95 | select p50 / p95 '
          '| placement candidates p50 | scheduler own p50 / p95 | check |')
    print('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    ok = True
    prev: float | None = None
    for r in results:
        if 'boots_per_s' not in r:
            print(f"| {r['hosts']} | failed | | | | | | |")
            ok, prev = False, None
            continue
        sel = r['select']
        ratio = f"{r['boots_per_s'] / prev:.0%}" if prev else ''
        checks = r['check_booted'] if r['check_deleted'] == 'ok' else \
            f"{r['check_booted']}; {r['check_deleted']}"
        ok = ok and checks == 'ok'
        print(f"| {r['hosts']} | {r['boots_per_s']:.1f} | {ratio} | "
              f"{r['post_to_active_p50_ms']:.0f} / {r['post_to_active_p95_ms']:.0f} ms | "
              f"{sel['total_p50_ms']:.1f} / {sel['total_p95_ms']:.1f} ms | "
              f"{sel['candidates_p50_ms']:.1f} ms | "
              f"{sel['own_p50_ms']:.1f} / {sel['own_p95_ms']:.1f} ms | {checks} |")
        prev = r['boots_per_s']
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--hosts', default='1000',
                    help='fake hosts, or sizes to compare: 2,50,1000')
    ap.add_argument('--selects', type=int, default=50)
    ap.add_argument('-n', type=int, default=200, help='servers to boot')
    ap.add_argument('-t', '--threads', type=int, default=10)
    ap.add_argument('--db', help='SQLAlchemy URL with {kind} for the DB name '
                                 '(default: SQLite files)')
    ap.add_argument('--transport-url', help='e.g. rabbit://guest:guest@127.0.0.1:5672/ '
                                            '(default: the in-memory bus)')
    ap.add_argument('--fleet-process', action='store_true',
                    help='run the fake hosts in a process of their own (needs '
                         '--transport-url: the in-memory bus is one process)')
    ap.add_argument('--client', choices=('process', 'threads'), default='process',
                    help='where the REST client\'s threads run: a process of their own '
                         '(default), or this one, beside the control plane')
    ap.add_argument('--timeout', type=float, default=600,
                    help='seconds allowed for each size when comparing several')
    ap.add_argument('--no-freeze', action='store_true',
                    help='do not tune the collector once started (gc.freeze() and '
                         'the first threshold of minova.cmd.common.tune_gc)')
    ap.add_argument('--profile', action='store_true',
                    help='one size: the idle CPU of the process, then --selects '
                         'selects under cProfile (no boots)')
    ap.add_argument('--gc-threshold', type=int, default=0,
                    help='the collector\'s first threshold in this process (by '
                         'default minova.cmd.common.GC_FIRST_THRESHOLD, or CPython\'s 700 '
                         'with --no-freeze), to see what its collections cost')
    ap.add_argument('--profile-boots', action='store_true',
                    help='one size: the process CPU per boot through the API, then '
                         'the boots under yappi (every thread), top functions')
    ap.add_argument('--profile-top', type=int, default=60)
    ap.add_argument('--pyspy', action='store_true',
                    help='with --profile-boots: boots again under py-spy (--gil)')
    ap.add_argument('--profile-wait', type=float, default=None,
                    help='with --profile-boots: seconds to wait after start-up before '
                         'the boots (default: until the heartbeats run)')
    ap.add_argument('--profile-min-ms', type=float, default=2.0)
    ap.add_argument('--json-out', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fleet_process and not args.transport_url:
        ap.error('--fleet-process needs --transport-url')
    sizes = [int(h) for h in args.hosts.split(',')]
    if len(sizes) > 1:
        return compare(args, sizes)
    res = run_one(args, sizes[0])
    if args.profile or args.profile_boots:
        return 0
    if args.json_out:
        with open(args.json_out, 'w') as f:
            json.dump(res, f)
    return 0 if res['check_booted'] == res['check_deleted'] == 'ok' else 1


if __name__ == '__main__':
    sys.exit(main())
