#!/usr/bin/env python3
"""Resize+confirm and cold migrations per second, upstream Nova 34 beside
mini-Nova, on the fake driver with two compute hosts, in one run (issue 18).

  python3 bench/move_rates.py [--count 20] [--threads 10] [--shared ../shared]
                              [--skip-upstream] [--out FILE]

Each side, through its REST API with the same client code:
1. `count` servers booted (flavor mv-small: 1 vCPU, 64 MiB, 1 GiB) and ACTIVE;
2. resize+confirm: `threads` workers take the servers in turn, each a
   `resize` to mv-big (128 MiB), a wait for VERIFY_RESIZE, `confirmResize`,
   a wait for ACTIVE with the new flavor; the rate is servers over the
   phase's wall time;
3. cold migrate+confirm the same way (`migrate`, VERIFY_RESIZE on the other
   host, `confirmResize`, ACTIVE): a server must change host;
4. the servers deleted.

Upstream: the shared harness (../shared/upstream-nova/run.sh 2: Nova 34 and
Placement 16 on RabbitMQ and MariaDB, 2 fake computes, its venv at
/tmp/upstream-venv), stopped afterwards (stop.sh). mini-Nova: minova-all-in-one
(this checkout) with [DEFAULT] all_in_one_computes = 2 and
allow_resize_to_same_host = False, on its own ports and a scratch state
directory, stopped afterwards. Nova's default allow_resize_to_same_host is
False too, so on both every move goes to the other host.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
# mini-Nova's built-in minova-tiny (upstream's fake Glance answers any id).
IMAGE = 'a1f5b7e2-6d3c-4e0b-9c1a-7e5d2b4f8c10'
FLAVORS = {'mv-small': 64, 'mv-big': 128}
MICROVERSION = '2.56'
# mini-Nova's ports here, away from the defaults other runs may hold.
MINI_PORTS = {'api': 28774, 'placement': 28778, 'image': 29292, 'metadata': 28775}


class Cloud:
    """One compute API (noauth tokens 'user:project' on both sides)."""

    def __init__(self, nova: str, placement: str, poll: float, timeout: float) -> None:
        self.nova, self.placement = nova.rstrip('/'), placement.rstrip('/')
        self.poll, self.timeout = poll, timeout
        self.local = threading.local()

    def _session(self) -> requests.Session:
        s = getattr(self.local, 'session', None)
        if s is None:
            s = self.local.session = requests.Session()
            s.headers.update({'X-Auth-Token': 'admin:admin', 'X-Auth-Project-Id': 'admin',
                              'OpenStack-API-Version': f'compute {MICROVERSION}',
                              'Content-Type': 'application/json'})
        return s

    def api(self, method: str, path: str, body: Any = None,
            ok: tuple[int, ...] = (200, 201, 202, 204)) -> Any:
        r = self._session().request(method, self.nova + path, json=body, timeout=60)
        if r.status_code not in ok:
            raise RuntimeError(f'{method} {path}: {r.status_code} {r.text[:300]}')
        return r.json() if r.content else None

    def server(self, sid: str) -> dict[str, Any]:
        return dict(self.api('GET', f'/servers/{sid}')['server'])

    def wait(self, sid: str, status: str, check: Callable[[dict[str, Any]], bool] | None = None
             ) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            server = self.server(sid)
            if server['status'] == status and (check is None or check(server)):
                return server
            if server['status'] == 'ERROR':
                raise RuntimeError(f'{sid} went ERROR: {server.get("fault")}')
            if time.monotonic() > deadline:
                raise RuntimeError(f'{sid} stuck in {server["status"]}')
            time.sleep(self.poll)

    def ensure_flavors(self) -> None:
        for name, ram in FLAVORS.items():
            r = self._session().get(f'{self.nova}/flavors/{name}', timeout=30)
            if r.status_code != 200:
                self.api('POST', '/flavors', {'flavor': {'name': name, 'id': name, 'vcpus': 1,
                                                         'ram': ram, 'disk': 1}})


def _parallel(items: list[str], threads: int, fn: Callable[[str], float]
              ) -> tuple[float, list[float], list[str]]:
    """fn over items with `threads` workers: (wall seconds, each item's
    seconds, errors)."""
    todo = list(items)
    lock = threading.Lock()
    took: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                item = todo.pop()
            try:
                seconds = fn(item)
                with lock:
                    took.append(seconds)
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(str(e))
    t0 = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.monotonic() - t0, took, errors


def _phase(name: str, count: int, wall: float, took: list[float], errors: list[str]
           ) -> dict[str, Any]:
    done = len(took)
    result = {'servers': count, 'done': done, 'errors': errors[:5], 'error_count': len(errors),
              'wall_s': round(wall, 3), 'per_s': round(done / wall, 3) if wall else None,
              'median_s': round(statistics.median(took), 3) if took else None,
              'max_s': round(max(took), 3) if took else None}
    print(f'  {name}: {done}/{count} in {wall:.2f}s = {result["per_s"]}/s '
          f'(median {result["median_s"]}s per server, {len(errors)} errors)', flush=True)
    return result


def measure(cloud: Cloud, count: int, threads: int) -> dict[str, Any]:
    cloud.ensure_flavors()
    sids: list[str] = []
    lock = threading.Lock()

    def boot(i: str) -> float:
        t0 = time.monotonic()
        sid = cloud.api('POST', '/servers', {'server': {
            'name': f'mv-{i}', 'flavorRef': 'mv-small', 'imageRef': IMAGE,
            'networks': 'none'}})['server']['id']
        with lock:
            sids.append(sid)
        cloud.wait(sid, 'ACTIVE')
        return time.monotonic() - t0

    out: dict[str, Any] = {}
    try:
        out['boot'] = _phase('boot', count, *_parallel([str(i) for i in range(count)],
                                                       threads, boot))

        def move(sid: str, body: dict[str, Any], ram: int, new_host: bool) -> float:
            before = cloud.server(sid)
            t0 = time.monotonic()
            cloud.api('POST', f'/servers/{sid}/action', body)
            cloud.wait(sid, 'VERIFY_RESIZE')
            cloud.api('POST', f'/servers/{sid}/action', {'confirmResize': None})
            after = cloud.wait(sid, 'ACTIVE',
                               lambda s: s.get('flavor', {}).get('ram') == ram)
            if new_host and after.get('OS-EXT-SRV-ATTR:host') == \
                    before.get('OS-EXT-SRV-ATTR:host'):
                raise RuntimeError(f'{sid} did not change host')
            return time.monotonic() - t0

        out['resize_confirm'] = _phase('resize+confirm', count, *_parallel(
            list(sids), threads,
            lambda sid: move(sid, {'resize': {'flavorRef': 'mv-big'}}, FLAVORS['mv-big'],
                             new_host=False)))
        out['migrate_confirm'] = _phase('cold migrate+confirm', count, *_parallel(
            list(sids), threads,
            lambda sid: move(sid, {'migrate': None}, FLAVORS['mv-big'], new_host=True)))
        hosts: dict[str, int] = {}
        for sid in sids:
            host = cloud.server(sid).get('OS-EXT-SRV-ATTR:host') or '?'
            hosts[host] = hosts.get(host, 0) + 1
        out['hosts_after'] = hosts
    finally:
        def delete(sid: str) -> float:
            t0 = time.monotonic()
            cloud.api('DELETE', f'/servers/{sid}', ok=(204, 404))
            deadline = time.monotonic() + cloud.timeout
            while cloud._session().get(f'{cloud.nova}/servers/{sid}',
                                       timeout=30).status_code != 404:
                if time.monotonic() > deadline:
                    raise RuntimeError(f'{sid} not deleted')
                time.sleep(cloud.poll)
            return time.monotonic() - t0
        out['delete'] = _phase('delete', len(sids), *_parallel(list(sids), threads, delete))
    return out


def _busy_harness() -> str | None:
    """Who else runs the shared harness now (its stop.sh would stop theirs)."""
    pids = Path('/tmp/upstream-state/pids')
    for f in sorted(pids.glob('*.pid')) if pids.is_dir() else []:
        try:
            os.kill(int(f.read_text().strip()), 0)
        except (ValueError, ProcessLookupError, PermissionError):
            continue
        return f'{f} is alive'
    return None


def upstream(shared: Path, args: argparse.Namespace) -> dict[str, Any]:
    harness = shared / 'upstream-nova'
    busy = _busy_harness()
    if busy:
        raise SystemExit(f'the upstream harness is in use ({busy}); try again later')
    try:
        subprocess.run(['bash', str(harness / 'run.sh'), '2'], check=True)
        cloud = Cloud('http://127.0.0.1:8774/v2.1', 'http://127.0.0.1:8778', args.poll,
                      args.timeout)
        return measure(cloud, args.count, args.threads)
    finally:
        subprocess.run(['bash', str(harness / 'stop.sh')], check=False)


def _mini_conf(state: Path) -> Path:
    conf = state / 'minova.conf'
    conf.write_text(f"""[DEFAULT]
