"""Interface hot-plug on libvirt: which flags for a running or shut-off guest,
and a detach that waits, bounded, for the guest to release the NIC."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from minova import exception
from minova.virt.libvirt import interfaces

MAC = 'fa:16:3e:aa:bb:cc'
VIF: dict[str, Any] = {
    'id': '0b6f3a52-1111-4c2b-9d55-7e0a7f7b8c11', 'address': MAC, 'type': 'ovs',
    'details': {}, 'network': {'id': 'n', 'bridge': 'br-int', 'meta': {'mtu': 1442},
                               'subnets': []}}


class LibvirtError(Exception):
    pass


class Lv:
    VIR_DOMAIN_AFFECT_LIVE = 1
    VIR_DOMAIN_AFFECT_CONFIG = 2
    VIR_DOMAIN_XML_INACTIVE = 2
    libvirtError = LibvirtError


class Dom:
    """A domain with a live and a persistent device list; a live detach takes
    effect after the guest ignored `ignore` requests."""

    def __init__(self, active: bool = True, ignore: int = 0, macs: tuple[str, ...] = ()):
        self.active = active
        self.live = list(macs) if active else []
        self.config = list(macs)
        self.ignore = ignore
        self.calls: list[tuple[str, int]] = []

    def UUIDString(self) -> str:  # noqa: N802 - libvirt's name
        return 'u1'

    def isActive(self) -> bool:  # noqa: N802
        return self.active

    def XMLDesc(self, flags: int) -> str:  # noqa: N802
        macs = self.config if flags & Lv.VIR_DOMAIN_XML_INACTIVE else self.live
        return '<domain><devices>' + ''.join(
            f"<interface type='bridge'><mac address='{m}'/></interface>" for m in macs) \
            + '</devices></domain>'

    def attachDeviceFlags(self, xml: str, flags: int) -> None:  # noqa: N802
        self.calls.append(('attach', flags))
        mac = ET.fromstring(xml).find('mac').get('address')  # type: ignore[union-attr]
        if flags & Lv.VIR_DOMAIN_AFFECT_LIVE:
            self.live.append(mac)
        if flags & Lv.VIR_DOMAIN_AFFECT_CONFIG:
            self.config.append(mac)

    def detachDeviceFlags(self, xml: str, flags: int) -> None:  # noqa: N802
        self.calls.append(('detach', flags))
        mac = ET.fromstring(xml).find('mac').get('address')  # type: ignore[union-attr]
        if flags & Lv.VIR_DOMAIN_AFFECT_CONFIG:
            self.config.remove(mac)
        if flags & Lv.VIR_DOMAIN_AFFECT_LIVE:
            if self.ignore:
                self.ignore -= 1
                return
            self.live.remove(mac)


@pytest.fixture(autouse=True)
def fast_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interfaces, 'POLL', 0.001)


def test_attach_to_a_running_guest_is_live_and_persistent() -> None:
    dom = Dom()
    interfaces.attach(Lv, dom, VIF)
    assert dom.calls == [('attach', Lv.VIR_DOMAIN_AFFECT_LIVE | Lv.VIR_DOMAIN_AFFECT_CONFIG)]
    assert dom.live == dom.config == [MAC]
    iface = ET.fromstring(dom.XMLDesc(0)).find('devices/interface')
    assert iface is not None


def test_attach_to_a_shut_off_guest_changes_only_its_definition() -> None:
    dom = Dom(active=False)
    interfaces.attach(Lv, dom, VIF)
    assert dom.calls == [('attach', Lv.VIR_DOMAIN_AFFECT_CONFIG)]
    assert dom.config == [MAC] and dom.live == []


def test_attach_twice_plugs_once_and_other_vif_types_are_not_supported() -> None:
    dom = Dom(macs=(MAC,))
    interfaces.attach(Lv, dom, VIF)
    assert dom.calls == []
    with pytest.raises(exception.NotSupported):
        interfaces.attach(Lv, dom, dict(VIF, type='binding_failed'))


def test_a_libvirt_error_on_attach_is_interface_attach_failed() -> None:
    dom = Dom()

    def fail(xml: str, flags: int) -> None:
        raise LibvirtError('no free PCI slot')
    dom.attachDeviceFlags = fail  # type: ignore[method-assign]
    with pytest.raises(exception.InterfaceAttachFailed):
        interfaces.attach(Lv, dom, VIF)


def test_detach_waits_for_the_guest_and_asks_again() -> None:
    dom = Dom(macs=(MAC,), ignore=2)
    interfaces.detach(Lv, dom, VIF, attempts=4, timeout=0.01)
    assert dom.live == [] and dom.config == []
    assert [c for c in dom.calls if c[1] == Lv.VIR_DOMAIN_AFFECT_LIVE] == \
        [('detach', Lv.VIR_DOMAIN_AFFECT_LIVE)] * 3


def test_detach_a_guest_never_releases_fails_bounded() -> None:
    dom = Dom(macs=(MAC,), ignore=100)
    with pytest.raises(exception.InterfaceDetachFailed):
        interfaces.detach(Lv, dom, VIF, attempts=3, timeout=0.01)
    assert len(dom.calls) == 1 + 3         # the definition once, the guest three times
    assert dom.config == []                # gone from the definition: not back on start


def test_detach_from_a_shut_off_guest_and_of_a_missing_nic() -> None:
    dom = Dom(active=False, macs=(MAC,))
    interfaces.detach(Lv, dom, VIF)
    assert dom.calls == [('detach', Lv.VIR_DOMAIN_AFFECT_CONFIG)] and dom.config == []
    gone = Dom()
    interfaces.detach(Lv, gone, VIF)
    assert gone.calls == []
