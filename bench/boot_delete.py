#!/usr/bin/env python3
"""Boot and delete N servers through the compute REST API; print the figures.

Against a running mini-Nova (or any Nova) with a fake driver:

  python bench/boot_delete.py --nova http://127.0.0.1:8774/v2.1 -n 100 -t 10

With --all-in-one it starts a private all-in-one (SQLite, in-memory
transport, fake driver) in this process on ephemeral ports and measures that.

Prints boots per second (all POSTs from T threads until every server is
ACTIVE), POST->ACTIVE p50/p95 per server, and deletes per second.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from minova.image.builtin import TINY_IMAGE_ID

IMAGE = TINY_IMAGE_ID   # the all-in-one's built-in image (minova-tiny)
_tls = threading.local()


def session(args: argparse.Namespace) -> requests.Session:
    s = getattr(_tls, 's', None)
    if s is None:
        s = _tls.s = requests.Session()
        s.headers.update({'X-Auth-Token': args.token,
                          'OpenStack-API-Version': 'compute 2.37',
                          'Content-Type': 'application/json'})
    return s


def call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    r = session(args).request(method, args.nova + path, json=body, timeout=60)
    if r.status_code >= 400 and not (method == 'GET' and r.status_code == 404):
        raise RuntimeError(f'{method} {path}: {r.status_code} {r.text[:300]}')
    return r


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float('nan')
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ensure_flavor(args: argparse.Namespace) -> None:
    if call(args, 'GET', '/flavors/bench-tiny').status_code == 404:
        call(args, 'POST', '/flavors', {'flavor': {'name': 'bench-tiny', 'id': 'bench-tiny',
                                                   'vcpus': 1, 'ram': 64, 'disk': 1}})


def boot_one(args: argparse.Namespace, i: int) -> tuple[str, float]:
    t0 = time.monotonic()
    r = call(args, 'POST', '/servers', {'server': {
        'name': f'bench-{i}', 'flavorRef': 'bench-tiny', 'imageRef': IMAGE,
        'networks': 'none'}})
    sid = r.json()['server']['id']
    while True:
        s = call(args, 'GET', f'/servers/{sid}').json()['server']
        if s['status'] in ('ACTIVE', 'ERROR'):
            if s['status'] == 'ERROR':
                raise RuntimeError(f'{sid} ERROR: {s.get("fault")}')
            return sid, time.monotonic() - t0
        time.sleep(args.poll)


def delete_one(args: argparse.Namespace, sid: str) -> None:
    call(args, 'DELETE', f'/servers/{sid}')
    while call(args, 'GET', f'/servers/{sid}').status_code != 404:
        time.sleep(args.poll)


def run(args: argparse.Namespace) -> dict[str, Any]:
    ensure_flavor(args)
    # sequential: one at a time
    seq = [boot_one(args, i) for i in range(args.seq)]
    for sid, _ in seq:
        delete_one(args, sid)
    # concurrent
    t0 = time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        booted = list(pool.map(lambda i: boot_one(args, i), range(args.n)))
    boot_wall = time.monotonic() - t0
    t0 = time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(lambda s: delete_one(args, s[0]), booted))
    delete_wall = time.monotonic() - t0
    lat = [t for _, t in booted]
    seq_lat = [t for _, t in seq]
    return {
        'servers': args.n, 'threads': args.threads,
        'boots_per_s': args.n / boot_wall, 'boot_wall_s': boot_wall,
        'post_to_active_p50_s': pct(lat, 0.5), 'post_to_active_p95_s': pct(lat, 0.95),
        'sequential_post_to_active_p50_s': pct(seq_lat, 0.5) if seq_lat else None,
        'deletes_per_s': args.n / delete_wall, 'delete_wall_s': delete_wall,
    }


def start_all_in_one() -> Any:
    from minova.cmd import all_in_one, common
    from minova.conf import CONF
    common.parse_args([], default_config_files=[])
    CONF.set_override('state_path', tempfile.mkdtemp(prefix='minova-bench-'))
    CONF.set_override('host', 'bench-host')
    for opt in ('instances', 'cores', 'ram'):
        CONF.set_override(opt, -1, group='quota')
    aio = all_in_one.AllInOne(api_port=0, placement_port=0)
    aio.start()
    return aio


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--nova', default='http://127.0.0.1:8774/v2.1')
    ap.add_argument('--all-in-one', action='store_true',
                    help='start a private all-in-one in this process and measure it')
    ap.add_argument('-n', type=int, default=100, help='concurrent boots')
    ap.add_argument('-t', '--threads', type=int, default=10)
    ap.add_argument('--seq', type=int, default=20, help='sequential boots first')
    ap.add_argument('--poll', type=float, default=0.05)
    ap.add_argument('--token', default='admin:admin')
    ap.add_argument('--out', help='write the figures as JSON here')
    args = ap.parse_args()
    aio = None
    if args.all_in_one:
        aio = start_all_in_one()
        args.nova = f'http://127.0.0.1:{aio.api_port}/v2.1'
    try:
        res = run(args)
    finally:
        if aio is not None:
            aio.stop()
    res['run_id'] = str(uuid.uuid4())
    print(f"{res['servers']} boots from {res['threads']} threads: "
          f"{res['boots_per_s']:.1f} boots/s (wall {res['boot_wall_s']:.2f} s)")
    print(f"POST->ACTIVE p50 {res['post_to_active_p50_s'] * 1000:.0f} ms, "
          f"p95 {res['post_to_active_p95_s'] * 1000:.0f} ms")
    if res['sequential_post_to_active_p50_s'] is not None:
        print(f"sequential POST->ACTIVE p50 "
              f"{res['sequential_post_to_active_p50_s'] * 1000:.0f} ms ({args.seq} boots)")
    print(f"{res['servers']} deletes: {res['deletes_per_s']:.1f} deletes/s "
          f"(wall {res['delete_wall_s']:.2f} s)")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
