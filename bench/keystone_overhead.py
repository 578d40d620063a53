#!/usr/bin/env python3
"""What real Keystone costs a boot: boots/s with noauth, then with Keystone.

  flock /var/tmp/minova-bench.lock python bench/keystone_overhead.py -n 100 -t 10

Starts upstream Keystone on loopback as the keystone test tier does
(tests/integration/keystone/keystone_server.py: its own venv, SQLite, fernet
tokens, gunicorn with 2 workers), registers the service project, the `nova`
and `placement` service users, the compute/placement/image services and a
`bench` user (member of project `bench`) as docs/keystone.md does. Then it runs
the same mini-Nova twice, one `minova-all-in-one` subprocess each time (fake
driver, SQLite, in-memory bus unless --transport-url), once with noauth2 and
once with `auth_strategy = keystone` for the compute API and placement (the
scheduler and compute reach placement as the `placement` service user),
and boots -n servers from -t threads through the REST API, each thread with
its own token (a password authentication, as a client does; fetched before
the clock starts). Prints boots/s for both, the ratio, POST /servers and
GET /servers/{id} p50s, and, from Keystone's access log, how many token
validations (GET /v3/auth/tokens) and token issues (POST /v3/auth/tokens)
reached Keystone during the boot phase.

--memcached HOST:PORT sets [keystone_authtoken] memcached_servers (needs a
memcached and python-memcached); by default auth_token keeps its in-process
cache.
"""
from __future__ import annotations

import argparse
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / 'bench')]
import boot_delete  # noqa: E402  (its image and percentiles)

from tests.integration.keystone import keystone_server  # noqa: E402
from tests.processes import free_port, stop_process  # noqa: E402

PASSWORDS = {'nova': 'nova-secret', 'placement': 'placement-secret',
             'bench': 'bench-secret'}


class Ports:
    def __init__(self) -> None:
        self.api, self.placement, self.image = free_port(), free_port(), free_port()


def password_token(keystone: keystone_server.Keystone, user: str, password: str,
                   project: str) -> str:
    """A project-scoped token, as `openstack token issue` gets one."""
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': user, 'domain': {'id': 'default'}, 'password': password}}},
        'scope': {'project': {'name': project, 'domain': {'id': 'default'}}}}}
    r = requests.post(keystone.url + '/auth/tokens', json=body, timeout=30)
    r.raise_for_status()
    return r.headers['X-Subject-Token']


def register(keystone: keystone_server.Keystone, ports: Ports) -> None:
    """docs/keystone.md's identity set-up, through the Identity API."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3
    from keystoneclient.v3 import client as ks_client
    auth = v3.Password(auth_url=keystone.url, username='admin',
                       password=keystone_server.ADMIN_PASSWORD, project_name='admin',
                       user_domain_name='Default', project_domain_name='Default')
    admin = ks_client.Client(session=ks_session.Session(auth=auth))
    default = admin.domains.get('default')
    roles = {r.name: r for r in admin.roles.list()}
    service = admin.projects.create('service', default)
    bench = admin.projects.create('bench', default)
    for name, project, role in (('nova', service, 'admin'), ('placement', service, 'admin'),
                                ('bench', bench, 'member')):
        user = admin.users.create(name, domain=default, password=PASSWORDS[name])
        admin.roles.grant(roles[role], user=user, project=project)
    keystone_server.register_services(admin, {
        ('nova', 'compute'): f'http://127.0.0.1:{ports.api}/v2.1',
        ('placement', 'placement'): f'http://127.0.0.1:{ports.placement}',
        ('glance', 'image'): f'http://127.0.0.1:{ports.image}'})


def minova_conf(root: Path, ports: Ports, keystone: keystone_server.Keystone | None,
                args: argparse.Namespace) -> Path:
    text = f"""[DEFAULT]
state_path = {root}/state
log_file = {root}/minova.log
host = bench-host
metadata_listen = 127.0.0.1
metadata_listen_port = {free_port()}
{f'transport_url = {args.transport_url}' if args.transport_url else ''}
[api]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {ports.api}
[placement_api]
bind_host = 127.0.0.1
bind_port = {ports.placement}
[image_api]
bind_host = 127.0.0.1
bind_port = {ports.image}
[quota]
instances = -1
cores = -1
ram = -1
"""
    if keystone is not None:
        text += """[api]
