"""A server's addresses by network label, from its network info cache, as Nova
builds them for server bodies and GET /servers/{id}/ips."""
from __future__ import annotations

from typing import Any

from minova.db.instances import Instance

Addresses = dict[str, list[dict[str, Any]]]


def _ip_version(address: str | None) -> int:
    return 6 if ':' in (address or '') else 4


def addresses(instance: Instance, extended: bool = True) -> Addresses:
    """{network label: [address...]}: per label the fixed addresses of every VIF,
    then their floating ones. `extended` adds OS-EXT-IPS:type and
    OS-EXT-IPS-MAC:mac_addr (server views)."""
    nets: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for vif in instance.get('network_info') or []:
        network = vif.get('network') or {}
        label = network.get('label') or 'private'
        net = nets.setdefault(label, {'fixed': [], 'floating': []})
        for subnet in network.get('subnets') or []:
            for ip in subnet.get('ips') or []:
                entries = [('fixed', ip)] + [('floating', f)
                                             for f in ip.get('floating_ips') or []]
                for kind, entry in entries:
                    addr = entry.get('address')
                    out = {'version': entry.get('version') or _ip_version(addr),
                           'addr': addr}
                    if extended:
                        out['OS-EXT-IPS:type'] = kind
                        out['OS-EXT-IPS-MAC:mac_addr'] = vif.get('address')
                    net[kind].append(out)
    return {label: net['fixed'] + net['floating'] for label, net in nets.items()}
