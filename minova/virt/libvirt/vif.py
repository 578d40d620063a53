"""From a server's network_info (Nova's network model: one VIF per Neutron
port) to the guest's NICs, and the Neutron events a start waits for.

A VIF of type 'ovs' is plugged by libvirt itself (`<virtualport
type='openvswitch'>`: libvirt creates the tap and adds it to the bridge with
the port id as external_ids:iface-id, which OVN's controller claims); type
'user' is the embedded default's QEMU user-mode NIC (no Neutron).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from minova import exception
from minova.conf import CONF
from minova.virt.libvirt import config as vconfig

if TYPE_CHECKING:
    from minova.db.instances import VIF

NIC_NAME_LEN = 14     # Linux interface names: 15 bytes with the NUL; Nova's 'tap' + 11
SUPPORTED = ('ovs', 'user')


def devname(vif: VIF) -> str:
    return (vif.get('devname') or f'tap{vif["id"]}')[:NIC_NAME_LEN]


def ovs_nic(vif: VIF) -> vconfig.OvsNic:
    """The NIC of an 'ovs' VIF: the bridge Neutron's binding names
    (network.bridge, else vif_details bridge_name, else [neutron] ovs_bridge),
    the port id as the interfaceid, the network's MTU."""
    network = vif.get('network') or {}
    details = vif.get('details') or {}
    bridge = network.get('bridge') or details.get('bridge_name') or CONF.neutron.ovs_bridge
    mtu = (network.get('meta') or {}).get('mtu') or network.get('mtu')
    return vconfig.OvsNic(mac=vif['address'], bridge=bridge,
                          interfaceid=vif.get('ovs_interfaceid') or vif['id'],
                          dev=devname(vif), mtu=int(mtu) if mtu else None)


def check_supported(network_info: list[VIF]) -> None:
    """A VIF this driver cannot plug (a failed or missing binding: Neutron's
    'binding_failed', 'unbound') fails the start, as in Nova."""
    for vif in network_info:
        if vif.get('type') not in SUPPORTED:
            raise exception.VirtualInterfaceCreateException()


def plug_events(network_info: list[VIF]) -> list[tuple[str, str | None]]:
    """The network-vif-plugged events to wait for before a guest runs: one for
    each port Neutron does not report active yet (as Nova's libvirt driver)."""
    return [('network-vif-plugged', vif['id']) for vif in network_info
            if vif.get('type') == 'ovs' and vif.get('active', True) is False]
