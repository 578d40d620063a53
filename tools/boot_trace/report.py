#!/usr/bin/env python3
"""Merge the spans tools/boot_trace/sitecustomize.py wrote: one boot's steps
across the services, and the median of each step over all boots.

  python3 tools/boot_trace/report.py [--dir /tmp/minova-trace] [--boot -2]
"""
from __future__ import annotations

import argparse
import glob
import os
import statistics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dir', default=os.environ.get('MINOVA_TRACE_DIR', '/tmp/minova-trace'))
    ap.add_argument('--boot', type=int, default=-2,
                    help='which boot to show, by order of API.create (default: the one '
                         'before the last)')
    args = ap.parse_args()
    spans = []
    for path in glob.glob(os.path.join(args.dir, '*.log')):
        with open(path) as f:
            for line in f:
                start, end, pid, thread, label = line.split()
                spans.append((float(start), float(end), pid, thread, label))
    spans.sort()
    boots = [s[0] for s in spans if s[4] == 'api.API.create']
    if not boots:
        raise SystemExit(f'no boot traced in {args.dir}')
    t0 = boots[args.boot]
    later = [b for b in boots if b > t0]
    t1 = later[0] if later else t0 + 1.0
    print(f'boot {args.boot} of {len(boots)}: ms from API.create')
    print('  start    end    took  pid/thread  step')
    for start, end, pid, thread, label in spans:
        if t0 <= start < t1:
            print(f'{(start - t0) * 1e3:7.1f} {(end - t0) * 1e3:6.1f} {(end - start) * 1e3:7.1f}'
                  f'  {pid}/{thread:>4}  {label}')
    took: dict[str, list[float]] = {}
    for start, end, _pid, _thread, label in spans:
        took.setdefault(label, []).append((end - start) * 1e3)
    print('\nmedian ms per call over all boots')
    for label, values in sorted(took.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f'  {statistics.median(values):7.1f}  x{len(values):<4} {label}')


if __name__ == '__main__':
    main()
