#!/usr/bin/env python3
"""Upstream Nova vs mini-Nova on the same machine, measured by the same client.

  python3 bench/compare_upstream.py [--shared ../shared] [--conc 100] [--big 500]

1. Brings up upstream Nova 34 + Placement 16 with the shared harness
   (shared/upstream-nova/run.sh: 2 fake computes, RabbitMQ, MariaDB), runs its
   bench.py, stops it (stop.sh).
2. Brings up mini-Nova's multi-process deployment on the same RabbitMQ and
   MariaDB with `minova-deploy` (1 cell, 2 fake computes, --api-workers, one
   conductor as the harness runs upstream's; --super-conductor for Nova's
   superconductor layout instead),
   runs the same bench.py with --pid-dir pointing at its process groups,
   tears it down.
3. Prints one side-by-side table with ratios and writes both raw results and
   the table as JSON (--out).

The upstream side needs the harness's venv (/tmp/upstream-venv, run.sh
creates it on first use).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess:
    print('$', ' '.join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def bench(shared: Path, out: Path, args: argparse.Namespace, pid_dir: str,
          python: str) -> dict[str, Any]:
    cmd = [python, str(shared / 'upstream-nova' / 'bench.py'), '--out', str(out),
           '--pid-dir', pid_dir, '--seq', str(args.seq), '--conc', str(args.conc),
           '--threads', str(args.threads), '--poll', str(args.poll)]
    if args.big:
        cmd += ['--big', str(args.big), '--big-waves', str(args.big_waves)]
    run(cmd)
    return json.loads(out.read_text())


def upstream(shared: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    harness = shared / 'upstream-nova'
    env = dict(os.environ)
    try:
        run(['bash', str(harness / 'run.sh'), '2'], env=env)
        return bench(shared, workdir / 'upstream.json', args, '/tmp/upstream-state/pids',
                     '/tmp/upstream-venv/bin/python')
    finally:
        subprocess.run(['bash', str(harness / 'stop.sh')], check=False)


def minova(shared: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    state = workdir / 'minova-deploy'
    deploy = shutil.which('minova-deploy')
    assert deploy, 'minova-deploy is not installed (pip install -e .)'
    base = [deploy, '--state-dir', str(state)]
    try:
        # As the harness configures upstream: no quota limits for the bench.
        quota = '[quota]\ninstances = -1\ncores = -1\nram = -1\n'
        run(base + ['up', '--db', 'mysql', '--cells', '1', '--computes-per-cell', '2',
                    '--api-workers', str(args.api_workers), '--api-port', '8774',
                    '--placement-port', '8778', '--extra-conf', quota]
            + ([] if args.super_conductor else ['--single-conductor']))
        return bench(shared, workdir / 'minova.json', args, str(state / 'run'),
                     sys.executable)
    finally:
        subprocess.run(base + ['teardown'], check=False)


def _get(d: dict[str, Any], *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _rss(res: dict[str, Any], key: str) -> float | None:
    procs = _get(res, key, 'processes')
    if not procs:
        return None
    # Not the control plane: the shared servers, and the harness's Glance and
    # Neutron stand-ins (fake_backends.py).
    infra = ('mariadbd', 'mysqld', 'beam.smp', 'rabbitmq', 'fake-backends')
    return sum(v.get('peak_rss_total_MiB', 0) for name, v in procs.items()
               if not any(i in name for i in infra))


def table(up: dict[str, Any], mini: dict[str, Any], conc: int, big: int) -> list[dict]:
    b = f'b_concurrent_{conc}'
    rows = [
        ('sequential POST->ACTIVE median (s)', ('a_sequential', 'post_to_active_s', 'median'),
         'lower'),
        (f'{conc} concurrent boots/s', (b, 'boots_per_s'), 'higher'),
        (f'{conc} concurrent POST->launched p50 (s)', (b, 'post_to_launched_at_s', 'median'),
         'lower'),
        (f'GET /servers/detail median, {conc} servers (s)',
         (f'd_list_{conc}', '/servers/detail', 'median'), 'lower'),
        (f'GET /servers median, {conc} servers (s)', (f'd_list_{conc}', '/servers', 'median'),
         'lower'),
        (f'delete {conc}: deletes/s', (f'c_delete_{conc}', 'deletes_per_s'), 'higher'),
    ]
    if big:
        rows += [
            (f'GET /servers/detail median, {big} servers (s)',
             (f'd_list_{big}', '/servers/detail', 'median'), 'lower'),
            (f'delete {big}: deletes/s', (f'c_delete_{big}', 'deletes_per_s'), 'higher'),
        ]
    out = []
    for label, path, better in rows:
        u, m = _get(up, *path), _get(mini, *path)
        out.append({'metric': label, 'upstream': u, 'minova': m, 'better': better})
    u_rss, m_rss = _rss(up, b), _rss(mini, b)
    out.append({'metric': f'control plane peak RSS during {conc} boots (MiB)',
                'upstream': u_rss, 'minova': m_rss, 'better': 'lower'})
    for name, res in (('upstream', up), ('minova', mini)):
        hosts = _get(res, b, 'hosts')
        out.append({'metric': f'{name}: host split of {conc} boots', 'upstream': None,
                    'minova': None, 'better': 'info', 'value': hosts})
    if big:
        for name, res in (('upstream', up), ('minova', mini)):
            waves = _get(res, f'b_fill_{big}') or []
            out.append({'metric': f'{name}: boots/s per wave filling to {big}',
                        'upstream': None, 'minova': None, 'better': 'info',
                        'value': [w.get('boots_per_s') for w in waves]})
    for row in out:
        u, m = row['upstream'], row['minova']
        if isinstance(u, int | float) and isinstance(m, int | float) and u and m:
            row['advantage'] = round(m / u if row['better'] == 'higher' else u / m, 2)
    return out


def render(rows: list[dict]) -> str:
    width = max(len(r['metric']) for r in rows)
    lines = [f'{"metric".ljust(width)}  {"upstream":>10}  {"mini-Nova":>10}  {"x better":>8}']
    for r in rows:
        if r['better'] == 'info':
            lines.append(f'{r["metric"].ljust(width)}  {r.get("value")}')
            continue
        fmt = lambda v: '-' if v is None else f'{v:10.3f}'  # noqa: E731
        adv = r.get('advantage')
        lines.append(f'{r["metric"].ljust(width)}  {fmt(r["upstream"])}  {fmt(r["minova"])}  '
                     f'{"-" if adv is None else f"{adv:8.2f}"}')
    return '\n'.join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--shared', default=str(ROOT.parent / 'shared'))
    ap.add_argument('--seq', type=int, default=20)
    ap.add_argument('--conc', type=int, default=100)
    ap.add_argument('--threads', type=int, default=10)
    ap.add_argument('--poll', type=float, default=0.05,
                    help="bench.py's poll interval for every wait (its default: 50 ms)")
    ap.add_argument('--big', type=int, default=0, help='also fill to N servers in waves')
    ap.add_argument('--big-waves', type=int, default=5)
    ap.add_argument('--api-workers', type=int, default=1,
                    help='API worker processes (one serves the 10 client threads)')
    ap.add_argument('--super-conductor', action='store_true',
                    help='mini-Nova with a super-conductor and a cell conductor')
    ap.add_argument('--skip-upstream', metavar='JSON',
                    help='reuse an earlier upstream bench.py result instead of running it')
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'results' /
                                         f'compare-{time.strftime("%Y%m%d-%H%M%S")}.json'))
    args = ap.parse_args()
    shared = Path(args.shared).resolve()
    workdir = Path(tempfile.mkdtemp(prefix='minova-compare-'))
    up = (json.loads(Path(args.skip_upstream).read_text()) if args.skip_upstream
          else upstream(shared, workdir, args))
    mini = minova(shared, workdir, args)
    rows = table(up, mini, args.conc, args.big)
    print()
    print(render(rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({'table': rows, 'upstream': up, 'minova': mini}, indent=1))
    print(f'\nwritten: {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
