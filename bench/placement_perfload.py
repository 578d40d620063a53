#!/usr/bin/env python3
"""Allocation candidates at 1,000 providers: mini-Nova's placement against
upstream OpenStack Placement on the same database engine (MariaDB).

  python bench/placement_perfload.py --providers 1000 --repeat 50

The shape is upstream Placement's own perfload job: N compute-node-like
providers, each with VCPU, MEMORY_MB and DISK_GB inventory, all in one
aggregate and all with the trait HW_CPU_X86_AVX2. Then

  GET /allocation_candidates?resources=VCPU:1,DISK_GB:10,MEMORY_MB:256
      &member_of=<agg>&required=HW_CPU_X86_AVX2&limit=1000

is timed --repeat times, and again while a writer thread keeps claiming and
releasing allocations. Each placement gets a fresh MariaDB database and runs
as a server process on loopback (mini-Nova: minova-placement; upstream:
gunicorn with 2 workers in its own venv, see
tests/integration/placement_compat/upstream.py). Prints p50/p95 for both and
the ratio upstream/mini-Nova.
"""
from __future__ import annotations

import argparse
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
from tests.integration.placement_compat import upstream  # noqa: E402

HEADERS = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.31',
           'Accept': 'application/json'}
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
         expect: tuple[int, ...] = (200, 201, 204)) -> requests.Response:
    r = session().request(method, base + path, json=body, timeout=120)
    if r.status_code not in expect:
        raise RuntimeError(f'{method} {path}: {r.status_code} {r.text[:300]}')
    return r


def mysql(sql: str) -> None:
    subprocess.run(['mysql', '-h127.0.0.1', '-uroot', '-e', sql], check=True)


def fresh_db(name: str) -> str:
    mysql(f'DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4')
    return f'mysql+pymysql://root@127.0.0.1/{name}'


def load(base: str, n: int) -> tuple[str, list[str]]:
    agg = str(uuid.uuid4())

    def one(i: int) -> str:
        rp = str(uuid.uuid4())
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

    with ThreadPoolExecutor(8) as pool:
        rps = list(pool.map(one, range(n)))
    return agg, rps


def time_candidates(base: str, agg: str, repeat: int, expect: int) -> list[float]:
    path = ('/allocation_candidates?resources=VCPU:1,DISK_GB:10,MEMORY_MB:256'
            f'&member_of={agg}&required=HW_CPU_X86_AVX2&limit=1000')
    times = []
    for _ in range(repeat):
        t0 = time.monotonic()
        body = call(base, 'GET', path).json()
        times.append(time.monotonic() - t0)
        if len(body['allocation_requests']) != expect:
            raise RuntimeError(f"{len(body['allocation_requests'])} candidates, "
                               f'expected {expect}')
    return times


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
    agg, rps = load(base, args.providers)
    loaded = time.monotonic() - t0
    time_candidates(base, agg, 3, args.providers)  # warm caches and pools
    quiet = time_candidates(base, agg, args.repeat, args.providers)
    stop, counter = threading.Event(), [0]
    writers = [threading.Thread(target=writer, args=(base, rps, stop, counter))
               for _ in range(args.writers)]
    for w in writers:
        w.start()
    t0 = time.monotonic()
    try:
        busy = time_candidates(base, agg, args.repeat, args.providers)
    finally:
        stop.set()
        for w in writers:
            w.join()
    writes = counter[0] / (time.monotonic() - t0)
    return {'name': name, 'load_s': loaded, 'quiet': quiet, 'busy': busy,
            'writes_per_s': writes}


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
    args = ap.parse_args()
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
            results.append(run_one('upstream placement 16', up.base, args))
        finally:
            up.stop()
            mysql(f'DROP DATABASE IF EXISTS perf_upstream_{suffix}')
    print(f'GET /allocation_candidates, {args.providers} providers, MariaDB, '
          f'{args.repeat} requests each:')
    for r in results:
        print(f"  {r['name']:<24} quiet p50 {pct(r['quiet'], .5) * 1000:7.1f} ms  "
              f"p95 {pct(r['quiet'], .95) * 1000:7.1f} ms | with {args.writers} writers "
              f"p50 {pct(r['busy'], .5) * 1000:7.1f} ms  p95 {pct(r['busy'], .95) * 1000:7.1f}"
              f" ms ({r['writes_per_s']:.0f} claim+release/s) | load {r['load_s']:.1f} s")
    if len(results) == 2:
        mine, theirs = results
        for key in ('quiet', 'busy'):
            print(f'  ratio upstream/mini-Nova ({key}): p50 '
                  f'{pct(theirs[key], .5) / pct(mine[key], .5):.2f}x, p95 '
                  f'{pct(theirs[key], .95) / pct(mine[key], .95):.2f}x')
    return 0


if __name__ == '__main__':
    sys.exit(main())
