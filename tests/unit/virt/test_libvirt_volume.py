"""The libvirt driver's volumes without a hypervisor: the disk an RBD
connection info becomes, whose cephx user and secret it names, the domain
calls of attach, detach and extend (on a fake domain), and boot from volume
making no image disk."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minova import exception
from minova.conf import CONF
from minova.context import get_admin_context
from minova.virt.libvirt import config as vconfig
from minova.virt.libvirt import volume
from minova.virt.libvirt.driver import LibvirtDriver

libvirt = pytest.importorskip('libvirt')

VOL = '0b6f7e2c-3d0a-4d1e-9a55-2f6c7d8e9f01'
SECRET = '5a2d3c0e-6b0f-4a61-9d33-7c1e0b5f1c21'
UUID = '6f1b7f5e-0d0e-4b43-9a1e-2b4f0c1f3a11'


def rbd_info(**data: Any) -> dict[str, Any]:
    """A connection info as Cinder's RBD driver returns it, plus the serial."""
    base = {'name': f'volumes/volume-{VOL}', 'hosts': ['127.0.0.1', '10.0.0.2'],
            'ports': ['6789', '6790'], 'cluster_name': 'ceph', 'auth_enabled': True,
            'auth_username': 'cinder', 'secret_type': 'ceph', 'secret_uuid': SECRET,
            'volume_id': VOL, 'discard': True, 'qos_specs': None, 'access_mode': 'rw',
            'encrypted': False}
    base.update(data)
    return {'driver_volume_type': 'rbd', 'data': base, 'serial': VOL}


@pytest.fixture
def rbd_conf() -> Iterator[None]:
    CONF.set_override('rbd_user', 'nova-user', group='libvirt')
    CONF.set_override('rbd_secret_uuid', 'c0ffee00-0000-4000-8000-000000000001',
                      group='libvirt')
    yield
    CONF.clear_override('rbd_user', group='libvirt')
    CONF.clear_override('rbd_secret_uuid', group='libvirt')


def test_an_rbd_volume_is_a_network_disk_qemu_opens_itself() -> None:
    disk = ET.fromstring(volume.disk_xml(rbd_info(), 'vdb'))
    assert (disk.get('type'), disk.get('device')) == ('network', 'disk')
    source = disk.find('source')
    assert source is not None
    assert (source.get('protocol'), source.get('name')) == ('rbd', f'volumes/volume-{VOL}')
    assert [(h.get('name'), h.get('port')) for h in source.findall('host')] == \
        [('127.0.0.1', '6789'), ('10.0.0.2', '6790')]
    auth = disk.find('auth')
    assert auth is not None and auth.get('username') == 'cinder'
    secret = auth.find('secret')
    assert secret is not None and (secret.get('type'), secret.get('uuid')) == ('ceph', SECRET)
    target = disk.find('target')
    assert target is not None and (target.get('dev'), target.get('bus')) == ('vdb', 'virtio')
    assert disk.findtext('serial') == VOL
    driver = disk.find('driver')
    assert driver is not None and (driver.get('type'), driver.get('discard')) == \
        ('raw', 'unmap')
    assert disk.find('readonly') is None


def test_a_read_only_attachment_and_a_bus(rbd_conf: None) -> None:
    disk = ET.fromstring(volume.disk_xml(rbd_info(access_mode='ro', discard=False), 'sdb',
                                         disk_bus='scsi'))
    assert disk.find('readonly') is not None
    assert disk.find('target').get('bus') == 'scsi'  # type: ignore[union-attr]
    assert disk.find('driver').get('discard') is None  # type: ignore[union-attr]


def test_a_multiattach_volume_is_shareable_and_uncached() -> None:
    assert ET.fromstring(volume.disk_xml(rbd_info(), 'vdb')).find('shareable') is None
    info = dict(rbd_info(), multiattach=True)
    disk = ET.fromstring(volume.disk_xml(info, 'vdb'))
    assert disk.find('shareable') is not None
    assert disk.find('driver').get('cache') == 'none'  # type: ignore[union-attr]


def test_the_connection_infos_user_and_secret_come_first(rbd_conf: None) -> None:
    assert volume.rbd_auth(rbd_info()['data']) == ('cinder', SECRET)