state_path = {state}
host = mv-host
all_in_one_computes = 2
allow_resize_to_same_host = False
metadata_listen_port = {MINI_PORTS['metadata']}
[api]
osapi_compute_listen_port = {MINI_PORTS['api']}
[placement_api]
bind_port = {MINI_PORTS['placement']}
[image_api]
bind_port = {MINI_PORTS['image']}
[vnc]
enabled = False
[serial_console]
enabled = False
[quota]
instances = -1
cores = -1
ram = -1
""")
    return conf


def _wait_up(cloud: Cloud, hosts: int, timeout: float = 120) -> None:
    """The API answers and placement has every compute's inventory."""
    deadline = time.monotonic() + timeout
    ph = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.28'}
    while time.monotonic() < deadline:
        try:
            rps = requests.get(f'{cloud.placement}/resource_providers', headers=ph,
                               timeout=5).json()['resource_providers']
            ready = [rp for rp in rps if requests.get(
                f"{cloud.placement}/resource_providers/{rp['uuid']}/inventories",
                headers=ph, timeout=5).json()['inventories']]
            if len(ready) >= hosts and requests.get(f'{cloud.nova}/', timeout=5).ok:
                return
        except (requests.RequestException, KeyError, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError('mini-Nova did not come up')


def minova(args: argparse.Namespace) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix='minova-moves-'))
    conf = _mini_conf(state)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    log = (state / 'all-in-one.log').open('w')
    proc = subprocess.Popen(
        [sys.executable, '-c', 'from minova.cmd.all_in_one import main; main()',
         '--config-file', str(conf)], env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        cloud = Cloud(f"http://127.0.0.1:{MINI_PORTS['api']}/v2.1",
                      f"http://127.0.0.1:{MINI_PORTS['placement']}", args.poll, args.timeout)
        _wait_up(cloud, 2)
        return measure(cloud, args.count, args.threads)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        print(f'  (mini-Nova log: {state / "all-in-one.log"})', flush=True)


def render(up: dict[str, Any] | None, mini: dict[str, Any]) -> str:
    rows = [('resize+confirm per second', 'resize_confirm', 'per_s', 'higher'),
            ('resize+confirm median per server (s)', 'resize_confirm', 'median_s', 'lower'),
            ('cold migrate+confirm per second', 'migrate_confirm', 'per_s', 'higher'),
            ('cold migrate+confirm median per server (s)', 'migrate_confirm', 'median_s',
             'lower'),
            ('boots per second (setup)', 'boot', 'per_s', 'higher'),
            ('deletes per second (teardown)', 'delete', 'per_s', 'higher')]
    width = max(len(r[0]) for r in rows)
    lines = [f'{"metric".ljust(width)}  {"upstream":>10}  {"mini-Nova":>10}  {"x better":>8}']
    for label, phase, key, better in rows:
        u = ((up or {}).get(phase) or {}).get(key)
        m = (mini.get(phase) or {}).get(key)
        adv = None
        if u and m:
            adv = m / u if better == 'higher' else u / m
        fmt = lambda v: '-' if v is None else f'{v:10.3f}'  # noqa: E731
        lines.append(f'{label.ljust(width)}  {fmt(u)}  {fmt(m)}  '
                     f'{"-" if adv is None else f"{adv:8.2f}"}')
    for name, res in (('upstream', up), ('mini-Nova', mini)):
        if res:
            errors = {p: res[p].get('error_count') for p in
                      ('boot', 'resize_confirm', 'migrate_confirm', 'delete')
                      if isinstance(res.get(p), dict) and res[p].get('error_count')}
            lines.append(f'{name}: servers per host at the end {res.get("hosts_after")}'
                         f'{f", errors {errors}" if errors else ""}')
    return '\n'.join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--shared', default=str(ROOT.parent / 'shared'))
    ap.add_argument('--count', type=int, default=20, help='servers moved in each phase')
    ap.add_argument('--threads', type=int, default=10, help='client threads')
    ap.add_argument('--poll', type=float, default=0.05, help='poll interval (s)')
    ap.add_argument('--timeout', type=float, default=600, help='per-server wait (s)')
    ap.add_argument('--skip-upstream', action='store_true', help='mini-Nova only')
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'results' /
                                         f'moves-{time.strftime("%Y%m%d-%H%M%S")}.json'))
    args = ap.parse_args()
    up = None
    if not args.skip_upstream:
        print('upstream Nova 34 (2 fake computes):', flush=True)
        up = upstream(Path(args.shared).resolve(), args)
    print('mini-Nova all-in-one (2 fake computes):', flush=True)
    mini = minova(args)
    print()
    print(render(up, mini))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({'count': args.count, 'threads': args.threads,
                               'upstream': up, 'minova': mini}, indent=1))
    print(f'\nwritten: {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
