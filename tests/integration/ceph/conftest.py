"""A real single-node Ceph (tools/minova-ceph) for the volume tests.

The session holds /var/tmp/minova-ceph.lock while it uses the cluster (other
runs wait), brings the cluster up (or reuses a running one) and stops it at
the end unless it was already running. Outside CI a missing piece (Ceph's
packages, QEMU's rbd driver, libvirtd, the test image's tools) skips the
tier; under CI (CI=true) it fails.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.libvirt.conftest import REPO, _unavailable, libvirt_conn

TOOL = os.path.join(REPO, 'tools', 'minova-ceph')
LOCK = '/var/tmp/minova-ceph.lock'
STATE = os.environ.get('MINOVA_CEPH_STATE', '/var/tmp/minova-ceph')
RBD_DRIVER = '/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so'
# The test image with the disk watcher, built for this tier (its own path, so
# a run of another tier rebuilding the shared image does not race it).
IMAGE = os.environ.get('MINOVA_CEPH_TEST_IMAGE',
                       '/var/cache/minova-test-image/minova-test-volumes.qcow2')
LOCK_WAIT = 900.0


def _ceph_tool(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([TOOL, *args, '--state-dir', STATE], capture_output=True,
                          text=True, timeout=300, check=check)


@pytest.fixture(scope='session')
def ceph() -> Iterator[dict[str, Any]]:
    """tools/minova-ceph's JSON (conf, keyrings, user, key, pool, secret_uuid)."""
    for tool in ('ceph-mon', 'ceph-osd', 'ceph-mgr', 'rbd'):
        if not shutil.which(tool):
            _unavailable(f'{tool} is missing (tools/minova-ceph install)', 'ceph')
    if not os.path.exists(RBD_DRIVER):
        _unavailable(f'QEMU has no rbd driver ({RBD_DRIVER}: qemu-block-extra)', 'ceph')
    libvirt_conn().close()
    from tests.integration.cinder.conftest import _held_by_me
    lock: Any = open(LOCK, 'w')   # noqa: SIM115 - held for the session
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if _held_by_me(LOCK):   # the cinder tier's session in this pytest: its Ceph
                lock.close()
                lock = None
                break
            if time.monotonic() > deadline:
                lock.close()
                _unavailable(f'another run holds {LOCK}', 'ceph')
            time.sleep(1)
    try:
        was_up = _ceph_tool('status', check=False).returncode == 0
        up = _ceph_tool('up', check=False)
        if up.returncode:
            pytest.fail(f'tools/minova-ceph up failed:\n{up.stderr[-3000:]}')
        yield json.loads(up.stdout)
        if lock is not None and not was_up:
            _ceph_tool('down', check=False)
    finally:
        if lock is not None:
            lock.close()


@pytest.fixture(scope='session')
def volume_test_image() -> str:
    """The test image (with its disk watcher), built or reused."""
    done = subprocess.run([os.path.join(REPO, 'tools', 'build-test-image.sh'), IMAGE],
                          capture_output=True, text=True, timeout=600)
    if done.returncode or not os.path.exists(IMAGE):
        _unavailable(f'tools/build-test-image.sh failed: {done.stderr[-1000:]}', 'ceph')
    return IMAGE
