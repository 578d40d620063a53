"""The libvirt driver's resize and cold migration without a hypervisor: the
refusals come before the guest is touched; the guest's files reach another
host through the remote filesystem (ssh or rsync), or are copied locally when
the destination shares the instances directory; the root disk grows."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from minova import exception
from minova.conf import CONF
from minova.context import get_admin_context
from minova.virt.libvirt import driver as libvirt_driver
from minova.virt.libvirt import imagecache, remotefs
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


class _OtherHost:
    """A remote filesystem whose host keeps its files under root: the same
    paths, other files, as another host's instances directory. shared: the
    host sees this one's files instead (shared storage)."""

    def __init__(self, root: Path, shared: bool = False, fail_copy: bool = False) -> None:
        self.root, self.shared, self.fail_copy = root, shared, fail_copy
        self.calls: list[tuple[str, ...]] = []

    def _p(self, path: str) -> Path:
        return Path(path) if self.shared else self.root / path.lstrip('/')

    def create_file(self, host: str, path: str) -> None:
        self.calls.append(('create_file', host))
        self._p(path).parent.mkdir(parents=True, exist_ok=True)
        self._p(path).touch()

    def remove_file(self, host: str, path: str) -> None:
        self.calls.append(('remove_file', host))
        self._p(path).unlink()

    def create_dir(self, host: str, path: str) -> None:
        self.calls.append(('create_dir', host))
        self._p(path).mkdir(parents=True, exist_ok=True)

    def remove_dir(self, host: str, path: str) -> None:
        self.calls.append(('remove_dir', host))
        shutil.rmtree(self._p(path))

    def copy_file(self, src: str, host: str, dst: str) -> None:
        self.calls.append(('copy_file', host, Path(src).name))
        if self.fail_copy:
            raise exception.ResizeError(reason='scp failed (1): lost connection')
        shutil.copy2(src, self._p(dst))


@pytest.fixture
def guest_dir(tmp_path: Path) -> Any:
    """This host's instances directory with a guest's files."""
    here = tmp_path / 'here'
    (here / UUID).mkdir(parents=True)
    for name, data in (('disk', b'root'), ('disk.config', b'iso'), ('console.log', b'BOOTED')):
        (here / UUID / name).write_bytes(data)
    CONF.set_override('instances_path', str(here))
    yield here
    CONF.clear_override('instances_path')


