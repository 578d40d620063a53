"""Neutron VIFs on libvirt: the OVS interface in the domain XML, and the start
paused until Neutron's network-vif-plugged arrives (as Nova's libvirt driver)."""
from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from minova import exception
from minova.compute.events import ComputeVirtAPI, InstanceEvents
from minova.conf import CONF
from minova.virt.libvirt import config, vif

PORT = '3f2b8c1e-9a4d-4e7b-8c2a-5d6e7f8a9b0c'


def _vif(**kw: Any) -> dict[str, Any]:
    v: dict[str, Any] = {
        'id': PORT, 'address': 'fa:16:3e:12:34:56', 'type': 'ovs', 'active': False,
        'details': {'port_filter': True, 'connectivity': 'l2'},
        'network': {'id': 'n1', 'label': 'net1', 'bridge': 'br-int',
                    'meta': {'mtu': 1442}, 'subnets': []}}
    v.update(kw)
    return v


def _spec(**kw: Any) -> config.GuestSpec:
    return config.GuestSpec(name='instance-00000001', uuid='6f1b7f5e-0d0e-4b43-9a1e-2b4f0c1f3a11',
                            virt_type='qemu', memory_mb=128, vcpus=1,
                            disks=[config.Disk('/i/disk', 'qcow2', 'vda')],
                            console_log='/i/console.log', **kw)


def test_ovs_vif_is_a_bridge_interface_with_an_openvswitch_virtualport() -> None:
    dom = ET.fromstring(config.domain_xml(_spec(ovs_nics=[vif.ovs_nic(_vif())])))
    (iface,) = dom.findall('devices/interface')
    assert iface.get('type') == 'bridge'
    assert iface.find('mac').get('address') == 'fa:16:3e:12:34:56'
    assert iface.find('source').get('bridge') == 'br-int'
    assert iface.find('virtualport').get('type') == 'openvswitch'
    assert iface.find('virtualport/parameters').get('interfaceid') == PORT
    assert iface.find('target').get('dev') == 'tap3f2b8c1e-9a'      # tap + port id[:11]
    assert iface.find('model').get('type') == 'virtio'
    assert iface.find('mtu').get('size') == '1442'
    # no user-mode NIC on QEMU's command line
    assert dom.find(f'{{{config.QEMU_NS}}}commandline') is None


def test_bridge_from_binding_details_then_config() -> None:
    net = {'id': 'n1', 'subnets': []}
    assert vif.ovs_nic(_vif(network=net, details={'bridge_name': 'br-x'})).bridge == 'br-x'
    CONF.set_override('ovs_bridge', 'br-conf', 'neutron')
    try:
        nic = vif.ovs_nic(_vif(network=net, details={}))
    finally:
        CONF.clear_override('ovs_bridge', 'neutron')
    assert nic.bridge == 'br-conf' and nic.mtu is None
    assert vif.ovs_nic(_vif(devname='tapabc')).dev == 'tapabc'


def test_libvirt_accepts_the_interface() -> None:
    libvirt = pytest.importorskip('libvirt')
    conn = libvirt.open('test:///default')
    try:
        xml = config.domain_xml(_spec(ovs_nics=[vif.ovs_nic(_vif())])).replace(
            'type="qemu"', 'type="test"', 1)
        dom = conn.defineXML(xml)
        live = ET.fromstring(dom.XMLDesc(0))
        assert live.find('devices/interface/virtualport/parameters').get(
            'interfaceid') == PORT
        dom.undefine()
    finally:
        conn.close()


def test_events_only_for_ports_not_yet_active() -> None:
    assert vif.plug_events([_vif(), _vif(id='p2', active=True), _vif(id='p3', type='user'),
                            {'id': 'p4', 'type': 'ovs', 'address': 'x'}]) == [
        ('network-vif-plugged', PORT)]


def test_unpluggable_vif_fails_the_start() -> None:
    with pytest.raises(exception.VirtualInterfaceCreateException):
        vif.check_supported([_vif(type='binding_failed')])


class FakeDom:
    def __init__(self, on_start: Any = None) -> None:
        self.calls: list[str] = []
        self.state = 5          # VIR_DOMAIN_SHUTOFF
        self.on_start = on_start

    def createWithFlags(self, flags: int) -> None:  # noqa: N802 - libvirt's name
        lv = pytest.importorskip('libvirt')
        paused = bool(flags & lv.VIR_DOMAIN_START_PAUSED)
        self.calls.append('start-paused' if paused else 'start')
        self.state = lv.VIR_DOMAIN_PAUSED if paused else lv.VIR_DOMAIN_RUNNING
        if self.on_start:
            self.on_start()

    def info(self) -> list[int]:
        return [self.state, 0, 0, 1, 0]

    def isActive(self) -> bool:  # noqa: N802
        return self.state != 5

    def resume(self) -> None:
        self.calls.append('resume')
        self.state = 1

    def destroy(self) -> None:
        self.calls.append('destroy')
        self.state = 5

    def undefine(self) -> None:
        self.calls.append('undefine')


@pytest.fixture
def driver() -> Iterator[Any]:
    pytest.importorskip('libvirt')
    from minova.virt.libvirt.driver import LibvirtDriver
    d = LibvirtDriver()
    d.virtapi = ComputeVirtAPI(InstanceEvents())
    CONF.set_override('vif_plugging_timeout', 1)
    yield d
    CONF.clear_override('vif_plugging_timeout')
    CONF.clear_override('vif_plugging_is_fatal')


INST: Any = {'uuid': 'u1'}


def _plugged(d: Any, status: str = 'completed') -> None:
    def send() -> None:
        d.virtapi.events.pop('u1', 'network-vif-plugged', PORT, status)
    threading.Timer(0.05, send).start()


def test_started_paused_until_plugged_then_resumed(driver: Any) -> None:
    dom = FakeDom(on_start=lambda: _plugged(driver))
    driver._create_with_network(INST, dom, [_vif()])
    assert dom.calls == ['start-paused', 'resume']


def test_active_ports_start_the_guest_at_once(driver: Any) -> None:
    dom = FakeDom()
    driver._create_with_network(INST, dom, [_vif(active=True)])
    assert dom.calls == ['start']


def test_timeout_is_fatal_by_default(driver: Any) -> None:
    dom = FakeDom()
    with pytest.raises(exception.VirtualInterfaceCreateException):
        driver._create_with_network(INST, dom, [_vif()])
    assert dom.calls == ['start-paused', 'destroy', 'undefine']


def test_failed_plug_is_fatal(driver: Any) -> None:
    dom = FakeDom(on_start=lambda: _plugged(driver, 'failed'))
    with pytest.raises(exception.VirtualInterfaceCreateException):
        driver._create_with_network(INST, dom, [_vif()])
    assert 'resume' not in dom.calls and 'undefine' in dom.calls


def test_timeout_not_fatal_goes_on(driver: Any) -> None:
    CONF.set_override('vif_plugging_is_fatal', False)
    dom = FakeDom()
    driver._create_with_network(INST, dom, [_vif()])
    assert dom.calls == ['start-paused', 'resume']


def test_timeout_zero_does_not_wait(driver: Any) -> None:
    CONF.set_override('vif_plugging_timeout', 0)
    dom = FakeDom()
    driver._create_with_network(INST, dom, [_vif()])
    assert dom.calls == ['start']
