"""Live migration's pieces that need no hypervisor: the domain XML rewritten
for the destination and the disks a block migration copies."""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from minova.virt.libvirt import config, migration

pytest.importorskip('libvirt')


def _running_xml(**kw: object) -> str:
    values: dict = dict(name='instance-0000002a', uuid='6f1b7f5e-0d0e-4b43-9a1e-2b4f0c1f3a11',
                        virt_type='qemu', memory_mb=256, vcpus=1,
                        disks=[config.Disk('/i/disk', 'qcow2', 'vda'),
                               config.Disk('/i/disk.config', 'raw', 'vdb', readonly=True)],
                        console_log='/i/console.log', deployment='dep', host='src',
                        vnc_listen='127.0.0.1', serial_tcp=('127.0.0.1', 10000),
                        kernel='/src/_base/k', ramdisk='/src/_base/r', cmdline='console=ttyS0')
    values.update(kw)
    dom = ET.fromstring(config.domain_xml(config.GuestSpec(**values)))
    # as libvirt shows a running guest: the ports it picked
    dom.find('devices/graphics').set('port', '5901')
    return ET.tostring(dom, encoding='unicode')


def test_destination_xml_names_the_destination_host_ports_and_kernel() -> None:
    xml = config.migration_xml(_running_xml(), 'dst', 'dep', '127.0.0.2',
                               [('127.0.0.2', 10005)], kernel='/dst/_base/k',
                               ramdisk='/dst/_base/r')
    dom = ET.fromstring(xml)
    assert config.metadata_owner(ET.tostring(
        dom.find(f'metadata/{{{config.METADATA_NS}}}instance'), encoding='unicode')) == \
        ('dep', 'dst')
    graphics = dom.find('devices/graphics')
    assert graphics.get('port') is None and graphics.get('autoport') == 'yes'
    assert graphics.get('listen') == '127.0.0.2'
    assert config.serial_tcp(xml) == [('127.0.0.2', 10005)]
    assert dom.find('devices/console/source').get('service') == '10005'
    assert (dom.findtext('os/kernel'), dom.findtext('os/initrd')) == \
        ('/dst/_base/k', '/dst/_base/r')
    # the disks stay where they are: the destination made them at these paths
    assert [d.get('file') for d in dom.findall('devices/disk/source')] == \
        ['/i/disk', '/i/disk.config']


def test_too_few_destination_serial_ports_is_an_error() -> None:
    with pytest.raises(ValueError):
        config.migration_xml(_running_xml(), 'dst', 'dep', None, [])


def test_block_migration_copies_writable_disks_only() -> None:
    assert migration.copied_disks(_running_xml()) == ['vda']


def test_flags_are_novas() -> None:
    import libvirt
    base = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
            | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE | libvirt.VIR_MIGRATE_PERSIST_DEST)
    assert migration.flags(False) == base
    assert migration.flags(True) == base | libvirt.VIR_MIGRATE_NON_SHARED_INC


@pytest.fixture
def instances(tmp_path: Any) -> Iterator[str]:
    from minova.conf import CONF
    CONF.set_override('instances_path', str(tmp_path))
    try:
        yield str(tmp_path)
    finally:
        CONF.clear_override('instances_path')


def test_destination_refuses_a_disk_already_there_and_its_rollback_keeps_it(
        instances: str) -> None:
    from minova import exception
    from minova.virt.libvirt.driver import LibvirtDriver
    drv = LibvirtDriver()
    inst: dict[str, Any] = {'uuid': 'a8c0b2f4-1e6b-4c69-9d1c-5c1b0f0e8a11'}
    inst_dir = os.path.join(instances, inst['uuid'])
    os.makedirs(inst_dir)
    open(os.path.join(inst_dir, 'disk'), 'w').close()
    data = {'block_migration': True}
    with pytest.raises(exception.MigrationPreCheckError) as e:
        drv.pre_live_migration(None, inst, data)   # type: ignore[arg-type]
    assert 'already exists, it is expected not to exist' in str(e.value)
    drv._remove_domain = lambda instance: None   # type: ignore[method-assign]
    drv.rollback_live_migration_at_destination(None, inst, data)   # type: ignore[arg-type]
    assert os.path.exists(os.path.join(inst_dir, 'disk'))
    # what pre-creation made (it says so in migrate_data) goes
    drv.rollback_live_migration_at_destination(
        None, inst, dict(data, created_dir=inst_dir))   # type: ignore[arg-type]
    assert not os.path.exists(inst_dir)


def test_abort_or_force_with_no_migration_running_is_instance_not_found() -> None:
    from minova import exception
    from minova.virt.libvirt.driver import LibvirtDriver
    drv = LibvirtDriver()
    inst: dict[str, Any] = {'uuid': 'a8c0b2f4-1e6b-4c69-9d1c-5c1b0f0e8a11'}
    for call in (drv.live_migration_abort, drv.live_migration_force_complete):
        with pytest.raises(exception.InstanceNotFound):
            call(inst)   # type: ignore[arg-type]