auth_strategy = keystone
[placement_api]
auth_strategy = keystone
""" + keystone_server.minova_auth_conf(keystone, PASSWORDS, args.memcached)
    path = root / 'minova.conf'
    path.write_text(text)
    return path


def start_minova(root: Path, conf: Path, api_url: str) -> subprocess.Popen:
    """minova-all-in-one from this tree (not the installed console script)."""
    out = open(root / 'all-in-one.out', 'ab')  # noqa: SIM115
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, '-c', 'from minova.cmd.all_in_one import main; main()',
         '--config-file', str(conf)],
        env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('all-in-one exited:\n' + (root / 'all-in-one.out').read_text())
        try:
            if requests.get(api_url, timeout=5).status_code == 200:
                return proc
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.3)
    raise RuntimeError('all-in-one did not come up')


class Client:
    """One REST client per thread, each with its own token."""

    def __init__(self, api_url: str, tokens: queue.Queue[str], poll: float) -> None:
        self.api_url = api_url
        self.tokens = tokens
        self.poll = poll
        self.tls = threading.local()
        self.post_times: list[float] = []
        self.get_times: list[float] = []

    def session(self) -> requests.Session:
        s = getattr(self.tls, 's', None)
        if s is None:
            s = self.tls.s = requests.Session()
            s.headers.update({'X-Auth-Token': self.tokens.get_nowait(),
                              'OpenStack-API-Version': 'compute 2.37',
                              'Content-Type': 'application/json'})
        return s

    def timed(self, method: str, path: str, into: list[float], body: Any = None) -> Any:
        t0 = time.monotonic()
        r = self.session().request(method, self.api_url + path, json=body, timeout=60)
        into.append(time.monotonic() - t0)
        if r.status_code >= 400 and not (method in ('GET', 'DELETE') and r.status_code == 404):
            raise RuntimeError(f'{method} {path}: {r.status_code} {r.text[:300]}')
        return r

    def boot(self, i: int) -> tuple[str, float]:
        t0 = time.monotonic()
        r = self.timed('POST', '/servers', self.post_times, {'server': {
            'name': f'ks-bench-{i}', 'flavorRef': 'bench-tiny',
            'imageRef': boot_delete.IMAGE, 'networks': 'none'}})
        sid = r.json()['server']['id']
        while True:
            s = self.timed('GET', f'/servers/{sid}', self.get_times).json()['server']
            if s['status'] == 'ACTIVE':
                return sid, time.monotonic() - t0
            if s['status'] == 'ERROR':
                raise RuntimeError(f'{sid} ERROR: {s.get("fault")}')
            time.sleep(self.poll)

    def delete(self, sid: str) -> None:
        scratch: list[float] = []
        self.timed('DELETE', f'/servers/{sid}', scratch)
        while self.timed('GET', f'/servers/{sid}', scratch).status_code != 404:
            time.sleep(self.poll)


def keystone_calls(keystone: keystone_server.Keystone, start: int) -> tuple[dict[str, int], int]:
    """Token validations and issues logged since byte `start` of the access log."""
    counts = {'validate': 0, 'issue': 0, 'other': 0}
    if not keystone.access_log.exists():
        return counts, start
    with open(keystone.access_log, 'rb') as f:
        f.seek(start)
        data = f.read()
    for line in data.decode(errors='replace').splitlines():
        if '"GET /v3/auth/tokens' in line or '"HEAD /v3/auth/tokens' in line:
            counts['validate'] += 1
        elif '"POST /v3/auth/tokens' in line:
            counts['issue'] += 1
        elif line.strip():
            counts['other'] += 1
    return counts, start + len(data)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children (Linux /proc)."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf('SC_CLK_TCK')


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of pid and its live children (Keystone's gunicorn workers)."""
    total = cpu_seconds(pid)
    children = Path(f'/proc/{pid}/task/{pid}/children')
    for child in children.read_text().split() if children.exists() else ():
        try:
            total += cpu_seconds(int(child))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def stage_p50s(root: Path, uuids: list[str]) -> dict[str, float]:
    """p50 (ms) of each timed event of the servers' create actions (the
    server timeline), from the all-in-one's SQLite cell database."""
    import sqlite3
    from datetime import datetime
    path = root / 'state' / 'nova.sqlite'
    if not path.exists():
        return {}
    db = sqlite3.connect(str(path))
    try:
        marks = ','.join('?' * len(uuids))
        rows = db.execute(
            'SELECT e.event, e.start_time, e.finish_time FROM instance_actions_events e '
            'JOIN instance_actions a ON a.id = e.action_id '
            f"WHERE a.action = 'create' AND a.instance_uuid IN ({marks})", uuids).fetchall()
    finally:
        db.close()
    spans: dict[str, list[float]] = {}
    for event, start, finish in rows:
        if start and finish:
            spans.setdefault(event, []).append(
                (datetime.fromisoformat(str(finish)) - datetime.fromisoformat(str(start)))
                .total_seconds() * 1000)
    return {event: boot_delete.pct(v, 0.5) for event, v in spans.items()}


