"""Time of a live migration of the test guest between two hypervisors on this
machine (docs/live-migration.md), through mini-Nova's API.

    python3 bench/libvirt_live_migration.py [-n 4]

Brings up an all-in-one on the first libvirtd and a second hypervisor with
its compute (tools/minova-hypervisor), boots the test guest (1 vCPU, 128 MiB,
qcow2 overlay) on the first, then live-migrates it n times, back and forth.
For each move it prints the time from POST os-migrateLive to the server
ACTIVE on the other host, and what libvirt reports of the finished job on
the host the guest arrived at: its time, the guest's downtime and the bytes
of memory and disk copied. Then the medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('-n', type=int, default=4, help='migrations, alternating direction')
    args = p.parse_args()
    conn = libvirt_conn()
    totals: list[float] = []
    downtimes: list[float] = []
    with two_hosts(conn, IMAGE) as hosts:
        uuid = boot(hosts, 'lm-bench')
        where = {hosts.source: SOURCE_URI, hosts.dest: DEST_URI}
        print(f'{"move":<34} {"API total s":>11} {"libvirt s":>9} {"downtime ms":>11} '
              f'{"memory MiB":>10} {"disk MiB":>8}')
        for i in range(args.n):
            src, dst = (hosts.source, hosts.dest) if i % 2 == 0 else (hosts.dest, hosts.source)
            start = time.monotonic()
            live_migrate(hosts.cloud, uuid, dst)
            total = time.monotonic() - start
            stats = _completed(where[dst], uuid)
            totals.append(total)
            if 'downtime' in stats:
                downtimes.append(stats['downtime'])
            print(f'{src + " -> " + dst:<34} {total:>11.2f} '
                  f'{stats.get("time_elapsed", 0) / 1000:>9.2f} '
                  f'{stats.get("downtime", float("nan")):>11.0f} '
                  f'{stats.get("memory_processed", 0) / 2**20:>10.1f} '
                  f'{stats.get("disk_processed", 0) / 2**20:>8.1f}')
        hosts.cloud.api('DELETE', f'/servers/{uuid}')
        hosts.cloud.wait_gone(uuid)
    print(f'\nmedian of {len(totals)}: {statistics.median(totals):.2f} s from the API call to '
          f'ACTIVE on the other host'
          + (f', downtime {statistics.median(downtimes):.0f} ms' if downtimes else ''))


if __name__ == '__main__':
    main()
