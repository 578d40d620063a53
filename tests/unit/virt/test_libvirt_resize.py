"""The libvirt driver's resize refusals and root disk growth, without a
hypervisor: refusals come before the guest is touched."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from minova import exception
from minova.context import get_admin_context
from minova.virt.libvirt import imagecache
from minova.virt.libvirt.driver import LibvirtDriver

UUID = '6f1b7f5e-0d0e-4b43-9a1e-2b4f0c1f3a11'


class _Untouchable:
    def get_connection(self) -> Any:
        raise AssertionError('the refusal must not reach libvirt')


def _driver() -> LibvirtDriver:
    d = LibvirtDriver()
    d.host_name = 'here'
    d._host = _Untouchable()  # type: ignore[assignment]
    return d


def test_another_destination_host_is_refused_before_the_guest_is_touched() -> None:
    with pytest.raises(exception.InstanceFaultRollback) as e:
        _driver().migrate_disk_and_power_off(get_admin_context(), {'uuid': UUID, 'root_gb': 1},
                                             'there', {'root_gb': 1}, [])
    assert str(e.value) == ('Resize error: moving a libvirt guest to another host (there) is '
                            'not supported here; only a resize on the same host is.')
    assert isinstance(e.value.inner_exception, exception.ResizeError)


def test_a_smaller_root_disk_is_refused() -> None:
    with pytest.raises(exception.InstanceFaultRollback, match='Unable to resize disk down'):
        _driver().migrate_disk_and_power_off(get_admin_context(), {'uuid': UUID, 'root_gb': 2},
                                             'here', {'root_gb': 1}, [])


@pytest.mark.skipif(not shutil.which('qemu-img'), reason='needs qemu-img')
def test_root_disk_grows_to_the_flavor_and_never_shrinks(tmp_path: Path) -> None:
    disk = str(tmp_path / 'disk')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', disk, '1G'], check=True)
    d = _driver()
    d._grow_root_disk({'uuid': UUID, 'root_gb': 3}, disk)  # type: ignore[typeddict-item]
    assert imagecache.qemu_img_info(disk, 'qcow2')['virtual-size'] == 3 * imagecache.GiB
    with pytest.raises(exception.ResizeError, match='Unable to resize disk down'):
        d._grow_root_disk({'uuid': UUID, 'root_gb': 2}, disk)  # type: ignore[typeddict-item]
