"""Naming the asking instance by its address, as Nova does with [neutron]
service_metadata_proxy = false: the request's X-Forwarded-For (its first
address: what a proxy in front of the service saw), else the source address
of the connection, looked up among Neutron's ports' fixed IPs. A proxy that
knows the guest's network or router narrows the look-up with
X-Neutron-Network-ID (X-OVN-Network-ID) or X-Neutron-Router-ID, so that
overlapping subnets of different networks do not meet.

The service then trusts these headers from whoever reaches it: only the
proxy (Neutron's) should.
"""
from __future__ import annotations

import logging

import falcon

from minova.network import addresses

LOG = logging.getLogger(__name__)


def source_address(req: falcon.Request) -> str:
    forwarded = req.get_header('X-Forwarded-For')
    if forwarded:
        return forwarded.split(',')[0].strip()
    return str(req.remote_addr or '')


def instance_id(req: falcon.Request) -> str | None:
    """The uuid of the server whose port holds the request's address; None
    when no port (or more than one) does. A Neutron that cannot be asked
    raises exception.NetworkServiceUnavailable (or the client's error)."""
    address = source_address(req)
    if not address:
        return None
    network = req.get_header('X-Neutron-Network-ID') or req.get_header('X-OVN-Network-ID')
    router = req.get_header('X-Neutron-Router-ID')
    found = addresses.instance_by_fixed_ip(address, network_id=network, router_id=router)
    if found is None:
        LOG.error('Failed to get metadata for IP %s (network %s, router %s): no port',
                  address, network, router)
        return None
    LOG.info('Fixed IP %s translates to instance UUID %s', address, found[0])
    return found[0]

