"""Which server has a fixed IP: the metadata service's look-up when a guest is
named by its source address (Nova's get_fixed_ip_by_address), optionally
narrowed to one network or to the networks behind one router, as the
X-Neutron-Network-ID / X-Neutron-Router-ID headers of Neutron's proxies say.
"""
from __future__ import annotations

import logging
from typing import Any

from minova.network import neutron

LOG = logging.getLogger(__name__)

# The ports that join a router to a network (Neutron's device owners).
ROUTER_INTERFACE_OWNERS = ('network:router_interface',
                           'network:router_interface_distributed',
                           'network:ha_router_replicated_interface')


def router_networks(router_id: str, client: Any | None = None) -> list[str]:
    """The networks router_id has an interface on."""
    client = client or neutron.get_client()
    ports = client.list_ports(device_id=router_id,
                              device_owner=list(ROUTER_INTERFACE_OWNERS))
    return sorted({p['network_id'] for p in ports})


def instance_by_fixed_ip(address: str, network_id: str | None = None,
                         router_id: str | None = None,
                         client: Any | None = None) -> tuple[str, str] | None:
    """(server uuid, project id) of the one port holding fixed IP `address`
    (on network_id, or on a network of router_id, when given); None when no
    port, or more than one, holds it."""
    client = client or neutron.get_client()
    filters: dict[str, Any] = {'fixed_ips': f'ip_address={address}'}
    if network_id:
        filters['network_id'] = network_id
    elif router_id:
        networks = router_networks(router_id, client)
        if not networks:
            LOG.info('Router %s has no network interface', router_id)
            return None
        filters['network_id'] = networks
    ports = [p for p in client.list_ports(**filters) if p.get('device_id')]
    if len(ports) != 1:
        if ports:
            LOG.warning('Fixed IP %s is held by %d ports (%s): not answering', address,
                        len(ports), ', '.join(p['id'] for p in ports))
        return None
    port = ports[0]
    return str(port['device_id']), str(port.get('project_id') or port.get('tenant_id') or '')
