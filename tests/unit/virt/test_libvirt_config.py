"""Domain XML from a GuestSpec, checked by libvirt's test:///default driver."""
from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from minova.virt.libvirt import config


def _spec(**kw: object) -> config.GuestSpec:
    values: dict = dict(name='instance-0000002a', uuid='6f1b7f5e-0d0e-4b43-9a1e-2b4f0c1f3a11',
                        virt_type='qemu', memory_mb=256, vcpus=2,
                        disks=[config.Disk('/i/disk', 'qcow2', 'vda'),
                               config.Disk('/i/disk.config', 'raw', 'vdb', readonly=True)],
                        console_log='/i/console.log', display_name='vm1')
    values.update(kw)
    return config.GuestSpec(**values)


def test_xml_has_flavor_sizes_virtio_disks_and_file_console() -> None:
    dom = ET.fromstring(config.domain_xml(_spec(nics=['fa:16:3e:00:00:01'])))
    assert dom.get('type') == 'qemu'
    assert dom.findtext('name') == 'instance-0000002a'
    assert dom.findtext('memory') == '256' and dom.find('memory').get('unit') == 'MiB'
    assert dom.findtext('vcpu') == '2'
    disks = dom.findall('devices/disk')
    assert [(d.find('target').get('dev'), d.find('target').get('bus'),
             d.find('driver').get('type')) for d in disks] == [
        ('vda', 'virtio', 'qcow2'), ('vdb', 'virtio', 'raw')]
    assert disks[1].find('readonly') is not None
    assert dom.find('devices/serial').get('type') == 'file'
    assert dom.find('devices/serial/source').get('path') == '/i/console.log'
    # The user-mode NIC: isolated from the host's network (restrict=on).
    assert dom.find('devices/interface') is None
    assert _qemu_args(dom) == ['-netdev', 'user,id=usernet0,restrict=on', '-device',
                               'virtio-net-pci,netdev=usernet0,mac=fa:16:3e:00:00:01,bus=pci.0,addr=0x1e']
    assert dom.find('os/boot').get('dev') == 'hd'
    assert dom.find('cpu') is None   # TCG: no host-model CPU


def _qemu_args(dom: ET.Element) -> list[str | None]:
    return [a.get('value') for a in dom.findall(f'./{{{config.QEMU_NS}}}commandline/'
                                                f'{{{config.QEMU_NS}}}arg')]


def test_kvm_and_direct_kernel_boot() -> None:
    dom = ET.fromstring(config.domain_xml(_spec(virt_type='kvm', kernel='/b/k', ramdisk='/b/r',
                                                cmdline='console=ttyS0')))
    assert dom.get('type') == 'kvm' and dom.find('cpu').get('mode') == 'host-model'
    assert dom.findtext('os/kernel') == '/b/k' and dom.findtext('os/initrd') == '/b/r'
    assert dom.findtext('os/cmdline') == 'console=ttyS0'
    assert dom.find('os/boot') is None


def test_libvirt_accepts_the_xml() -> None:
    libvirt = pytest.importorskip('libvirt')
    conn = libvirt.open('test:///default')
    try:
        # The test driver only knows the 'test' domain type.
        xml = config.domain_xml(_spec()).replace("type=\"qemu\"", "type=\"test\"", 1)
        dom = conn.defineXML(xml)
        assert dom.UUIDString() == '6f1b7f5e-0d0e-4b43-9a1e-2b4f0c1f3a11'
        meta = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, config.METADATA_NS)
        assert 'vm1' in meta
        assert config.metadata_owner(meta) == (None, None)   # a guest from before owners
        dom.undefine()
        owned = config.domain_xml(_spec(deployment='d-1', host='hv1')).replace(
            "type=\"qemu\"", "type=\"test\"", 1)
        dom = conn.defineXML(owned)
        # libvirt hands the element back without its namespace prefix.
        meta = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, config.METADATA_NS)
        assert config.metadata_owner(meta) == ('d-1', 'hv1')
        assert config.metadata_owner(
            f'<m:instance xmlns:m="{config.METADATA_NS}"><m:deployment>d-1</m:deployment>'
            '<m:host>hv1</m:host></m:instance>') == ('d-1', 'hv1')
        dom.undefine()
        consoles = config.domain_xml(_spec(vnc_listen='127.0.0.1',
                                           serial_tcp=('127.0.0.1', 10001))).replace(
            "type=\"qemu\"", "type=\"test\"", 1)
        dom = conn.defineXML(consoles)
        assert config.serial_tcp(dom.XMLDesc(0)) == [('127.0.0.1', 10001)]
        dom.undefine()
    finally:
        conn.close()


