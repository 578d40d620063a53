"""Live migration as Nova's libvirt driver does it: peer to peer, the source
libvirtd connecting to the destination's (live_migration_uri), QEMU's stream
to the destination's inbound address, the domain defined there from XML
rewritten for that host, the writable disks copied into disks the destination
pre-created when there is no shared storage (docs/live-migration.md)."""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from minova.conf import CONF
from minova.virt.driver import MigrationProgress

LOG = logging.getLogger(__name__)

POLL = 0.5
PROGRESS_KEYS = ('memory_total', 'memory_processed', 'memory_remaining',
                 'disk_total', 'disk_processed', 'disk_remaining')


def _libvirt() -> Any:
    import libvirt
    return libvirt


def dest_uri(migrate_data: dict[str, Any], dest: str) -> str:
    """The destination libvirtd's URI: live_migration_uri with its inbound
    address (what it answered in migrate_data), else its host name."""
    return CONF.libvirt.live_migration_uri % (migrate_data.get('inbound_addr') or dest)


def flags(block_migration: bool) -> int:
    lv = _libvirt()
    f = (lv.VIR_MIGRATE_LIVE | lv.VIR_MIGRATE_PEER2PEER | lv.VIR_MIGRATE_UNDEFINE_SOURCE
         | lv.VIR_MIGRATE_PERSIST_DEST)
    if block_migration:
        f |= lv.VIR_MIGRATE_NON_SHARED_INC
    return int(f)


def copied_disks(xml: str) -> list[str]:
    """Target names of the disks a block migration copies: writable file
    disks (a read-only config drive is made again on the destination, as
    Nova copies it there before the move)."""
    import xml.etree.ElementTree as ET
    out = []
    for disk in ET.fromstring(xml).findall("./devices/disk[@device='disk']"):
        target = disk.find('target')
        if disk.find('readonly') is None and disk.find('shareable') is None and \
                disk.get('type') in ('file', 'block') and target is not None:
            out.append(target.get('dev') or '')
    return [d for d in out if d]


def progress_of(stats: dict[str, Any]) -> MigrationProgress:
    out = MigrationProgress()
    for k in PROGRESS_KEYS:
        if k in stats:
            out[k] = int(stats[k])  # type: ignore[literal-required]
    return out


def run(dom: Any, uri: str, params: dict[str, Any], migrate_flags: int,
        progress: Callable[[MigrationProgress], None],
        aborted: Callable[[], bool] = lambda: False) -> None:
    """migrateToURI3 in a thread of its own, its job's progress reported
    every POLL seconds until it returns; its error raised here. An abort
    asked for before libvirt had the job is sent once it has."""
    errors: list[BaseException] = []
    abort_sent = False

    def migrate() -> None:
        try:
            dom.migrateToURI3(uri, params, migrate_flags)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            errors.append(e)

    worker = threading.Thread(target=migrate, name=f'migrate-{dom.name()}', daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(POLL)
        if not worker.is_alive():
            break
        with contextlib.suppress(_libvirt().libvirtError):   # no job yet, or done
            stats = dom.jobStats()
            if stats.get('type', 0) != 0 and aborted() and not abort_sent:
                dom.abortJob()
                abort_sent = True
            elif stats.get('type', 0) != 0:
                with contextlib.suppress(Exception):
                    progress(progress_of(stats))
    if errors:
        raise errors[0]


def completed_stats(conn: Any, uuid: str) -> dict[str, Any]:
    """The finished migration's job statistics where the guest now runs
    (downtime, time elapsed, bytes); {} when libvirt has none."""
    lv = _libvirt()
    try:
        return dict(conn.lookupByUUIDString(uuid).jobStats(lv.VIR_DOMAIN_JOB_STATS_COMPLETED))
    except lv.libvirtError:
        return {}