def test_a_connection_without_a_secret_uses_the_hosts_user_and_secret(rbd_conf: None) -> None:
    disk = ET.fromstring(volume.disk_xml(rbd_info(secret_uuid=None), 'vdb'))
    auth = disk.find('auth')
    assert auth is not None and auth.get('username') == 'nova-user'
    assert auth.find('secret').get('uuid') == \
        'c0ffee00-0000-4000-8000-000000000001'  # type: ignore[union-attr]


def test_auth_off_in_cinder_but_a_host_secret_configured(rbd_conf: None) -> None:
    assert volume.rbd_auth(rbd_info(auth_enabled=False)['data']) == \
        ('nova-user', 'c0ffee00-0000-4000-8000-000000000001')


def test_no_auth_anywhere_means_no_auth_element() -> None:
    disk = ET.fromstring(volume.disk_xml(rbd_info(auth_enabled=False), 'vdb'))
    assert disk.find('auth') is None


def test_an_unknown_volume_type_has_no_handler() -> None:
    info = {'driver_volume_type': 'iscsi', 'data': {}}
    with pytest.raises(exception.VolumeDriverNotFound,
                       match='Could not find a handler for iscsi volume.'):
        volume.disk_xml(info, 'vdb')
    # and attach refuses before it looks at the guest
    d = _driver(None)
    with pytest.raises(exception.VolumeDriverNotFound):
        d.attach_volume(None, info, {'uuid': UUID}, '/dev/vdb')  # type: ignore[typeddict-item]
    assert exception.VolumeDriverNotFound.code == 404


# -- domain calls on a fake domain -------------------------------------------------

class FakeDomain:
    """Live and persistent XML, and a guest that releases a detached disk
    after `release_after` live detach requests (None: never)."""

    def __init__(self, active: bool = True, disks: tuple[str, ...] = (),
                 release_after: int | None = 1) -> None:
        self.active = active
        self.live: list[str] = list(disks)
        self.config: list[str] = list(disks)
        self.calls: list[tuple[str, Any, int]] = []
        self.release_after = release_after
        self.live_requests = 0

    def isActive(self) -> bool:  # noqa: N802 - libvirt's name
        return self.active

    def _xml(self, disks: list[str]) -> str:
        return f"<domain><devices>{''.join(disks)}</devices></domain>"

    def XMLDesc(self, flags: int) -> str:  # noqa: N802
        return self._xml(self.config if flags & libvirt.VIR_DOMAIN_XML_INACTIVE else self.live)

    def attachDeviceFlags(self, xml: str, flags: int) -> None:  # noqa: N802
        self.calls.append(('attach', xml, flags))
        if 'fail' in xml:
            raise libvirt.libvirtError('unable to open rbd image')
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            self.config.append(xml)
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE:
            self.live.append(xml)

    def detachDeviceFlags(self, xml: str, flags: int) -> None:  # noqa: N802
        self.calls.append(('detach', xml, flags))
        dev = ET.fromstring(xml).find('target').get('dev')  # type: ignore[union-attr]

        def keep(disks: list[str]) -> list[str]:
            return [d for d in disks
                    if ET.fromstring(d).find('target').get('dev') != dev]  # type: ignore[union-attr]
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            self.config = keep(self.config)
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE:
            self.live_requests += 1
            if self.release_after is not None and self.live_requests >= self.release_after:
                self.live = keep(self.live)

    def blockResize(self, disk: str, size: int, flags: int) -> None:  # noqa: N802
        self.calls.append(('resize', (disk, size), flags))

    def blockCopy(self, disk: str, xml: str, params: Any, flags: int) -> None:  # noqa: N802
        self.calls.append(('copy', xml, flags))
        self.copying = xml
        self.polls = 0

    def blockJobInfo(self, disk: str, flags: int) -> dict[str, int]:  # noqa: N802
        self.polls += 1        # synced on the second look
        return {'cur': 100 if self.polls > 1 else 10, 'end': 100}

    def blockJobAbort(self, disk: str, flags: int) -> None:  # noqa: N802
        self.calls.append(('pivot', disk, flags))
        if flags & libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT:
            self.live = [d for d in self.live
                         if ET.fromstring(d).find('target').get('dev') != disk]  # type: ignore[union-attr]
            self.live.append(self.copying)


