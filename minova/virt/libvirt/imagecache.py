"""Per-host image cache under $state_path/_base and the qcow2 overlays on it.

A cached base is named after the image id, downloaded once (concurrent boots
of one image wait for the first download) and never written to: every
instance disk is a qcow2 overlay whose backing file is the base.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import threading
from typing import Any

from minova import exception
from minova.clients import image as image_client
from minova.clients.image import ImageUnusable
from minova.conf import CONF
from minova.context import RequestContext

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
DISK_FORMATS = ('raw', 'qcow2')


class FlavorDiskSmallerThanImage(exception.MinovaException):
    msg_fmt = ("Flavor's disk is too small for requested image. Flavor disk is "
               "%(flavor_size)i bytes, image is %(image_size)i bytes.")
    code = 400


def qemu_img_info(path: str, fmt: str | None = None) -> dict[str, Any]:
    cmd = ['qemu-img', 'info', '--output=json']
    if fmt:
        cmd += ['-f', fmt]
    out = subprocess.run(cmd + [path], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    return json.loads(out)


def backing_file(path: str) -> str | None:
    """The file a qcow2 disk is backed by (None for a standalone disk)."""
    info = qemu_img_info(path, 'qcow2')
    return info.get('full-backing-filename') or info.get('backing-filename')


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise exception.MinovaException(f'{" ".join(cmd[:2])} failed: '
                                        f'{proc.stderr.strip() or proc.returncode}')


def rebase(disk: str, base: str, base_fmt: str) -> None:
    """The qcow2 disk backed by base instead (the same content: no data copied)."""
    _run(['qemu-img', 'rebase', '-q', '-u', '-f', 'qcow2', '-b', base, '-F', base_fmt, disk])


class ImageCache:
    def __init__(self, client: image_client.Client | None = None) -> None:
        self.client = client or image_client.Client()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        # Bases already inspected: image id -> (file identity, format, virtual
        # size), so a later boot of the image spends no qemu-img run on it.
        self._checked: dict[str, tuple[tuple[int, int, int], str, int]] = {}

    @property
    def base_dir(self) -> str:
        return os.path.join(CONF.state_path, '_base')

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def path(self, image_id: str) -> str:
        """Where image_id's base is (or would be) cached."""
        return os.path.join(self.base_dir, hashlib.sha1(image_id.encode()).hexdigest())

    def cached(self, image_id: str) -> bool:
        """Whether image_id's base is in this host's cache."""
        return os.path.exists(self.path(image_id))

    @staticmethod
    def _identity(path: str) -> tuple[int, int, int]:
        st = os.stat(path)
        return st.st_ino, st.st_size, st.st_mtime_ns

    def fetch(self, ctx: RequestContext, image: dict[str, Any]) -> tuple[str, str, int]:
        """(path, format, virtual size in bytes) of the cached base of image."""
        image_id = image['id']
        fmt = image.get('disk_format')
        if fmt not in DISK_FORMATS + ('aki', 'ari'):
            raise ImageUnusable(image_id=image_id,
                                reason=f'disk_format {fmt!r} is not supported here '
                                       f'(use raw or qcow2)')
        os.makedirs(self.base_dir, mode=0o755, exist_ok=True)
        path = self.path(image_id)
        with self._lock(image_id):
            if not os.path.exists(path):
                if 'status' not in image:
                    # The image as recorded at boot (a move or evacuation to a
                    # host that never had it): the download needs the service's
                    # record (status, size, checksum).
                    image = self.client.show(ctx, image_id)
                LOG.info('Downloading image %s into the cache', image_id)
                self.client.download(ctx, image, path)
                os.chmod(path, 0o644)
            if fmt in ('aki', 'ari'):
                return path, 'raw', os.path.getsize(path)
            identity = self._identity(path)
            known = self._checked.get(image_id)
            if known is not None and known[0] == identity and known[1] == fmt:
                return path, fmt, known[2]
            info = qemu_img_info(path, fmt)
            if fmt == 'qcow2' and (info.get('backing-filename')
                                   or info.get('format') != 'qcow2'):
                # A qcow2 pointing at another file could read any file on the host.
                raise ImageUnusable(image_id=image_id,
                                    reason='a qcow2 image with a backing file is refused')
            self._checked[image_id] = (identity, fmt, int(info['virtual-size']))
        return path, fmt, int(info['virtual-size'])

    def ephemeral_base(self, size_gb: int) -> str:
        """A formatted raw disk of size_gb GiB (file system label ephemeral0),
        made once per size and format, that ephemeral disks are overlays on,
        as Nova's _base/ephemeral_* files."""
        fs = CONF.default_ephemeral_format
        name = f'ephemeral_{size_gb}_{fs}'
        path = os.path.join(self.base_dir, name)
        with self._lock(name):
            if not os.path.exists(path):
                os.makedirs(self.base_dir, mode=0o755, exist_ok=True)
                tmp = f'{path}.part'
                with open(tmp, 'wb') as f:
                    f.truncate(size_gb * GiB)   # sparse: only the file system's blocks
                _run([f'mkfs.{fs}', '-q', '-F', '-L', 'ephemeral0', tmp] if fs.startswith('ext')
                     else [f'mkfs.{fs}', '-n' if fs == 'vfat' else '-L', 'ephemeral0', tmp])
                os.chmod(tmp, 0o644)
                os.rename(tmp, path)
        return path

    @staticmethod
    def create_overlay(base: str, base_fmt: str, virtual_size: int, root_gb: int,
                       dest: str) -> None:
        """A qcow2 of root_gb GiB (the image's size when 0) backed by base."""
        size = root_gb * GiB if root_gb else virtual_size
        if size < virtual_size:
            raise FlavorDiskSmallerThanImage(flavor_size=size, image_size=virtual_size)
        _run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', base, '-F', base_fmt, dest,
              str(size)])
