"""Image records and data as files: <root>/<id>.json and <root>/<id>.data.

One JSON file per image keeps the store inspectable and crash-safe (written
to a temporary name, then renamed); a lock serialises changes in this process.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from typing import Any, Protocol

from minova import utils

# Fields the service owns; a client may not set them (Glance answers 403).
READ_ONLY = frozenset({'id', 'status', 'checksum', 'os_hash_algo', 'os_hash_value', 'size',
                       'virtual_size', 'created_at', 'updated_at', 'file', 'self', 'schema',
                       'direct_url', 'locations'})
# Fields that are not free-form string properties.
CORE = frozenset({'name', 'visibility', 'protected', 'os_hidden', 'min_ram', 'min_disk',
                  'owner', 'disk_format', 'container_format', 'tags'}) | READ_ONLY
DISK_FORMATS = ('ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso',
                'ploop')
CONTAINER_FORMATS = ('ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed')
CHUNK = 1 << 20


class Readable(Protocol):
    """What upload reads image data from (a file, a request's bounded stream)."""

    def read(self, size: int = -1, /) -> bytes: ...


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


def _now() -> str:
    return utils.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ')


def virtual_size(path: str, disk_format: str | None) -> int | None:
    """The guest-visible size, from qemu-img (None when it cannot tell)."""
    fmt = disk_format if disk_format in ('raw', 'qcow2', 'vmdk', 'vdi', 'vhdx') else None
    if fmt is None:
        return None
    try:
        out = subprocess.run(['qemu-img', 'info', '--output=json', '-f', fmt, path],
                             capture_output=True, check=True, timeout=60).stdout
        return int(json.loads(out)['virtual-size'])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        return None


class ImageStore:
    def __init__(self, root: str) -> None:
        self.root = root
        os.makedirs(root, exist_ok=True)
        self._lock = threading.Lock()

    def _meta_path(self, image_id: str) -> str:
        return os.path.join(self.root, f'{image_id}.json')

    def data_path(self, image_id: str) -> str:
        return os.path.join(self.root, f'{image_id}.data')

    def _write(self, image: dict[str, Any]) -> None:
        path = self._meta_path(image['id'])
        tmp = f'{path}.tmp'
        with open(tmp, 'w') as f:
            json.dump(image, f)
        os.replace(tmp, path)

    def get(self, image_id: str) -> dict[str, Any]:
        try:
            uuid.UUID(image_id)
            with open(self._meta_path(image_id)) as f:
                return json.load(f)
        except (ValueError, OSError):
            raise NotFound(image_id) from None

    def list(self) -> list[dict[str, Any]]:
        images = []
        for name in os.listdir(self.root):
            if name.endswith('.json'):
                with contextlib.suppress(NotFound):
                    images.append(self.get(name[:-5]))
        return images

    def create(self, values: dict[str, Any], owner: str | None) -> dict[str, Any]:
        image_id = values.pop('id', None) or str(uuid.uuid4())
        now = _now()
        image: dict[str, Any] = {
            'id': image_id, 'name': None, 'status': 'queued', 'visibility': 'shared',
            'protected': False, 'os_hidden': False, 'checksum': None, 'os_hash_algo': None,
            'os_hash_value': None, 'min_ram': 0, 'min_disk': 0, 'owner': owner, 'size': None,
            'virtual_size': None, 'disk_format': None, 'container_format': None,
            'tags': [], 'created_at': now, 'updated_at': now,
        }
        image.update(values)
        with self._lock:
            if os.path.exists(self._meta_path(image_id)):
                raise Conflict(image_id)
            self._write(image)
        return image

    def update(self, image_id: str, changes: dict[str, Any],
               removed: tuple[str, ...] = ()) -> dict[str, Any]:
        with self._lock:
            image = self.get(image_id)
            image.update(changes)
            for key in removed:
                image.pop(key, None)
            image['updated_at'] = _now()
            self._write(image)
        return image

    def delete(self, image_id: str) -> None:
        with self._lock:
            self.get(image_id)
            for path in (self.data_path(image_id), self._meta_path(image_id)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def upload(self, image_id: str, stream: Readable) -> dict[str, Any]:
        """Store the data; the image goes queued -> saving -> active."""
        with self._lock:
            image = self.get(image_id)
            if image['status'] != 'queued':
                raise Conflict(image_id)
            image['status'] = 'saving'
            self._write(image)
        md5, sha512, size = hashlib.md5(usedforsecurity=False), hashlib.sha512(), 0
        tmp = self.data_path(image_id) + '.part'
        try:
            with open(tmp, 'wb') as f:
                while chunk := stream.read(CHUNK):
                    md5.update(chunk)
                    sha512.update(chunk)
                    size += len(chunk)
                    f.write(chunk)
            os.replace(tmp, self.data_path(image_id))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            with contextlib.suppress(NotFound):
                self.update(image_id, {'status': 'queued'})
            raise
        vsize = virtual_size(self.data_path(image_id), image.get('disk_format'))
        return self.update(image_id, {
            'status': 'active', 'size': size, 'checksum': md5.hexdigest(),
            'os_hash_algo': 'sha512', 'os_hash_value': sha512.hexdigest(),
            'virtual_size': vsize})

    def read(self, image_id: str) -> Iterator[bytes]:
        with open(self.data_path(image_id), 'rb') as f:
            while chunk := f.read(CHUNK):
                yield chunk