def _driver(dom: FakeDomain | None) -> LibvirtDriver:
    d = LibvirtDriver()

    def lookup(instance: Any) -> Any:
        if dom is None:
            raise AssertionError('the domain must not be looked up')
        return dom
    d._lookup = lookup  # type: ignore[method-assign]
    return d


INSTANCE: Any = {'uuid': UUID}


def test_attach_to_a_running_guest_is_live_and_persistent() -> None:
    dom = FakeDomain(active=True)
    _driver(dom).attach_volume(None, rbd_info(), INSTANCE, '/dev/vdb')
    (kind, xml, flags), = dom.calls
    assert kind == 'attach'
    assert flags == libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
    assert ET.fromstring(xml).find('target').get('dev') == 'vdb'  # type: ignore[union-attr]


def test_attach_to_a_stopped_guest_changes_its_definition_only() -> None:
    dom = FakeDomain(active=False)
    _driver(dom).attach_volume(None, rbd_info(), INSTANCE, '/dev/vdc')
    assert dom.calls[0][2] == libvirt.VIR_DOMAIN_AFFECT_CONFIG
    assert dom.live == [] and len(dom.config) == 1


def test_a_refused_attach_is_volume_attach_failed() -> None:
    dom = FakeDomain()
    with pytest.raises(exception.VolumeAttachFailed,
                       match=f'Volume {VOL} could not be attached. Reason: .*rbd image'):
        _driver(dom).attach_volume(None, rbd_info(name='volumes/fail'), INSTANCE, '/dev/vdb')


