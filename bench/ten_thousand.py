#!/usr/bin/env python3
"""Ten thousand servers: boots/s, list latency and memory as a project fills.

  pip install matplotlib          # for the plot; without it only the JSON
  # the embedded default: all-in-one (one fake host, SQLite, in-memory bus)
  flock /var/tmp/minova-bench.lock python bench/ten_thousand.py --setup embedded
  # 100 fake hosts, MariaDB, RabbitMQ (minova-deploy + minova-fake-computes)
  flock /var/tmp/minova-bench.lock python bench/ten_thousand.py --setup deploy --hosts 100
  # a small run for development (a couple of minutes)
  python bench/ten_thousand.py --setup embedded --servers 300 --wave 100

Boots --servers servers in waves of --wave through the REST API from
--threads client threads (each thread POSTs a server and polls it until
ACTIVE). After each wave it measures the wave's boots/s, the p50 of
`GET /servers/detail?limit=1000` and `GET /servers?limit=1000` (--reps each)
and the summed RSS of the control plane's processes. Then it deletes the
servers in waves of the same size, measuring deletes/s per wave. Quotas are
set to limits above the run's size, so every boot's quota check counts.

Writes bench/results/ten-thousand-<setup>-<stamp>.json and a plot
(docs/ten-thousand-<setup>.png unless --plot says otherwise).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import boot_delete  # noqa: E402  (the REST helpers of the boot/delete benchmark)

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    # A port nothing listens on now (another run, or another helper's cloud,
    # on a fixed port would answer in our place).
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


API_PORT, PLACEMENT_PORT, IMAGE_PORT = _free_port(), _free_port(), _free_port()


def _quota(servers: int) -> str:
    # Limits the run stays under, so each boot's quota check really counts.
    n = max(servers * 2, 100)
    return f'[quota]\ninstances = {n}\ncores = {n * 2}\nram = {n * 1024}\n'


# One fake host must hold the whole run (its default is 1,000 vCPUs).
_FAKE_HOST = '[fake_driver]\nvcpus = 100000\nmemory_mb = 100000000\ndisk_gb = 10000000\n'


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env['PYTHONPATH'] = str(ROOT) + (os.pathsep + env['PYTHONPATH']
                                     if env.get('PYTHONPATH') else '')
    env.setdefault('MALLOC_ARENA_MAX', '2')
    return env


def _wait_http(url: str, timeout: float = 120) -> None:
    import requests
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f'{url} did not answer in {timeout} s')


def _proc_groups() -> dict[int, list[int]]:
    """pgid -> pids of every process on the machine."""
    groups: dict[int, list[int]] = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            stat = Path(f'/proc/{d}/stat').read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        groups.setdefault(int(stat[2]), []).append(int(d))
    return groups


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Embedded:
    """minova-all-in-one in its own process: one fake host, SQLite, the
    in-memory bus (the default configuration)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix='minova-10k-'))
        conf = self.dir / 'minova.conf'
        conf.write_text(
            f'[DEFAULT]\nstate_path = {self.dir}\nhost = bench-host\n'
            f'[api]\nosapi_compute_listen_port = {API_PORT}\n'
            f'[placement_api]\nbind_port = {PLACEMENT_PORT}\n'
            f'[image_api]\nbind_port = {IMAGE_PORT}\n' + _FAKE_HOST + _quota(args.servers))
        self.log = open(self.dir / 'all-in-one.log', 'wb')
        self.proc = subprocess.Popen(
            [sys.executable, '-c', 'from minova.cmd.all_in_one import main; main()',
             '--config-file', str(conf)], stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True, env=_env())
        self.nova = f'http://127.0.0.1:{API_PORT}/v2.1'
        _wait_http(self.nova + '/')
        if self.proc.poll() is not None:
            raise RuntimeError(f'the all-in-one exited; see {self.dir}/all-in-one.log')

    def rss(self) -> dict[str, float]:
        return {'all-in-one': sum(_rss_mib(p) for p in
                                  _proc_groups().get(self.proc.pid, [self.proc.pid]))}

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if getattr(self, 'failed', False):   # keep a failed run's log to read
            kept = Path(tempfile.mkdtemp(prefix='minova-10k-log-')) / 'all-in-one.log'
            shutil.copyfile(self.dir / 'all-in-one.log', kept)
            print(f'all-in-one log: {kept}', flush=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class Deployed:
    """minova-deploy (one cell, one conductor, MariaDB, RabbitMQ) with no
    compute agents of its own, plus minova-fake-computes for --hosts hosts."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.state = Path(tempfile.mkdtemp(prefix='minova-10k-deploy-'))
        self.base = [sys.executable, '-c', 'from minova.deploy.cli import main; main()',
                     '--state-dir', str(self.state)]
        subprocess.run(self.base + [
            # A prefix of this run's own: a development run beside a measured
            # one must not share (and tear down) its databases and vhost.
            'up', '--db', 'mysql', '--prefix', f'minova10k_{os.getpid()}', '--cells', '1',
            '--computes-per-cell', '0', '--single-conductor',
            '--api-workers', str(args.api_workers), '--api-port', str(API_PORT),
            '--placement-port', str(PLACEMENT_PORT), '--report-interval', '30',
            '--extra-conf', _quota(args.servers)], check=True, env=_env())
        etc = self.state / 'etc'
        conf = etc / 'fleet.conf'
        conf.write_text('[DEFAULT]\nupdate_resources_interval = 600\n' + _FAKE_HOST)
        self.log = open(self.state / 'fleet.log', 'wb')
        self.fleet = subprocess.Popen(
            [sys.executable, '-c', 'from minova.cmd.fake_computes import main; main()',
             '--config-file', str(etc / 'cell1.conf'), '--config-file', str(conf),
             '--count', str(args.hosts), '--prefix', 'fake-'],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, env=_env())
        self.nova = f'http://127.0.0.1:{API_PORT}/v2.1'
        self._wait_hosts(args.hosts, etc)

    def _wait_hosts(self, hosts: int, etc: Path) -> None:
        import requests
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.fleet.poll() is not None:
                raise RuntimeError(f'fake computes exited; see {self.state}/fleet.log')
            r = requests.get(self.nova + '/os-services?binary=nova-compute',
                             headers={'X-Auth-Token': 'admin:admin'}, timeout=10)
            up = [s for s in r.json()['services'] if s['state'] == 'up']
            if len(up) >= hosts:
                break
            time.sleep(2)
        else:
            raise RuntimeError(f'only {len(up)} of {hosts} hosts up')
        subprocess.run([sys.executable, '-c', 'from minova.cmd.manage import main; main()',
                        '--config-file', str(etc / 'minova.conf'),
                        'cell_v2', 'discover_hosts'], check=True, env=_env())
        print(f'{hosts} fake hosts up and mapped', flush=True)

    def rss(self) -> dict[str, float]:
        groups = _proc_groups()
        out = {}
        for pidf in sorted((self.state / 'run').glob('*.pid')):
            pid = int(pidf.read_text().strip())
            out[pidf.stem] = sum(_rss_mib(p) for p in groups.get(pid, [pid]))
        out['fake-computes'] = _rss_mib(self.fleet.pid)
        return out

    def stop(self) -> None:
        try:
            os.killpg(self.fleet.pid, signal.SIGTERM)
            self.fleet.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.fleet.pid, signal.SIGKILL)
        subprocess.run(self.base + ['teardown'], check=False, env=_env())
        shutil.rmtree(self.state, ignore_errors=True)


def _boot_wave(rest: argparse.Namespace, first: int, count: int, threads: int
               ) -> tuple[list[str], float, list[float]]:
    t0 = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        booted = list(pool.map(lambda i: boot_delete.boot_one(rest, i),
                               range(first, first + count)))
    return [s for s, _ in booted], time.monotonic() - t0, [t for _, t in booted]


def _delete_wave(rest: argparse.Namespace, ids: list[str], threads: int) -> float:
    t0 = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda s: boot_delete.delete_one(rest, s), ids))
    return time.monotonic() - t0


def _list_p50(rest: argparse.Namespace, path: str, reps: int, expect: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.monotonic()
        r = boot_delete.call(rest, 'GET', path)
        times.append(time.monotonic() - t0)
        got = len(r.json()['servers'])
        if got != expect:
            raise RuntimeError(f'{path}: {got} servers, expected {expect}')
    return boot_delete.pct(times, 0.5)


def _control_plane_mib(rss: dict[str, float]) -> float:
    return sum(v for k, v in rss.items() if k != 'fake-computes')


def run(args: argparse.Namespace, setup: Any, out: Path) -> dict[str, Any]:
    rest = argparse.Namespace(nova=setup.nova, token='admin:admin', poll=args.poll)
    boot_delete.ensure_flavor(rest)
    waves: list[dict[str, Any]] = []
    ids: list[str] = []
    rss0 = setup.rss()
    print(f'idle: control plane {_control_plane_mib(rss0):.0f} MiB', flush=True)
    t_start = time.monotonic()
    while len(ids) < args.servers:
        n = min(args.wave, args.servers - len(ids))
        new, wall, lat = _boot_wave(rest, len(ids), n, args.threads)
        ids.extend(new)
        lim = min(1000, len(ids))
        row = {'servers': len(ids), 'boots': n, 'boot_wall_s': wall,
               'boots_per_s': n / wall,
               'post_to_active_p50_s': boot_delete.pct(lat, 0.5),
               'detail_limit1000_p50_s': _list_p50(
                   rest, '/servers/detail?limit=1000', args.reps, lim),
               'list_limit1000_p50_s': _list_p50(rest, '/servers?limit=1000', args.reps, lim),
               'rss_MiB': setup.rss()}
        row['control_plane_rss_MiB'] = _control_plane_mib(row['rss_MiB'])
        waves.append(row)
        out.write_text(json.dumps({
            'partial': True, 'setup': args.setup, 'servers': args.servers, 'wave': args.wave,
            'threads': args.threads, 'hosts': args.hosts if args.setup == 'deploy' else 1,
            'boot_waves': waves}, indent=1))
        print(f"{row['servers']:6d} servers: wave {row['boots_per_s']:.1f} boots/s, "
              f"detail?limit=1000 p50 {row['detail_limit1000_p50_s'] * 1000:.0f} ms, "
              f"servers?limit=1000 p50 {row['list_limit1000_p50_s'] * 1000:.0f} ms, "
              f"control plane {row['control_plane_rss_MiB']:.0f} MiB "
              f"({time.monotonic() - t_start:.0f} s)", flush=True)
    deletes: list[dict[str, Any]] = []
    while ids:
        n = min(args.wave, len(ids))
        batch, ids = ids[-n:], ids[:-n]
        wall = _delete_wave(rest, batch, args.threads)
        deletes.append({'servers_before': len(ids) + n, 'deletes': n, 'wall_s': wall,
                        'deletes_per_s': n / wall})
        print(f"{len(ids) + n:6d} -> {len(ids):6d} servers: {n / wall:.1f} deletes/s "
              f"({time.monotonic() - t_start:.0f} s)", flush=True)
    first, last = waves[0]['boots_per_s'], waves[-1]['boots_per_s']
    return {
        'setup': args.setup, 'servers': args.servers, 'wave': args.wave,
        'threads': args.threads, 'hosts': args.hosts if args.setup == 'deploy' else 1,
        'poll_s': args.poll, 'reps': args.reps, 'idle_rss_MiB': rss0,
        'boot_waves': waves, 'delete_waves': deletes,
        'summary': {
            'first_wave_boots_per_s': first, 'last_wave_boots_per_s': last,
            'last_over_first': last / first,
            'detail_limit1000_p50_s_at_end': waves[-1]['detail_limit1000_p50_s'],
            'list_limit1000_p50_s_at_end': waves[-1]['list_limit1000_p50_s'],
            'peak_control_plane_rss_MiB': max(w['control_plane_rss_MiB'] for w in waves),
            'first_delete_wave_per_s': deletes[0]['deletes_per_s'],
            'last_delete_wave_per_s': deletes[-1]['deletes_per_s'],
        },
    }


def plot(res: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib is not installed (pip install matplotlib): no plot', flush=True)
        return False
    waves, dels = res['boot_waves'], res.get('delete_waves', [])
    xs = [w['servers'] for w in waves]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(xs, [w['boots_per_s'] for w in waves], 'o-', label='boots/s (wave)')
    ax1.plot([d['servers_before'] for d in dels], [d['deletes_per_s'] for d in dels],
             's--', label='deletes/s (wave)')
    ax1.set_xlabel('servers in the project')
    ax1.set_ylabel('per second')
    ax1.set_ylim(bottom=0)
    ax1.legend(loc='lower left')
    ax1.grid(alpha=0.3)
    ax2.plot(xs, [w['detail_limit1000_p50_s'] * 1000 for w in waves], 'o-',
             label='GET /servers/detail?limit=1000 p50')
    ax2.plot(xs, [w['list_limit1000_p50_s'] * 1000 for w in waves], 's-',
             label='GET /servers?limit=1000 p50')
    ax2.set_xlabel('servers in the project')
    ax2.set_ylabel('ms')
    ax2.set_ylim(bottom=0)
    ax3 = ax2.twinx()
    ax3.plot(xs, [w['control_plane_rss_MiB'] for w in waves], 'k:', label='control plane RSS')
    ax3.set_ylabel('MiB')
    ax3.set_ylim(bottom=0)
    h2, l2 = ax2.get_legend_handles_labels()
    h3, l3 = ax3.get_legend_handles_labels()
    ax2.legend(h2 + h3, l2 + l3, loc='lower right', fontsize=8)
    ax2.grid(alpha=0.3)
    label = ('all-in-one, 1 fake host, SQLite' if res['setup'] == 'embedded'
             else f"{res['hosts']} fake hosts, MariaDB, RabbitMQ")
    fig.suptitle(f"mini-Nova, {res['servers']} servers in waves of {res['wave']} "
                 f"({label}, {res['threads']} client threads)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--setup', choices=['embedded', 'deploy'], default='embedded')
    ap.add_argument('--servers', type=int, default=10000)
    ap.add_argument('--wave', type=int, default=1000)
    ap.add_argument('--threads', type=int, default=10)
    ap.add_argument('--hosts', type=int, default=100, help='fake hosts (deploy)')
    ap.add_argument('--api-workers', type=int, default=2, help='API processes (deploy)')
    ap.add_argument('--poll', type=float, default=0.05)
    ap.add_argument('--reps', type=int, default=5, help='GETs per listing measurement')
    ap.add_argument('--plot', help='PNG path (default docs/ten-thousand-<setup>.png)')
    ap.add_argument('--no-plot', action='store_true')
    ap.add_argument('--plot-only', metavar='JSON', help='plot these (even partial) results')
    args = ap.parse_args()
    if args.plot_only:
        res = json.loads(Path(args.plot_only).read_text())
        png = Path(args.plot) if args.plot else ROOT / 'docs' / f"ten-thousand-{res['setup']}.png"
        return 0 if plot(res, png) else 1
    stamp = time.strftime('%Y%m%d-%H%M%S', time.gmtime())
    out = ROOT / 'bench' / 'results' / f'ten-thousand-{args.setup}-{stamp}.json'
    out.parent.mkdir(exist_ok=True)
    setup = Embedded(args) if args.setup == 'embedded' else Deployed(args)
    try:
        res = run(args, setup, out)   # the waves so far are in `out` as they come
    except BaseException:
        setup.failed = True
        raise
    finally:
        setup.stop()
    out.write_text(json.dumps(res, indent=1))
    s = res['summary']
    print(f"last wave {s['last_wave_boots_per_s']:.1f} boots/s = "
          f"{s['last_over_first'] * 100:.0f} % of the first "
          f"({s['first_wave_boots_per_s']:.1f}); at {args.servers} servers detail?limit=1000 "
          f"p50 {s['detail_limit1000_p50_s_at_end'] * 1000:.0f} ms, servers?limit=1000 p50 "
          f"{s['list_limit1000_p50_s_at_end'] * 1000:.0f} ms; control plane peak "
          f"{s['peak_control_plane_rss_MiB']:.0f} MiB; deletes/s first "
          f"{s['first_delete_wave_per_s']:.1f}, last {s['last_delete_wave_per_s']:.1f}")
    print(f'raw results: {out}')
    if not args.no_plot:
        png = Path(args.plot) if args.plot else ROOT / 'docs' / f'ten-thousand-{args.setup}.png'
        if plot(res, png):
            print(f'plot: {png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