def start_py_spy(proc: subprocess.Popen, out: Path) -> subprocess.Popen:
    """py-spy sampling the all-in-one (active threads, collapsed stacks)."""
    spy = subprocess.Popen(['py-spy', 'record', '-p', str(proc.pid), '-r', '200', '-f', 'raw',
                            '-o', str(out)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    time.sleep(1.0)   # attached before the clock starts
    return spy


def access_log_size(keystone: keystone_server.Keystone) -> int:
    return keystone.access_log.stat().st_size if keystone.access_log.exists() else 0


def run_mode(mode: str, keystone: keystone_server.Keystone, ports: Ports, workdir: Path,
             args: argparse.Namespace) -> dict[str, Any]:
    root = workdir / f'minova-{mode}'
    root.mkdir(parents=True)
    conf = minova_conf(root, ports, keystone if mode == 'keystone' else None, args)
    api_url = f'http://127.0.0.1:{ports.api}/v2.1'
    proc = start_minova(root, conf, api_url)
    try:
        if mode == 'keystone':
            admin_token = password_token(keystone, 'admin', keystone_server.ADMIN_PASSWORD,
                                         'admin')
            tokens = [password_token(keystone, 'bench', PASSWORDS['bench'], 'bench')
                      for _ in range(args.threads)]
        else:
            admin_token = 'admin:admin'
            tokens = ['bench:bench'] * args.threads
        r = requests.post(api_url + '/flavors', headers={'X-Auth-Token': admin_token},
                          timeout=60, json={'flavor': {'name': 'bench-tiny', 'id': 'bench-tiny',
                                                       'vcpus': 1, 'ram': 64, 'disk': 1}})
        r.raise_for_status()
        mark = access_log_size(keystone)
        pool_tokens: queue.Queue[str] = queue.Queue()
        for t in tokens:
            pool_tokens.put(t)
        client = Client(api_url, pool_tokens, args.poll)
        # One pool for the whole run: each thread keeps its session and token.
        with ThreadPoolExecutor(args.threads) as pool:
            # A warm-up boot per thread (connections, first-use caches), not timed.
            warm = list(pool.map(client.boot, range(args.threads)))
            list(pool.map(lambda s: client.delete(s[0]), warm))
            client.post_times.clear()
            client.get_times.clear()
            warm_counts, mark = keystone_calls(keystone, mark)
            spy = start_py_spy(proc, root / 'py-spy.txt') if args.py_spy else None
            assert keystone.proc is not None
            cpu0 = cpu_seconds(proc.pid), tree_cpu_seconds(keystone.proc.pid)
            t0 = time.monotonic()
            booted = list(pool.map(client.boot, range(args.n)))
            wall = time.monotonic() - t0
            cpu1 = cpu_seconds(proc.pid), tree_cpu_seconds(keystone.proc.pid)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            counts, _ = keystone_calls(keystone, mark)
            list(pool.map(lambda s: client.delete(s[0]), booted))
    finally:
        stop_process(proc)
    lat = [t for _, t in booted]
    stages = stage_p50s(root, [sid for sid, _ in booted])
    return {'mode': mode, 'stages_p50_ms': stages, 'boots_per_s': args.n / wall, 'wall_s': wall,
            'post_p50_ms': boot_delete.pct(client.post_times, 0.5) * 1000,
            'get_p50_ms': boot_delete.pct(client.get_times, 0.5) * 1000,
            'active_p50_ms': boot_delete.pct(lat, 0.5) * 1000,
            'minova_cpu_ms_per_boot': (cpu1[0] - cpu0[0]) * 1000 / args.n,
            'keystone_cpu_ms_per_boot': (cpu1[1] - cpu0[1]) * 1000 / args.n,
            'keystone': counts, 'keystone_warm_up': warm_counts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-n', type=int, default=100, help='servers to boot')
    ap.add_argument('-t', '--threads', type=int, default=10)
    ap.add_argument('--poll', type=float, default=0.05)
    ap.add_argument('--transport-url', help='e.g. rabbit://guest:guest@127.0.0.1:5672/ '
                                            '(default: the in-memory bus)')
    ap.add_argument('--memcached', help='HOST:PORT for [keystone_authtoken] '
                                        'memcached_servers')
    ap.add_argument('--modes', default='noauth,keystone')
    ap.add_argument('--rounds', type=int, default=2,
                    help='runs of each mode, alternating (the medians are compared)')
    ap.add_argument('--py-spy', action='store_true',
                    help='sample the all-in-one during the boots (py-spy, collapsed stacks '
                         'in the work directory)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    args = ap.parse_args()
    keystone_server.ensure_venv()
    workdir = Path(tempfile.mkdtemp(prefix='minova-ks-bench-'))
    keystone = keystone_server.Keystone(workdir / 'keystone', free_port())
    keystone.configure()
    keystone.bootstrap()
    keystone.start()
    modes = args.modes.split(',')
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    try:
        ports = {mode: Ports() for mode in modes}
        if 'keystone' in ports:
            register(keystone, ports['keystone'])
        # Rounds alternate the modes, so that a change in the machine's load
        # (it may be shared) touches both alike.
        for rnd in range(args.rounds):
            for mode in modes:
                res = run_mode(mode, keystone, ports[mode], workdir / f'round-{rnd}', args)
                results[mode].append(res)
                ks, warm = res['keystone'], res['keystone_warm_up']
                print(f"{mode:8s}: {args.n} boots from {args.threads} threads: "
                      f"{res['boots_per_s']:.2f} boots/s; POST /servers p50 "
                      f"{res['post_p50_ms']:.0f} ms, GET /servers/id p50 "
                      f"{res['get_p50_ms']:.1f} ms, POST->ACTIVE p50 "
                      f"{res['active_p50_ms']:.0f} ms; CPU per boot: mini-Nova "
                      f"{res['minova_cpu_ms_per_boot']:.1f} ms, Keystone "
                      f"{res['keystone_cpu_ms_per_boot']:.1f} ms", flush=True)
                print('          stage p50s: ' + ', '.join(
                    f'{k} {v:.0f} ms' for k, v in sorted(res['stages_p50_ms'].items())),
                    flush=True)
                if mode == 'keystone':
                    print(f"          Keystone during the warm-up ({args.threads} clients' "
                          f"first boots): {warm['validate']} token validations, "
                          f"{warm['issue']} token issues; during the {args.n} boots: "
                          f"{ks['validate']} token validations, {ks['issue']} token "
                          f"issues, {ks['other']} other requests", flush=True)
    finally:
        keystone.stop()
        if args.keep:
            print(f'work directory: {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if len(modes) == 2 and args.rounds:
        rates = {m: statistics.median(r['boots_per_s'] for r in results[m]) for m in modes}
        cpu = {m: statistics.median(r['minova_cpu_ms_per_boot'] for r in results[m])
               for m in modes}
        print(f"median of {args.rounds} round(s): {modes[0]} {rates[modes[0]]:.2f} boots/s, "
              f"{modes[1]} {rates[modes[1]]:.2f} boots/s: {modes[1]}/{modes[0]} = "
              f"{rates[modes[1]] / rates[modes[0]]:.2f}; mini-Nova CPU per boot "
              f"{cpu[modes[0]]:.1f} against {cpu[modes[1]]:.1f} ms")
    return 0


if __name__ == '__main__':
    sys.exit(main())