def test_config_drive_content(tmp_path: os.PathLike) -> None:
    from minova.virt import configdrive
    inst = {'uuid': 'u-1', 'display_name': 'My VM', 'hostname': 'my-vm', 'launch_index': 0,
            'project_id': 'p', 'key_name': 'k1', 'key_data': 'ssh-ed25519 AAAA x',
            'availability_zone': None, 'metadata': {'a': 'b'}}
    md = configdrive.meta_data(inst)
    assert md['uuid'] == 'u-1' and md['hostname'] == 'my-vm' and md['name'] == 'My VM'
    assert md['public_keys'] == {'k1': 'ssh-ed25519 AAAA x'}
    assert md['availability_zone'] == 'nova' and md['meta'] == {'a': 'b'}
    nd = configdrive.network_data([{'id': 'abcdef012345678', 'address': 'fa:16:3e:0:0:1'}])
    assert nd['links'][0]['ethernet_mac_address'] == 'fa:16:3e:0:0:1'
    assert nd['networks'][0]['type'] == 'ipv4_dhcp'
    try:
        configdrive._mkisofs()
    except Exception:
        pytest.skip('no ISO 9660 tool here')
    iso = os.path.join(tmp_path, 'cd.iso')
    configdrive.build(dict(inst, user_data='aGVsbG8='), [], iso)
    with open(iso, 'rb') as f:
        f.seek(32768 + 40)   # the primary volume descriptor's volume id
        assert f.read(32).decode().strip() == 'config-2'
    if shutil.which('isoinfo'):   # the metadata service's layout (minova/metadata/base.py)
        listing = subprocess.run(['isoinfo', '-R', '-f', '-i', iso], capture_output=True,
                                 text=True, check=True).stdout.split()
        for path in ('/openstack/latest/meta_data.json', '/openstack/latest/user_data',
                     '/openstack/2012-08-10/meta_data.json',
                     '/openstack/2018-08-27/vendor_data2.json',
                     '/openstack/latest/network_data.json', '/ec2/latest/meta-data.json'):
            assert path in listing
        assert '/openstack/2012-08-10/network_data.json' not in listing


def test_vnc_display_and_video_when_asked() -> None:
    dom = ET.fromstring(config.domain_xml(_spec(vnc_listen='127.0.0.1')))
    graphics = dom.find("devices/graphics[@type='vnc']")
    assert graphics is not None
    assert (graphics.get('autoport'), graphics.get('listen')) == ('yes', '127.0.0.1')
    assert dom.find('devices/video/model').get('type') == 'vga'
    assert ET.fromstring(config.domain_xml(_spec())).find('devices/graphics') is None


def test_tcp_serial_port_keeps_the_console_log() -> None:
    xml = config.domain_xml(_spec(serial_tcp=('127.0.0.1', 10005)))
    dom = ET.fromstring(xml)
    for tag in ('serial', 'console'):
        dev = dom.find(f'devices/{tag}')
        assert dev.get('type') == 'tcp'
        assert dev.find('source').attrib == {'mode': 'bind', 'host': '127.0.0.1',
                                             'service': '10005'}
        assert dev.find('log').get('file') == '/i/console.log'
    assert config.serial_tcp(xml) == [('127.0.0.1', 10005)]
    assert config.serial_tcp(config.domain_xml(_spec())) == []


def test_vnc_port_of_live_xml() -> None:
    live = ("<domain><devices><graphics type='vnc' port='5901' autoport='yes' "
            "listen='127.0.0.1'/></devices></domain>")
    assert config.vnc_port(live) == 5901
    assert config.vnc_port(live.replace("'5901'", "'-1'")) is None
    assert config.vnc_port('<domain><devices/></domain>') is None


def test_metadata_socket_declares_the_nic_on_qemus_command_line() -> None:
    """[libvirt] metadata_via_user_network: slirp on 169.254.0.0/16 with a
    guestfwd of 169.254.169.254:80 to a reconnecting UNIX socket chardev
    (commas doubled), on the first NIC only; the project is recorded."""
    xml = config.domain_xml(_spec(nics=['fa:16:3e:00:00:01', 'fa:16:3e:00:00:02'],
                                  metadata_socket='/i/a,b/metadata.sock', project_id='p1'))
    root = ET.fromstring(xml)
    assert root.find('./devices/interface') is None
    assert _qemu_args(root) == [
        '-chardev', 'socket,id=mdfwd0,path=/i/a,,b/metadata.sock,reconnect=1',
        '-netdev', 'user,id=usernet0,restrict=on,net=169.254.0.0/16,guestfwd=tcp:'
        '169.254.169.254:80-chardev:mdfwd0',
        '-device', 'virtio-net-pci,netdev=usernet0,mac=fa:16:3e:00:00:01,bus=pci.0,addr=0x1e',
        '-netdev', 'user,id=usernet1,restrict=on',
        '-device', 'virtio-net-pci,netdev=usernet1,mac=fa:16:3e:00:00:02,bus=pci.0,addr=0x1d']
    assert config.metadata_socket(xml) == ('/i/a,b/metadata.sock', 'p1')
    moved = config.migration_xml(xml, 'h2', None, None, [], metadata_socket='/j/metadata.sock')
    assert config.metadata_socket(moved) == ('/j/metadata.sock', 'p1')
    assert config.metadata_socket(config.domain_xml(_spec(nics=['fa:16:3e:00:00:01']))) is None
    no_nic = ET.fromstring(config.domain_xml(_spec()))
    assert no_nic.find(f'./{{{config.QEMU_NS}}}commandline') is None
