"""Time of a live migration of the test guest between two hypervisors on this
machine (docs/live-migration.md), through mini-Nova's API.

    python3 bench/libvirt_live_migration.py [-n 4]

Brings up an all-in-one on the first libvirtd and a second hypervisor with
its compute (tools/minova-hypervisor), boots the test guest (1 vCPU, 128 MiB,
qcow2 overlay) on the first, then live-migrates it n times, back and forth.
For each move it prints the time from POST os-migrateLive to the server
ACTIVE on the other host; the time of libvirt's migration job as seen on the
source (from its start to the domain leaving) and the disk bytes it copied;
the guest's downtime and the memory copied as libvirt reports the finished
job on the host the guest arrived at. Then the medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import libvirt  # noqa: E402

from tests.integration.libvirt.conftest import IMAGE, libvirt_conn  # noqa: E402
from tests.integration.libvirt.two_hosts import (  # noqa: E402
    DEST_URI,
    SOURCE_URI,
    boot,
    live_migrate,
    two_hosts,
)


def _completed(uri: str, uuid: str) -> dict[str, Any]:
    conn = libvirt.open(uri)
    try:
        return dict(conn.lookupByUUIDString(uuid).jobStats(
            libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED))
    except libvirt.libvirtError:
        return {}
    finally:
        conn.close()


class SourceJob(threading.Thread):
    """Watches the migration job on the source libvirtd: when it starts and
    ends (the domain gone there), and the disk bytes it copies (the
    destination's statistics count memory only)."""

    def __init__(self, uri: str, uuid: str) -> None:
        super().__init__(daemon=True)
        self.uri, self.uuid = uri, uuid
        self.start_t: float | None = None
        self.end_t: float | None = None
        self.disk_bytes = 0   # the most seen: the figures reset between phases
        self.stop = False

    def run(self) -> None:
        libvirt.registerErrorHandler(lambda *_: None, None)
        conn = libvirt.open(self.uri)
        dom = conn.lookupByUUIDString(self.uuid)
        try:
            while not self.stop:
                try:
                    stats = dom.jobStats()
                except libvirt.libvirtError:
                    if self.start_t is not None:
                        self.end_t = time.monotonic()
                        return
                    stats = {}
                if stats.get('type', 0) != 0:
                    self.start_t = self.start_t or time.monotonic()
                    self.disk_bytes = max(self.disk_bytes, int(stats.get('disk_total', 0)))
                elif self.start_t is not None and not dom.isActive():
                    self.end_t = time.monotonic()
                    return
                time.sleep(0.05)
        finally:
            conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('-n', type=int, default=4, help='migrations, alternating direction')
    args = p.parse_args()
    conn = libvirt_conn()
    totals: list[float] = []
    downtimes: list[float] = []
    jobs: list[float] = []
    with two_hosts(conn, IMAGE) as hosts:
        uuid = boot(hosts, 'lm-bench')
        where = {hosts.source: SOURCE_URI, hosts.dest: DEST_URI}
        print(f'{"move":<30} {"API total s":>11} {"libvirt job s":>13} {"downtime ms":>11} '
              f'{"memory MiB":>10} {"disk MiB":>8}')
        for i in range(args.n):
            src, dst = (hosts.source, hosts.dest) if i % 2 == 0 else (hosts.dest, hosts.source)
            job = SourceJob(where[src], uuid)
            job.start()
            start = time.monotonic()
            live_migrate(hosts.cloud, uuid, dst)
            total = time.monotonic() - start
            job.stop = True
            job.join(5)
            stats = _completed(where[dst], uuid)
            job_s = (job.end_t - job.start_t) if job.start_t and job.end_t else float('nan')
            jobs.append(job_s)
            totals.append(total)
            if 'downtime' in stats:
                downtimes.append(stats['downtime'])
            print(f'{src + " -> " + dst:<30} {total:>11.2f} {job_s:>13.2f} '
                  f'{stats.get("downtime", float("nan")):>11.0f} '
                  f'{stats.get("memory_processed", 0) / 2**20:>10.1f} '
                  f'{job.disk_bytes / 2**20:>8.1f}')
        hosts.cloud.api('DELETE', f'/servers/{uuid}')
        hosts.cloud.wait_gone(uuid)
    print(f'\nmedian of {len(totals)}: {statistics.median(totals):.2f} s from the API call to '
          f'ACTIVE on the other host, {statistics.median(jobs):.2f} s of libvirt job'
          + (f', downtime {statistics.median(downtimes):.0f} ms' if downtimes else ''))


if __name__ == '__main__':
    main()
