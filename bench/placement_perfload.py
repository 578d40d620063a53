#!/usr/bin/env python3
"""Allocation candidates at scale: mini-Nova's placement against upstream
OpenStack Placement on the same database engine (MariaDB).

  python bench/placement_perfload.py --providers 1000 --repeat 50
  python bench/placement_perfload.py --providers 10000 --repeat 30

The shape is upstream Placement's own perfload job (gate/perfload-runner.sh):
N compute-node-like providers, each with VCPU, MEMORY_MB and DISK_GB
inventory, all in one aggregate and all with the trait HW_CPU_X86_AVX2. Then

  GET /allocation_candidates?resources=VCPU:1,DISK_GB:10,MEMORY_MB:256
      &member_of=<agg>&required=HW_CPU_X86_AVX2

at the newest microversion mini-Nova serves and, as upstream's timed
request, without a limit (--limit adds one), is timed --repeat times (or
until --phase-seconds), and again while writer threads keep claiming and
releasing allocations. `--shape scheduler` times instead the request
mini-Nova's scheduler sends (minova/clients/placement.py), on the same
providers, at its microversion (1.29):

  GET /allocation_candidates?resources=DISK_GB:10,MEMORY_MB:256,VCPU:1
      &limit=1000&required=!COMPUTE_STATUS_DISABLED
 A request is timed until its whole body has arrived
(as perfload's curl does), not while the client parses it. Each placement
gets a fresh MariaDB database and runs as a server process on loopback
(mini-Nova: minova-placement; upstream: gunicorn with 2 workers in its own
venv, see tests/integration/placement_compat/upstream.py), loaded with the
same provider uuids, so their answers to the quiet request are compared:
same candidates, same provider summaries. Prints p50/p95 for both and the
ratio upstream/mini-Nova.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from minova.clients import placement as placement_client  # noqa: E402
from minova.placement import microversion  # noqa: E402
from tests.integration.placement_compat import upstream  # noqa: E402

# writes at 1.31 (as before); the timed GET at --version
HEADERS = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.31',
           'Accept': 'application/json'}
# upstream perfload's aggregate (a static value in placeload)
AGGREGATE = '14a5c8a3-5a99-4e8f-88be-00d85fcb1c17'
_NS = uuid.UUID('6a0c1c1e-94f2-4d0f-9a57-6b5d3f1f2c11')
INVENTORY = {
    'VCPU': {'total': 32, 'allocation_ratio': 16.0, 'max_unit': 32},
    'MEMORY_MB': {'total': 131072, 'reserved': 512, 'max_unit': 131072},
    'DISK_GB': {'total': 2048, 'reserved': 10, 'max_unit': 2048},
}
_tls = threading.local()


def session() -> requests.Session:
    s = getattr(_tls, 's', None)
    if s is None:
        s = _tls.s = requests.Session()
        s.headers.update(HEADERS)
    return s


def call(base: str, method: str, path: str, body: Any = None,
         expect: tuple[int, ...] = (200, 201, 204), version: str | None = None
         ) -> requests.Response:
    headers = {'OpenStack-API-Version': f'placement {version}'} if version else None
    r = session().request(method, base + path, json=body, timeout=300, headers=headers)
    if r.status_code not in expect:
        raise RuntimeError(f'{method} {path}: {r.status_code} {r.text[:300]}')
    return r


def mysql(sql: str) -> None:
    subprocess.run(['mysql', '-h127.0.0.1', '-uroot', '-e', sql], check=True)


def fresh_db(name: str) -> str:
    mysql(f'DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4')
    return f'mysql+pymysql://root@127.0.0.1/{name}'


def max_version(base: str) -> str:
    return requests.get(base + '/', timeout=30).json()['versions'][0]['max_version']


def load(base: str, n: int, threads: int) -> tuple[str, list[str]]:
    agg = AGGREGATE

    def one(i: int) -> str:
        rp = str(uuid.uuid5(_NS, f'perf-{i}'))   # the same in both placements
        call(base, 'POST', '/resource_providers', {'uuid': rp, 'name': f'perf-{i:05d}'})
        gen = call(base, 'PUT', f'/resource_providers/{rp}/inventories', {
            'resource_provider_generation': 0, 'inventories': INVENTORY}
        ).json()['resource_provider_generation']
        gen = call(base, 'PUT', f'/resource_providers/{rp}/aggregates', {
            'aggregates': [agg], 'resource_provider_generation': gen}
        ).json()['resource_provider_generation']
        call(base, 'PUT', f'/resource_providers/{rp}/traits', {
            'traits': ['HW_CPU_X86_AVX2'], 'resource_provider_generation': gen})
        return rp

    with ThreadPoolExecutor(threads) as pool:
        rps = list(pool.map(one, range(n)))
    return agg, rps


def candidates_path(agg: str, limit: int | None, shape: str = 'perfload') -> str:
    if shape == 'scheduler':
        # as SchedulerReportClient.get_allocation_candidates writes it
        # (sorted classes, then limit, then the forbidden trait)
        return ('/allocation_candidates?resources=DISK_GB%3A10%2CMEMORY_MB%3A256%2CVCPU%3A1'
                f'&limit={limit}&required=%21COMPUTE_STATUS_DISABLED')
    path = ('/allocation_candidates?resources=VCPU:1,DISK_GB:10,MEMORY_MB:256'
            f'&member_of={agg}&required=HW_CPU_X86_AVX2')
    return path + (f'&limit={limit}' if limit else '')


def time_candidates(base: str, path: str, version: str, repeat: int, expect: int,
                    budget: float) -> tuple[list[float], Any]:
    """Request times (whole body received), and the last answer parsed."""
    times: list[float] = []
    body = None
    end = time.monotonic() + budget
    for i in range(repeat):
        t0 = time.monotonic()
        # one read of the whole body (requests' .content reads it 10 KiB at a
        # time: 500 Python-level reads for a 10,000-provider answer)
        r = session().get(base + path, timeout=300, stream=True,
                          headers={'OpenStack-API-Version': f'placement {version}'})
        raw = r.raw.read(decode_content=True)
        if r.status_code != 200:
            raise RuntimeError(f'GET {path}: {r.status_code} {raw[:300]!r}')
        times.append(time.monotonic() - t0)
        if i == 0 or i == repeat - 1 or time.monotonic() > end:
            body = json.loads(raw)
            if len(body['allocation_requests']) != expect:
                raise RuntimeError(f"{len(body['allocation_requests'])} candidates, "
                                   f'expected {expect}')
        if time.monotonic() > end and len(times) >= 5:
            break
    return times, body


def writer(base: str, rps: list[str], stop: threading.Event, counter: list[int]) -> None:
    """Claim and release allocations as a busy scheduler and its computes would."""
    while not stop.is_set():
        consumer = str(uuid.uuid4())
        call(base, 'PUT', f'/allocations/{consumer}', {
            'allocations': {random.choice(rps): {'resources': {
                'VCPU': 1, 'MEMORY_MB': 256, 'DISK_GB': 10}}},
            'project_id': 'perf', 'user_id': 'perf', 'consumer_generation': None},
            expect=(204, 409))
        call(base, 'DELETE', f'/allocations/{consumer}', expect=(204, 404))
        counter[0] += 1


def run_one(name: str, base: str, args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    agg, rps = load(base, args.providers, args.load_threads)
    loaded = time.monotonic() - t0
    path = candidates_path(agg, args.limit, args.shape)
    expect = min(args.providers, args.limit or args.providers)
    timed = (base, path, args.version)
    time_candidates(*timed, 3, expect, args.phase_seconds)  # warm caches and pools
    quiet, answer = time_candidates(*timed, args.repeat, expect, args.phase_seconds)
    stop, counter = threading.Event(), [0]
    writers = [threading.Thread(target=writer, args=(base, rps, stop, counter))
               for _ in range(args.writers)]
    for w in writers:
        w.start()
    t0 = time.monotonic()
    try:
        busy, _ = time_candidates(*timed, args.repeat, expect, args.phase_seconds)
    finally:
        stop.set()
        for w in writers:
            w.join()
    writes = counter[0] / (time.monotonic() - t0)
    return {'name': name, 'load_s': loaded, 'quiet': quiet, 'busy': busy,
            'writes_per_s': writes, 'answer': answer}


def same_answers(mine: Any, theirs: Any) -> str | None:
    """Where two answers to the same quiet request differ; None: nowhere."""
    def requests_of(body: Any) -> list[str]:
        return sorted(json.dumps(r, sort_keys=True) for r in body['allocation_requests'])
    if len(mine['allocation_requests']) != len(theirs['allocation_requests']):
        return (f"{len(mine['allocation_requests'])} against "
                f"{len(theirs['allocation_requests'])} candidates")
    if requests_of(mine) != requests_of(theirs):
        return 'different allocation requests'
    if mine['provider_summaries'] != theirs['provider_summaries']:
        differ = [u for u in set(mine['provider_summaries']) | set(theirs['provider_summaries'])
                  if mine['provider_summaries'].get(u) != theirs['provider_summaries'].get(u)]
        return f'{len(differ)} provider summaries differ, e.g. {differ[0]}'
    return None


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--providers', type=int, default=1000)
    ap.add_argument('--repeat', type=int, default=50)
    ap.add_argument('--writers', type=int, default=2, help='concurrent allocation writers')
    ap.add_argument('--only', choices=['minova', 'upstream'])
    ap.add_argument('--shape', choices=['perfload', 'scheduler'], default='perfload',
                    help="the timed request: upstream perfload's, or mini-Nova scheduler's")
    ap.add_argument('--limit', type=int, default=None,
                    help="limit= on the request (upstream's timed perfload request has none; "
                         "the scheduler's: 1000, [scheduler] max_placement_results)")
    ap.add_argument('--version', default=None,
                    help="placement microversion (default: the newest mini-Nova serves; "
                         "the scheduler's shape: the scheduler's)")
    ap.add_argument('--load-threads', type=int, default=8)
    ap.add_argument('--phase-seconds', type=float, default=120.0,
                    help='stop a timed phase after this long (at least 5 requests)')
    args = ap.parse_args()
    if args.shape == 'scheduler':
        args.limit = args.limit or 1000
        args.version = args.version or placement_client.GRANULAR_VERSION
    args.version = args.version or microversion.MAX_VERSION
    results = []
    suffix = os.getpid()
    if args.only != 'upstream':
        mn = upstream.MinovaPlacement(fresh_db(f'perf_minova_{suffix}')).start()
        try:
            results.append(run_one('mini-Nova placement', mn.base, args))
        finally:
            mn.stop()
            mysql(f'DROP DATABASE IF EXISTS perf_minova_{suffix}')
    if args.only != 'minova':
        up = upstream.UpstreamPlacement(fresh_db(f'perf_upstream_{suffix}')).start()
        try:
            served = max_version(up.base)
            if tuple(map(int, served.split('.'))) < tuple(map(int, args.version.split('.'))):
                raise SystemExit(f'upstream serves up to {served}, not {args.version}')
            results.append(run_one('upstream placement 16', up.base, args))
        finally:
            up.stop()
            mysql(f'DROP DATABASE IF EXISTS perf_upstream_{suffix}')
    print(f'GET /allocation_candidates ({args.shape}), {args.providers} providers, MariaDB, '
          f'placement {args.version}, limit {args.limit}, up to {args.repeat} requests each:')
    for r in results:
        print(f"  {r['name']:<24} quiet p50 {pct(r['quiet'], .5) * 1000:7.1f} ms  "
              f"p95 {pct(r['quiet'], .95) * 1000:7.1f} ms | with {args.writers} writers "
              f"p50 {pct(r['busy'], .5) * 1000:7.1f} ms  p95 {pct(r['busy'], .95) * 1000:7.1f}"
              f" ms ({r['writes_per_s']:.0f} claim+release/s) | load {r['load_s']:.1f} s"
              f" | n {len(r['quiet'])}/{len(r['busy'])}")
    if len(results) == 2:
        mine, theirs = results
        for key in ('quiet', 'busy'):
            print(f'  ratio upstream/mini-Nova ({key}): p50 '
                  f'{pct(theirs[key], .5) / pct(mine[key], .5):.2f}x, p95 '
                  f'{pct(theirs[key], .95) / pct(mine[key], .95):.2f}x')
        differ = same_answers(mine['answer'], theirs['answer'])
        print('  answers: ' + (f'DIFFERENT: {differ}' if differ else
                               f"the same ({len(mine['answer']['allocation_requests'])} "
                               'candidates, same provider summaries)'))
        if differ:
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
