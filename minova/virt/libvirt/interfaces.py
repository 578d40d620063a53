"""Interface hot-plug on libvirt (Nova's attach_interface / detach_interface).

An 'ovs' VIF is attached to a running guest live and in its persistent
definition (so a later start keeps it), to a shut-off guest in the definition
only. A detach asks the guest to release the device (an ACPI unplug the guest
may take its time over, or ignore while it boots), so the live detach is asked
again a few times and the live XML watched until the NIC is gone, bounded as
Nova's `[libvirt] device_detach_attempts` x `device_detach_timeout`.
"""
from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from minova import exception
from minova.virt.libvirt import config as vconfig
from minova.virt.libvirt import vif as vif_mod

if TYPE_CHECKING:
    from minova.db.instances import VIF

LOG = logging.getLogger(__name__)

DETACH_ATTEMPTS = 8         # Nova's device_detach_attempts
DETACH_TIMEOUT = 20.0       # seconds per attempt (Nova's device_detach_timeout)
POLL = 0.5


def _flags(lv: Any, dom: Any) -> int:
    flags = lv.VIR_DOMAIN_AFFECT_CONFIG
    if dom.isActive():
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    return int(flags)


def find_interface(xml: str, mac: str) -> ET.Element | None:
    """The <interface> with this MAC in a domain's XML, else None."""
    for iface in ET.fromstring(xml).findall('devices/interface'):
        m = iface.find('mac')
        if m is not None and (m.get('address') or '').lower() == mac.lower():
            return iface
    return None


def attach(lv: Any, dom: Any, vif: VIF) -> None:
    """Plug the NIC of an 'ovs' VIF; a NIC with its MAC already there is left."""
    if vif.get('type') != 'ovs':
        raise exception.NotSupported()
    if find_interface(dom.XMLDesc(0), vif['address']) is not None:
        LOG.info('Interface %s already in %s', vif['id'], dom.UUIDString())
        return
    xml = ET.tostring(vconfig.ovs_interface(vif_mod.ovs_nic(vif)), encoding='unicode')
    try:
        dom.attachDeviceFlags(xml, _flags(lv, dom))
    except lv.libvirtError as e:
        raise exception.InterfaceAttachFailed(instance_uuid=dom.UUIDString()) from e


def detach(lv: Any, dom: Any, vif: VIF, attempts: int = DETACH_ATTEMPTS,
           timeout: float = DETACH_TIMEOUT) -> None:
    """Unplug the NIC of vif from the definition and, if the guest runs, from
    the guest, waiting (bounded) for the guest to release it. A NIC already
    gone is fine; one the guest keeps raises InterfaceDetachFailed."""
    uuid = dom.UUIDString()
    mac = vif['address']
    persistent = find_interface(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE), mac)
    if persistent is not None:
        dom.detachDeviceFlags(ET.tostring(persistent, encoding='unicode'),
                              lv.VIR_DOMAIN_AFFECT_CONFIG)
    for attempt in range(attempts):
        if not dom.isActive():
            return
        live = find_interface(dom.XMLDesc(0), mac)
        if live is None:
            return
        try:
            dom.detachDeviceFlags(ET.tostring(live, encoding='unicode'),
                                  lv.VIR_DOMAIN_AFFECT_LIVE)
        except lv.libvirtError as e:
            # an unplug already under way is refused until the guest acts on it
            LOG.debug('Live detach of %s from %s (attempt %d): %s', vif['id'], uuid,
                      attempt + 1, e)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not dom.isActive() or find_interface(dom.XMLDesc(0), mac) is None:
                LOG.info('Interface %s detached from %s', vif['id'], uuid)
                return
            time.sleep(POLL)
        LOG.warning('Guest %s has not released interface %s yet (attempt %d of %d)',
                    uuid, vif['id'], attempt + 1, attempts)
    raise exception.InterfaceDetachFailed(instance_uuid=uuid)
