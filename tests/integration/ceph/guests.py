"""Guests of the ceph tier: the libvirt driver run in the test process on
this machine's libvirtd, RBD images as Cinder's volumes, the guest's console."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from minova.conf import CONF
from minova.context import get_admin_context
from minova.virt.libvirt import driver as libvirt_driver
from minova.virt.libvirt.driver import LibvirtDriver

MiB = 1 << 20
BOOTED = 'MINOVA-TEST-IMAGE-BOOTED'


@dataclass
class Guest:
    driver: LibvirtDriver
    instance: dict[str, Any]
    ceph: dict[str, Any]
    root: dict[str, Any]        # connection infos, as Cinder's with the serial
    data: dict[str, Any]
    marker: str
    extra_images: list[str] = field(default_factory=list)   # made by tests, removed after
    old_data: dict[str, Any] | None = None

    def console(self) -> str:
        path = os.path.join(libvirt_driver.instance_dir(self.instance), 'console.log')  # type: ignore[arg-type]
        with open(path, errors='replace') as f:
            return f.read()

    def wait_console(self, text: str, count: int = 1, timeout: float = 120.0,
                     after: str | None = None, after_count: int = 1) -> str:
        """Wait for text count times (on the part after the after_count-th
        occurrence of after, when given)."""
        deadline = time.monotonic() + timeout
        out = ''
        while time.monotonic() < deadline:
            out = self.console()
            part = out
            if after is not None:
                parts = out.split(after)
                part = after.join(parts[after_count:]) if len(parts) > after_count else ''
            if part.count(text) >= count:
                return part
            time.sleep(0.5)
        raise AssertionError(f'{text!r} x{count} not on the console:\n{out[-3000:]}')

    def bdi(self, *infos: tuple[dict[str, Any], str, int | None]) -> dict[str, Any]:
        return {'root_device_name': '/dev/vda', 'ephemerals': [], 'swap': None,
                'block_device_mapping': [
                    {'connection_info': info, 'mount_device': dev, 'boot_index': boot,
                     'disk_bus': 'virtio', 'device_type': 'disk',
                     'delete_on_termination': False, 'volume_id': info['serial']}
                    for info, dev, boot in infos]}

    def dom(self) -> Any:
        return self.driver._lookup(self.instance)  # type: ignore[arg-type]


def rbd(ceph: dict[str, Any], *args: str, **kw: Any) -> subprocess.CompletedProcess:
    """The rbd CLI as client.admin."""
    return subprocess.run(['rbd', '-c', ceph['conf'], '--id', 'admin', *args],
                          capture_output=True, check=True, timeout=300, **kw)


def connection_info(ceph: dict[str, Any], image: str, volume_id: str,
                    secret_uuid: str | None) -> dict[str, Any]:
    """What Cinder's RBD driver answers to attachment_update, plus the serial."""
    host, port = ceph['mon_hosts'][0].split(':')
    return {'driver_volume_type': 'rbd', 'serial': volume_id, 'data': {
        'name': f'{ceph["pool"]}/{image}', 'hosts': [host], 'ports': [port],
        'cluster_name': 'ceph', 'auth_enabled': True, 'auth_username': ceph['user'],
        'secret_type': 'ceph', 'secret_uuid': secret_uuid, 'volume_id': volume_id,
        'discard': True, 'qos_specs': None, 'access_mode': 'rw', 'encrypted': False}}


def disk_names(xml: str) -> list[str]:
    """The RBD sources of a domain XML's network disks."""
    return [src.get('name') or '' for src in
            ET.fromstring(xml).findall("./devices/disk[@type='network']/source")]


def data_volume(ceph: dict[str, Any], image: str, marker: str, size: int = 64 * MiB) -> None:
    """An RBD image whose first line is marker, written through librbd."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(f'{marker}\n'.encode())
        f.truncate(size)
        f.flush()
        rbd(ceph, 'import', f.name, f'{ceph["pool"]}/{image}')


def remove_images(ceph: dict[str, Any], *images: str) -> None:
    for img in images:
        subprocess.run(['rbd', '-c', ceph['conf'], '--id', 'admin', 'rm',
                        f'{ceph["pool"]}/{img}'], capture_output=True, timeout=120)


@contextlib.contextmanager
def libvirt_driver_here(ceph: dict[str, Any], tag: str,
                        images: Any = None) -> Iterator[LibvirtDriver]:
    """A LibvirtDriver on qemu:///system with its own state dir, host and
    domain names, [libvirt] rbd_user/rbd_secret_uuid set to the cluster's;
    images replaces its image cache's image service client."""
    state = tempfile.mkdtemp(prefix='minova-ceph-', dir='/var/tmp')
    os.chmod(state, 0o755)   # QEMU runs as another user
    overrides = {'state_path': state, 'host': f'ceph-it-{os.getpid()}',
                 'instance_name_template': f'ceph-it-{os.getpid()}-{tag}-%08x'}
    for name, value in overrides.items():
        CONF.set_override(name, value)
    CONF.set_override('rbd_user', ceph['user'], group='libvirt')
    CONF.set_override('rbd_secret_uuid', ceph['secret_uuid'], group='libvirt')
    try:
        drv = LibvirtDriver()
        if images is not None:
            drv.images.client = images
        drv.init_host(CONF.host, deployment_id=f'ceph-it-{tag}')
        yield drv
    finally:
        for name in overrides:
            CONF.clear_override(name)
        CONF.clear_override('rbd_user', group='libvirt')
        CONF.clear_override('rbd_secret_uuid', group='libvirt')
        shutil.rmtree(state, ignore_errors=True)


def new_instance(tag: str, **fields: Any) -> dict[str, Any]:
    instance = {'uuid': str(uuid.uuid4()), 'id': int(tag, 16) % 10**7, 'memory_mb': 128,
                'vcpus': 1, 'root_gb': 1, 'ephemeral_gb': 0, 'display_name': 'ceph-it',
                'hostname': f'ceph-it-{tag}', 'image_ref': '', 'project_id': 'p',
                'config_drive': False}
    instance.update(fields)
    return instance


def destroy(drv: LibvirtDriver, instance: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):   # (a failed test may leave no domain)
        drv.destroy(get_admin_context(), instance, [])  # type: ignore[arg-type]
