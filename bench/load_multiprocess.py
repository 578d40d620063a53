#!/usr/bin/env python3
"""Boot and delete many servers (fake driver) through the multi-process,
two-cell deployment that minova-deploy brings up: several API workers, a
super-conductor, per-cell conductors and compute agents on RabbitMQ and
MariaDB (or PostgreSQL). Prints boots per second and POST-to-ACTIVE
p50/p95/p99, then tears the deployment down (unless --state-dir names one
that is already up, which is left running).

  python3 bench/load_multiprocess.py [--servers 100] [--threads 10]
      [--computes-per-cell 1] [--api-workers 2] [--db mysql|postgresql]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from minova.image.builtin import TINY_IMAGE_ID

IMAGE = TINY_IMAGE_ID   # minova-tiny; minova-deploy has no image service: unchecked


class Cloud:
    def __init__(self, port: int) -> None:
        self.base = f'http://127.0.0.1:{port}/v2.1'
        self.session = requests.Session()
        self.session.headers.update({'X-Auth-Token': 'admin:admin',
                                     'OpenStack-API-Version': 'compute 2.79'})

    def call(self, method: str, path: str, body: object = None) -> requests.Response:
        return requests.request(method, self.base + path, json=body,
                                headers=self.session.headers, timeout=120)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def boot_one(cloud: Cloud, name: str, deadline: float) -> tuple[str, float | None, str]:
    t0 = time.monotonic()
    r = cloud.call('POST', '/servers', {'server': {
        'name': name, 'flavorRef': 'bench', 'imageRef': IMAGE, 'networks': 'none'}})
    if r.status_code != 202:
        return '', None, f'POST {r.status_code}'
    sid = r.json()['server']['id']
    while time.monotonic() < deadline:
        status = cloud.call('GET', f'/servers/{sid}').json()['server']['status']
        if status == 'ACTIVE':
            return sid, time.monotonic() - t0, 'ACTIVE'
        if status == 'ERROR':
            return sid, None, 'ERROR'
        time.sleep(0.05)
    return sid, None, 'TIMEOUT'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--servers', type=int, default=100)
    ap.add_argument('--threads', type=int, default=10)
    ap.add_argument('--computes-per-cell', type=int, default=1)
    ap.add_argument('--api-workers', type=int, default=2)
    ap.add_argument('--db', default='mysql', choices=['mysql', 'postgresql'])
    ap.add_argument('--state-dir', help='use a deployment that is already up')
    ap.add_argument('--api-port', type=int, default=28774)
    ap.add_argument('--json', help='also write the figures here')
    args = ap.parse_args()

    owned = args.state_dir is None
    state = Path(args.state_dir or tempfile.mkdtemp(prefix='minova-bench-'))
    deploy = [sys.executable, '-m', 'minova.deploy.cli', '--state-dir', str(state)]
    if owned:
        t = time.monotonic()
        subprocess.run(deploy + ['up', '--db', args.db, '--prefix',
                                 'mnbench_' + uuid.uuid4().hex[:6],
                                 '--api-port', str(args.api_port),
                                 '--placement-port', str(args.api_port + 4),
                                 '--computes-per-cell', str(args.computes_per_cell),
                                 '--api-workers', str(args.api_workers)],
                       check=True, capture_output=True, text=True)
        print(f'deployment up in {time.monotonic() - t:.1f}s ({state})')
        port = args.api_port
    else:
        port = json.loads((state / 'deploy.json').read_text())['api_port']
    cloud = Cloud(port)
    try:
        r = cloud.call('POST', '/flavors', {'flavor': {'name': 'bench', 'id': 'bench',
                                                       'vcpus': 1, 'ram': 16, 'disk': 0}})
        assert r.status_code in (200, 409), r.text
        r = cloud.call('PUT', '/os-quota-sets/admin', {'quota_set': {
            'instances': -1, 'cores': -1, 'ram': -1}})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 600
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            results = list(pool.map(lambda i: boot_one(cloud, f'b-{i}', deadline),
                                    range(args.servers)))
        boot_wall = time.monotonic() - t0
        lat = [r[1] for r in results if r[1] is not None]
        outcome = {s: sum(1 for r in results if r[2] == s) for s in {r[2] for r in results}}
        servers = cloud.call('GET', '/servers/detail').json()['servers']
        hosts: dict[str, int] = {}
        for s in servers:
            host = s.get('OS-EXT-SRV-ATTR:host') or '-'
            hosts[host] = hosts.get(host, 0) + 1
        t1 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(lambda r: cloud.call('DELETE', f'/servers/{r[0]}'),
                          [r for r in results if r[0]]))
        while cloud.call('GET', '/servers').json()['servers'] and time.monotonic() < deadline:
            time.sleep(0.2)
        delete_wall = time.monotonic() - t1
        figures = {
            'servers': args.servers, 'threads': args.threads,
            'api_workers': args.api_workers, 'computes': 2 * args.computes_per_cell,
            'outcome': outcome, 'hosts': hosts,
            'boots_per_s': round(len(lat) / boot_wall, 2),
            'post_to_active_p50_s': round(statistics.median(lat), 3) if lat else None,
            'post_to_active_p95_s': round(percentile(lat, 95), 3) if lat else None,
            'post_to_active_p99_s': round(percentile(lat, 99), 3) if lat else None,
            'delete_all_s': round(delete_wall, 2),
        }
        print(f"{args.servers} boots, {args.threads} client threads, {args.api_workers} API "
              f"workers, {figures['computes']} computes in 2 cells ({args.db})")
        print(f"  outcome: {outcome}   hosts: {hosts}")
        print(f"  boots/s: {figures['boots_per_s']}")
        print(f"  POST->ACTIVE p50 {figures['post_to_active_p50_s']}s  "
              f"p95 {figures['post_to_active_p95_s']}s  p99 {figures['post_to_active_p99_s']}s")
        print(f"  delete all: {figures['delete_all_s']}s")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1))
    finally:
        if owned:
            subprocess.run(deploy + ['teardown'], capture_output=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
