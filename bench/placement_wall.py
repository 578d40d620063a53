#!/usr/bin/env python3
"""Where placement's server-side wall goes for the scheduler's calls.

  python bench/placement_wall.py --providers 1000 -n 50 [--profile] [--db URL]

Starts mini-Nova's placement in this process (cheroot, as the all-in-one
serves it) on SQLite (or --db), loads N providers shaped as the fake fleet
reports its compute nodes (VCPU, MEMORY_MB, DISK_GB, the fake driver's
capability traits and COMPUTE_NODE), then repeats what one select_destinations
and the benchmark's clean-up ask of placement:

  GET /allocation_candidates (1.29, limit=1000, !COMPUTE_STATUS_DISABLED)
  PUT /allocations/{consumer} (1.28)
  DELETE /allocations/{consumer}

each on one kept-alive connection (http.client: a small client cost). Prints
per call p50 of the client's wall and of the server's wall and CPU (from the
start of reading the request to the last byte written, in cheroot's
thread); --profile prints cProfile (thread CPU) of the server threads.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parents[1]))   # PYTHONPATH first

# about as many as a fake compute node reports (its capabilities, CPU flags)
TRAITS = ['COMPUTE_NODE', 'COMPUTE_NET_ATTACH_INTERFACE', 'COMPUTE_VOLUME_EXTEND',
          'COMPUTE_VOLUME_MULTI_ATTACH', 'COMPUTE_SAME_HOST_COLD_MIGRATE',
          'COMPUTE_IMAGE_TYPE_RAW', 'COMPUTE_IMAGE_TYPE_QCOW2', 'COMPUTE_DEVICE_TAGGING',
          'COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG', 'COMPUTE_VOLUME_ATTACH_WITH_TAG',
          'COMPUTE_TRUSTED_CERTS', 'HW_CPU_X86_AVX2', 'HW_CPU_X86_SSE42', 'HW_CPU_X86_AESNI',
          'COMPUTE_RESCUE_BFV']
INVENTORY = {
    'VCPU': {'total': 8, 'allocation_ratio': 16.0, 'max_unit': 8},
    'MEMORY_MB': {'total': 16384, 'reserved': 512, 'max_unit': 16384,
                  'allocation_ratio': 1.5},
    'DISK_GB': {'total': 100, 'max_unit': 100, 'allocation_ratio': 1.0},
}
CANDIDATES = ('/allocation_candidates?resources=DISK_GB%3A1%2CMEMORY_MB%3A64%2CVCPU%3A1'
              '&limit=1000&required=%21COMPUTE_STATUS_DISABLED')


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection('127.0.0.1', port)

    def call(self, method: str, path: str, version: str, body: Any = None,
             expect: tuple[int, ...] = (200, 204)) -> tuple[int, bytes]:
        headers = {'OpenStack-API-Version': f'placement {version}',
                   'X-Auth-Token': 'admin', 'Accept': 'application/json'}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        self.conn.request(method, path, data, headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status not in expect:
            raise RuntimeError(f'{method} {path}: {resp.status} {raw[:300]!r}')
        return resp.status, raw


def load(port: int, n: int) -> list[str]:
    c = Client(port)
    rps = []
    for i in range(n):
        rp = str(uuid.uuid5(uuid.NAMESPACE_DNS, f'wall-{i}'))
        c.call('POST', '/resource_providers', '1.20', {'uuid': rp, 'name': f'fake-{i:05d}'})
        _, raw = c.call('PUT', f'/resource_providers/{rp}/inventories', '1.26',
                        {'resource_provider_generation': 0, 'inventories': INVENTORY})
        gen = json.loads(raw)['resource_provider_generation']
        c.call('PUT', f'/resource_providers/{rp}/traits', '1.6',
               {'traits': TRAITS, 'resource_provider_generation': gen})
        rps.append(rp)
    return rps


class ServerClock:
    """Wall and CPU of each request in cheroot's worker thread."""

    def __init__(self, profile: str | None) -> None:
        import cProfile

        from cheroot import server
        self.records: list[tuple[str, float, float]] = []
        self.prof = cProfile.Profile(time.thread_time) if profile else None
        self.methods = set((profile or '').split(','))
        self.on = False
        original = server.HTTPRequest.parse_request
        respond = server.HTTPRequest.respond
        clock = self

        def parse_request(req: Any) -> None:
            original(req)   # from the request line read (not the wait for it)
            req._clock = (time.perf_counter(), time.thread_time())
            req._profiled = (clock.prof is not None and clock.on
                             and (req.method or b'').decode() in clock.methods)
            if req._profiled and clock.prof is not None:
                clock.prof.enable()

        def timed_respond(req: Any) -> None:
            try:
                respond(req)
            finally:
                if req._profiled and clock.prof is not None:
                    clock.prof.disable()
                w0, c0 = req._clock
                if clock.on:
                    clock.records.append((req.method.decode(), time.perf_counter() - w0,
                                          time.thread_time() - c0))
        server.HTTPRequest.parse_request = parse_request  # type: ignore[method-assign,assignment]
        server.HTTPRequest.respond = timed_respond  # type: ignore[method-assign,assignment]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[int((len(values) - 1) * p)] if values else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--providers', type=int, default=1000)
    ap.add_argument('-n', type=int, default=50)
    ap.add_argument('--db', help='SQLAlchemy URL (default: SQLite in a temp dir)')
    ap.add_argument('--profile', nargs='?', const='GET,PUT,DELETE', default=None,
                    help='cProfile the server side of these methods (default: all three)')
    ap.add_argument('--top', type=int, default=35)
    ap.add_argument('--sql', action='store_true', help="print one round's SQL statements")
    ap.add_argument('--dump', help='write the answers at several microversions to this file '
                                   '(to compare two trees byte for byte)')
    args = ap.parse_args()

    from minova.cmd import common
    from minova.conf import CONF
    common.parse_args([], default_config_files=[])
    import logging
    logging.getLogger('minova').setLevel(logging.WARNING)
    tmp = tempfile.mkdtemp(prefix='minova-wall-')
    CONF.set_override('state_path', tmp)
    if args.db:
        CONF.set_override('connection', args.db, group='placement_database')
    from minova.db import engines, migration
    migration.upgrade('placement_db', engines.placement_url())
    from minova.placement import errors
    from minova.placement import wsgi as placement_wsgi
    from minova.wsgi.server import WSGIServer
    clock = ServerClock(args.profile)
    srv = WSGIServer('placement', placement_wsgi.make_app(), '127.0.0.1', 0,
                     error_body=errors.error_body)
    srv.start()
    try:
        t0 = time.monotonic()
        rps = load(srv.port, args.providers)
        print(f'{len(rps)} providers loaded in {time.monotonic() - t0:.1f} s', flush=True)
        c = Client(srv.port)
        size = 0

        def one() -> dict[str, float]:
            nonlocal size
            out = {}
            t = time.perf_counter()
            _, raw = c.call('GET', CANDIDATES, '1.29')
            out['GET a_c'] = time.perf_counter() - t
            size = len(raw)
            body = json.loads(raw)
            req = body['allocation_requests'][len(body['allocation_requests']) // 2]
            consumer = str(uuid.uuid4())
            t = time.perf_counter()
            c.call('PUT', f'/allocations/{consumer}', '1.28',
                   {'allocations': req['allocations'], 'project_id': 'p', 'user_id': 'u',
                    'consumer_generation': None})
            out['PUT alloc'] = time.perf_counter() - t
            t = time.perf_counter()
            c.call('DELETE', f'/allocations/{consumer}', '1.0')
            out['DELETE alloc'] = time.perf_counter() - t
            return out

        for _ in range(5):
            one()
        if args.sql:
            import sqlalchemy as sa
            seen: list[str] = []

            def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
                       many: bool) -> None:
                stats = context._get_cache_stats() if context is not None else ''
                seen.append(f"[{stats}] {' '.join(statement.split())[:110]}")
            sa.event.listen(sa.engine.Engine, 'before_cursor_execute', record)
            one()
            sa.event.remove(sa.engine.Engine, 'before_cursor_execute', record)
            print(f'{len(seen)} statements in one round:', *seen, sep='\n  ')
        clock.on = True
        client: dict[str, list[float]] = {}
        for _ in range(args.n):
            for k, v in one().items():
                client.setdefault(k, []).append(v)
        clock.on = False
        print(f'{args.n} rounds at {args.providers} providers, answer {size} bytes; p50 ms '
              '(client wall | server wall, server CPU):')
        for (k, vals), method in zip(client.items(), ('GET', 'PUT', 'DELETE'), strict=True):
            sw = [w for m, w, _ in clock.records if m == method]
            sc = [cp for m, _, cp in clock.records if m == method]
            print(f'  {k:13} {pct(vals, .5) * 1000:6.2f} | {pct(sw, .5) * 1000:6.2f}, '
                  f'{pct(sc, .5) * 1000:6.2f}', flush=True)
        if args.dump:
            with open(args.dump, 'wb') as f:
                plain = CANDIDATES.split('&')[0]
                for version, path in (('1.10', plain), ('1.12', plain),
                                      ('1.17', plain + '&limit=5&required=COMPUTE_NODE'),
                                      ('1.27', CANDIDATES), ('1.29', CANDIDATES),
                                      ('1.34', CANDIDATES), ('1.39', CANDIDATES)):
                    f.write(c.call('GET', path, version)[1] + b'\n')
        if clock.prof is not None:
            import pstats
            stats = pstats.Stats(clock.prof)
            stats.sort_stats('tottime').print_stats(args.top)
            stats.sort_stats('cumulative').print_stats(args.top)
    finally:
        srv.stop()
        engines.dispose_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    os.environ.setdefault('PYTHONHASHSEED', '0')
    sys.exit(main())