def _moving_driver(monkeypatch: pytest.MonkeyPatch, remote: _OtherHost) -> LibvirtDriver:
    d = _driver()
    powered_off: list[str] = []
    monkeypatch.setattr(d, 'power_off', lambda inst, timeout=0, retry_interval=0:
                        powered_off.append(inst['uuid']))
    monkeypatch.setattr(remotefs, 'driver', lambda: remote)
    d.powered_off = powered_off  # type: ignore[attr-defined]
    return d


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_another_host_gets_the_files_through_the_remote_filesystem(
        tmp_path: Path, guest_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = _OtherHost(tmp_path / 'there')
    d = _moving_driver(monkeypatch, remote)
    d.migrate_disk_and_power_off(get_admin_context(), {'uuid': UUID, 'root_gb': 1},
                                 '10.0.0.2', {'root_gb': 2}, [])
    assert d.powered_off == [UUID]  # type: ignore[attr-defined]
    moved = {'disk': b'root', 'disk.config': b'iso', 'console.log': b'BOOTED'}
    assert _files(remote.root / str(guest_dir).lstrip('/') / UUID) == moved
    # The source keeps its copy aside for a revert, nothing else.
    assert sorted(p.name for p in guest_dir.iterdir()) == [f'{UUID}_resize']
    assert _files(guest_dir / f'{UUID}_resize') == moved
    # The probe for shared storage came back negative and was removed there.
    assert remote.calls[:3] == [('create_file', '10.0.0.2'), ('remove_file', '10.0.0.2'),
                                ('create_dir', '10.0.0.2')]
    assert not [p for p in (remote.root / str(guest_dir).lstrip('/')).iterdir()
                if p.name.endswith('.tmp')]


def test_a_destination_sharing_the_instances_directory_gets_a_local_copy(
        guest_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = _OtherHost(tmp_path / 'unused', shared=True)
    d = _moving_driver(monkeypatch, remote)
    d.migrate_disk_and_power_off(get_admin_context(), {'uuid': UUID, 'root_gb': 1},
                                 '10.0.0.2', {'root_gb': 1}, [])
    assert [c[0] for c in remote.calls] == ['create_file']   # the probe, seen here
    assert _files(guest_dir / UUID) == _files(guest_dir / f'{UUID}_resize')
    assert not [p for p in guest_dir.iterdir() if p.name.endswith('.tmp')]


def test_this_hosts_own_address_is_a_local_copy_without_the_remote_filesystem(
        guest_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = _OtherHost(tmp_path / 'unused')
    d = _moving_driver(monkeypatch, remote)
    d.migrate_disk_and_power_off(get_admin_context(), {'uuid': UUID, 'root_gb': 1},
                                 CONF.my_ip, {'root_gb': 1}, [])
    assert remote.calls == []
    assert _files(guest_dir / UUID)['disk'] == b'root'


def test_a_failed_copy_puts_the_guests_directory_back(
        tmp_path: Path, guest_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = _OtherHost(tmp_path / 'there', fail_copy=True)
    d = _moving_driver(monkeypatch, remote)
    with pytest.raises(exception.ResizeError, match='lost connection'):
        d.migrate_disk_and_power_off(get_admin_context(), {'uuid': UUID, 'root_gb': 1},
                                     '10.0.0.2', {'root_gb': 1}, [])
    assert sorted(p.name for p in guest_dir.iterdir()) == [UUID]
    assert _files(guest_dir / UUID)['disk'] == b'root'
    assert not (remote.root / str(guest_dir).lstrip('/') / UUID).exists()
    assert remote.calls[-1] == ('remove_dir', '10.0.0.2')


def _commands(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    ran: list[list[str]] = []

    def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, '', '')
    monkeypatch.setattr(remotefs.subprocess, 'run', run)
    return ran


def test_ssh_transport_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _commands(monkeypatch)
    ssh = remotefs.SshDriver()
    ssh.create_dir('10.0.0.2', '/var/lib/minova/instances/a b')
    ssh.copy_file('/x/disk', '10.0.0.2', '/var/lib/minova/instances/u/disk')
    ssh.copy_file('/x/disk', 'fd00::2', '/i/u/disk')
    assert ran == [
        ['ssh', '-o', 'BatchMode=yes', '10.0.0.2', "mkdir -p '/var/lib/minova/instances/a b'"],
        ['scp', '-q', '-o', 'BatchMode=yes', '/x/disk',
         '10.0.0.2:/var/lib/minova/instances/u/disk'],
        ['scp', '-q', '-o', 'BatchMode=yes', '/x/disk', '[fd00::2]:/i/u/disk']]


def test_rsync_transport_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _commands(monkeypatch)
    rsync = remotefs.RsyncDriver()
    rsync.copy_file('/x/disk', '10.0.0.2', '/i/u/disk')
    rsync.remove_dir('10.0.0.2', '/i/u')
    assert ran[0] == ['rsync', '--sparse', '--compress', '/x/disk', '10.0.0.2:/i/u/disk']
    assert ran[1][:7] == ['rsync', '--archive', '--delete', '--include', 'u', '--include',
                          'u/**']
    assert ran[1][-1] == '10.0.0.2:/i/'


def test_a_failing_transport_is_a_resize_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remotefs.subprocess, 'run', lambda cmd, **kw: subprocess.
                        CompletedProcess(cmd, 255, '', 'Permission denied (publickey).'))
    with pytest.raises(exception.ResizeError,
                       match=r'ssh failed \(255\): Permission denied \(publickey\)'):
        remotefs.SshDriver().create_dir('10.0.0.2', '/i/u')


@pytest.mark.skipif(not shutil.which('qemu-img'), reason='needs qemu-img')
def test_a_copied_disk_is_backed_by_this_hosts_cache(tmp_path: Path) -> None:
    there_base = tmp_path / 'there' / '_base' / 'img'
    here_base = tmp_path / 'here' / '_base' / 'img'
    for base in (there_base, here_base):
        base.parent.mkdir(parents=True)
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', str(base), '64M'], check=True)
    inst = tmp_path / 'inst'
    inst.mkdir()
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', str(there_base), '-F',
                    'raw', str(inst / 'disk')], check=True)
    d = _driver()


    class Cache:
        def fetch(self, ctx: Any, image: Any) -> tuple[str, str, int]:
            return str(here_base), 'raw', 64 << 20
    d.images = Cache()  # type: ignore[assignment]
    d._back_on_local_cache(get_admin_context(), {'uuid': UUID},  # type: ignore[typeddict-item]
                           {'id': 'img', 'disk_format': 'raw'}, str(inst))
    assert imagecache.backing_file(str(inst / 'disk')) == str(here_base)


def test_an_image_recorded_at_boot_is_downloaded_with_the_services_record(
        tmp_path: Path) -> None:
    """A host that never had the image (a cold move or an evacuation there)
    downloads it with the image service's record: the one recorded in the
    server's system metadata has no status, size or checksum."""
    shown: list[str] = []
    downloaded: list[dict[str, Any]] = []

    class Client:
        def show(self, ctx: Any, image_id: str) -> dict[str, Any]:
            shown.append(image_id)
            return {'id': image_id, 'status': 'active', 'disk_format': 'raw'}

        def download(self, ctx: Any, image: dict[str, Any], dest: str) -> None:
            downloaded.append(image)
            Path(dest).write_bytes(b'\0' * 512)

    CONF.set_override('state_path', str(tmp_path))
    try:
        cache = imagecache.ImageCache(Client())  # type: ignore[arg-type]
        path, fmt, size = cache.fetch(get_admin_context(), {'id': 'img', 'disk_format': 'raw'})
        assert (fmt, size, shown) == ('raw', 512, ['img'])
        assert downloaded[0]['status'] == 'active'
        cache.fetch(get_admin_context(), {'id': 'img', 'disk_format': 'raw'})   # cached now
        assert shown == ['img'] and len(downloaded) == 1
    finally:
        CONF.clear_override('state_path')


def test_the_driver_takes_evacuated_servers() -> None:
    assert libvirt_driver.LibvirtDriver.capabilities['supports_evacuate'] is True
