"""A server's network info (its VIFs, as Nova's network model) made from Neutron's ports.

One VIF per port: id, address (MAC), type (binding:vif_type), details
(binding:vif_details), devname (tap + the port id's first 11 characters),
ovs_interfaceid, vnic_type, active (port status ACTIVE), preserve_on_delete
(the user's port), and its network: id, label (name), bridge, mtu, and per
subnet the cidr, gateway, dns servers and the port's fixed IPs with their
floating IPs. This is what the server's info cache holds (instances.network_info)
and what addresses, ips, os-interface, network_data.json and the drivers read.
"""
from __future__ import annotations

import ipaddress
from typing import Any

VIF = dict[str, Any]

# binding:vif_type values meaning Neutron could not bind the port.
BINDING_FAILED = 'binding_failed'
UNBOUND = 'unbound'
NIC_NAME_LEN = 14


def _version(address: str) -> int:
    return ipaddress.ip_address(address).version


def _ip(address: str, kind: str) -> dict[str, Any]:
    return {'address': address, 'type': kind, 'version': _version(address)}


def subnet_model(subnet: dict[str, Any], fixed: list[str],
                 floating: dict[str, list[str]]) -> dict[str, Any]:
    ips = []
    for address in fixed:
        ip = _ip(address, 'fixed')
        ip['floating_ips'] = [_ip(f, 'floating') for f in floating.get(address, [])]
        ips.append(ip)
    gateway = subnet.get('gateway_ip')
    return {
        'id': subnet.get('id'), 'cidr': subnet.get('cidr'),
        'version': subnet.get('ip_version'),
        'gateway': _ip(gateway, 'gateway') if gateway else None,
        'dns': [_ip(d, 'dns') for d in subnet.get('dns_nameservers') or []],
        'routes': [{'cidr': r.get('destination'), 'gateway': _ip(r['nexthop'], 'gateway')}
                   for r in subnet.get('host_routes') or [] if r.get('nexthop')],
        'ips': ips,
        'meta': {'dhcp_server': None, 'enable_dhcp': subnet.get('enable_dhcp', True)},
    }


def vif_model(port: dict[str, Any], network: dict[str, Any],
              subnets: dict[str, dict[str, Any]], floating: dict[str, list[str]],
              preserve_on_delete: bool, ovs_bridge: str = 'br-int') -> VIF:
    """The VIF of `port` on `network` (subnets by id; floating: fixed address ->
    floating addresses of this port)."""
    by_subnet: dict[str, list[str]] = {}
    for fixed in port.get('fixed_ips') or []:
        by_subnet.setdefault(fixed['subnet_id'], []).append(fixed['ip_address'])
    vif_type = port.get('binding:vif_type') or UNBOUND
    details = dict(port.get('binding:vif_details') or {})
    bridge = details.get('bridge_name') or (ovs_bridge if vif_type == 'ovs' else None)
    mtu = network.get('mtu')
    return {
        'id': port['id'],
        'address': port.get('mac_address'),
        'type': vif_type,
        'details': details,
        'devname': ('tap' + port['id'])[:NIC_NAME_LEN],
        'ovs_interfaceid': port['id'] if vif_type == 'ovs' else None,
        'vnic_type': port.get('binding:vnic_type') or 'normal',
        'profile': dict(port.get('binding:profile') or {}),
        'active': port.get('status') == 'ACTIVE',
        'preserve_on_delete': preserve_on_delete,
        'network': {
            'id': network.get('id') or port.get('network_id'),
            'label': network.get('name') or '',
            'bridge': bridge,
            'mtu': mtu,
            'subnets': [subnet_model(subnets[sid], ips, floating)
                        for sid, ips in by_subnet.items() if sid in subnets],
            'meta': {'tenant_id': network.get('project_id') or network.get('tenant_id'),
                     'mtu': mtu, 'injected': False,
                     'physical_network': network.get('provider:physical_network'),
                     'tunneled': network.get('provider:network_type') in
                     ('vxlan', 'geneve', 'gre')},
        },
        'meta': {},
    }


def fixed_addresses(network_info: list[VIF]) -> list[str]:
    return [ip['address'] for vif in network_info
            for subnet in (vif.get('network') or {}).get('subnets') or []
            for ip in subnet.get('ips') or []]