@pytest.fixture
def quick_detach(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(volume, 'DETACH_POLL', 0.01)
    monkeypatch.setattr(volume.time, 'monotonic', _Clock())
    CONF.set_override('device_detach_attempts', 3, group='libvirt')
    yield
    CONF.clear_override('device_detach_attempts', group='libvirt')


class _Clock:
    """A clock that moves a second per reading: each attempt's wait ends fast."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_a_plain_volume_needs_no_secret() -> None:
    # (no libvirt connection: a plain volume never looks for a passphrase secret)
    dom = FakeDomain()
    _driver(dom).attach_volume(None, rbd_info(), INSTANCE, '/dev/vdb', encryption={})
    assert [c[0] for c in dom.calls] == ['attach']
    assert ET.fromstring(dom.config[0]).find('encryption') is None


def test_detach_waits_for_the_guest_and_retries(quick_detach: None) -> None:
    disk = volume.disk_xml(rbd_info(), 'vdb')
    dom = FakeDomain(disks=(disk,), release_after=3)   # the guest ignores two requests
    _driver(dom).detach_volume(None, rbd_info(), INSTANCE, '/dev/vdb')
    assert dom.live == [] and dom.config == []
    assert dom.live_requests == 3


def test_a_detach_the_guest_never_completes_fails(quick_detach: None) -> None:
    disk = volume.disk_xml(rbd_info(), 'vdb')
    dom = FakeDomain(disks=(disk,), release_after=None)
    with pytest.raises(exception.DeviceDetachFailed, match='Device detach failed for vdb'):
        _driver(dom).detach_volume(None, rbd_info(), INSTANCE, '/dev/vdb')
    assert dom.live_requests == 3    # [libvirt] device_detach_attempts


def test_detaching_a_disk_that_is_not_there_succeeds() -> None:
    dom = FakeDomain(disks=())
    _driver(dom).detach_volume(None, rbd_info(), INSTANCE, '/dev/vdb')
    assert dom.calls == []


def test_extend_resizes_the_guests_disk_in_bytes() -> None:
    disk = volume.disk_xml(rbd_info(), 'vdc')
    dom = FakeDomain(disks=(disk,))
    _driver(dom).extend_volume(None, rbd_info(), INSTANCE, 2 << 30)
    assert dom.calls == [('resize', ('vdc', 2 << 30), libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)]


def test_swap_mirrors_pivots_and_redefines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(volume, 'DETACH_POLL', 0.0)
    dom = FakeDomain(disks=(volume.disk_xml(rbd_info(), 'vdb'),))
    new = rbd_info(name='volumes/volume-new')
    _driver(dom).swap_volume(None, rbd_info(), new, INSTANCE, '/dev/vdb', 2)
    assert [c[0] for c in dom.calls] == ['copy', 'pivot', 'resize', 'detach', 'attach']
    assert dom.calls[0][2] == (libvirt.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT
                               | libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB)
    assert dom.calls[2][1] == ('vdb', 2 << 30)        # resize_to is in GiB
    for xml in (dom.XMLDesc(0), dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)):
        assert volume.find_rbd_target(xml, 'volumes/volume-new') == 'vdb'
        assert volume.find_rbd_target(xml, f'volumes/volume-{VOL}') is None


def test_swap_on_a_stopped_guest_changes_its_definition() -> None:
    dom = FakeDomain(active=False, disks=(volume.disk_xml(rbd_info(), 'vdb'),))
    _driver(dom).swap_volume(None, rbd_info(), rbd_info(name='volumes/n'), INSTANCE,
                             '/dev/vdb', 0)
    assert [c[0] for c in dom.calls] == ['detach', 'attach']


def test_the_connector_names_this_host() -> None:
    d = _driver(None)
    d.host_name = 'compute-1'
    connector = d.get_volume_connector(INSTANCE)
    assert connector['host'] == 'compute-1' and connector['ip'] == CONF.my_ip
    assert connector['multipath'] is False


# -- block_device_info in the domain ------------------------------------------------------

def bdi(*bdms: dict[str, Any]) -> dict[str, Any]:
    return {'root_device_name': '/dev/vda', 'ephemerals': [], 'swap': None,
            'block_device_mapping': list(bdms)}


def bdm(mount: str, boot_index: int | None = None, name: str = 'volumes/v') -> dict[str, Any]:
    return {'connection_info': rbd_info(name=name), 'mount_device': mount,
            'boot_index': boot_index, 'disk_bus': 'virtio', 'device_type': 'disk',
            'delete_on_termination': False, 'volume_id': VOL}


class _NoImages:
    client = None

    def fetch(self, *a: Any) -> Any:
        raise AssertionError('boot from volume must not download an image')


class _FakeHost:
    virt_type = 'qemu'


def test_boot_from_volume_makes_no_image_disk_and_boots_the_volume(tmp_path: Path) -> None:
    d = LibvirtDriver()
    d.images = _NoImages()  # type: ignore[assignment]
    d._host = _FakeHost()  # type: ignore[assignment]
    CONF.set_override('instance_name_template', 'instance-%08x')
    try:
        spec = d._prepare_disks(
            get_admin_context(), {'uuid': UUID, 'id': 1, 'memory_mb': 64, 'vcpus': 1,
                                  'ephemeral_gb': 0},  # type: ignore[typeddict-item]
            {}, [], str(tmp_path),
            block_device_info=bdi(bdm('/dev/vda', 0, 'volumes/root'),
                                  bdm('/dev/vdb', None, 'volumes/data')))
    finally:
        CONF.clear_override('instance_name_template')
    assert spec.disks == []
    devices = ET.fromstring(vconfig.domain_xml(spec)).find('devices')
    disks = devices.findall('disk')  # type: ignore[union-attr]
    assert [(x.find('source').get('name'), x.find('target').get('dev'))  # type: ignore[union-attr]
            for x in disks] == [('volumes/root', 'vda'), ('volumes/data', 'vdb')]


def test_local_disks_keep_clear_of_the_volumes_devices() -> None:
    spec = vconfig.GuestSpec(name='n', uuid=UUID, virt_type='qemu', memory_mb=64, vcpus=1,
                             disks=[vconfig.Disk('/x/disk', 'qcow2', 'vda')], console_log='/x/c',
                             volumes=volume.volume_disks(bdi(bdm('/dev/vdb'))))
    disks = ET.fromstring(vconfig.domain_xml(spec)).findall('./devices/disk')
    assert [x.get('type') for x in disks] == ['file', 'network']
    assert volume.volume_targets(bdi(bdm('/dev/vdb'), bdm('/dev/vdd'))) == {'vdb', 'vdd'}
    assert volume.root_mapping(bdi(bdm('/dev/vdb', 0))) is None   # not at the root device
