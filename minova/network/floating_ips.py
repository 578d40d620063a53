"""Floating IPs through Neutron, as Nova's network API does them for the
deprecated os-floating-ips proxy (2.1-2.35) and the addFloatingIp /
removeFloatingIp server actions (2.1-2.43).

A floating IP is Neutron's; Nova's view of one is {id, ip, pool (the external
network's name, else its id), fixed_ip, instance_id (the device of the port
it is on)}. After an association changes, the server's network info cache is
refreshed by a network-changed event to its compute host, as Neutron itself
would send one.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from oslo_utils import uuidutils

from minova import exception
from minova.conf import CONF
from minova.network.neutron import NeutronError, get_client

if TYPE_CHECKING:
    from minova.context import RequestContext
    from minova.db.instances import Instance

LOG = logging.getLogger(__name__)


def view(fip: dict[str, Any]) -> dict[str, Any]:
    neutron = get_client()
    network = fip.get('floating_network_id')
    pool = network
    if network:
        try:
            pool = neutron.show_network(network).get('name') or network
        except exception.MinovaException:
            pass
    instance_id = None
    if fip.get('port_id'):
        details = fip.get('port_details')
        if details is None:
            try:
                details = neutron.show_port(fip['port_id'])
            except exception.PortNotFound:
                details = {}
        instance_id = details.get('device_id') or None
    return {'id': fip['id'], 'ip': fip['floating_ip_address'], 'pool': pool,
            'fixed_ip': fip.get('fixed_ip_address'), 'instance_id': instance_id}


def list_for_project(project_id: str) -> list[dict[str, Any]]:
    return [view(f) for f in get_client().list_floatingips(project_id=project_id)]


def get(fip_id: str) -> dict[str, Any]:
    return get_client().show_floatingip(fip_id)


def get_by_address(address: str) -> dict[str, Any]:
    found = get_client().list_floatingips(floating_ip_address=address)
    if not found:
        raise exception.FloatingIpNotFoundForAddress(address=address)
    if len(found) > 1:
        raise exception.FloatingIpMultipleFoundForAddress(address=address)
    return found[0]


def _pool_id(pool: str) -> str:
    """The external network named pool, else with that id (Nova's lookup)."""
    neutron = get_client()
    nets = neutron.list_networks(name=pool, **{'router:external': True})
    if not nets and uuidutils.is_uuid_like(pool):
        nets = neutron.list_networks(id=pool, **{'router:external': True})
    if not nets:
        raise exception.FloatingIpPoolNotFound()
    if len(nets) > 1:
        raise exception.NoUniqueMatch(f'Multiple floating IP pools matches found for '
                                      f'name {pool}')
    return str(nets[0]['id'])


def allocate(project_id: str, pool: str | None) -> dict[str, Any]:
    """A new floating IP from pool ([neutron] default_floating_pool when None)."""
    network = _pool_id(pool or CONF.neutron.default_floating_pool)
    try:
        return get_client().create_floatingip({'floating_network_id': network,
                                               'project_id': project_id})
    except NeutronError as e:
        if e.type == 'IpAddressGenerationFailure':
            raise exception.NoMoreFloatingIps() from None
        if e.type == 'OverQuota':
            raise exception.FloatingIpLimitExceeded() from None
        if e.status == 400:
            raise exception.FloatingIpBadRequest(message=e.reason) from None
        raise


def release(fip: dict[str, Any]) -> None:
    get_client().delete_floatingip(fip['id'])


def _port_with(instance: Instance, fixed_address: str) -> dict[str, Any]:
    for port in get_client().list_ports(device_id=instance['uuid']):
        if any(f.get('ip_address') == fixed_address for f in port.get('fixed_ips') or []):
            return port
    raise exception.FixedIpNotFoundForAddress(address=fixed_address)


def associate(instance: Instance, address: str, fixed_address: str) -> list[str]:
    """The floating IP at address put on the server's port with fixed_address
    (taken from another server if it was on one). The servers whose caches
    changed: this one, and the one it was taken from."""
    fip = get_by_address(address)
    port = _port_with(instance, fixed_address)
    previous = None
    if fip.get('port_id') and fip['port_id'] != port['id']:
        try:
            previous = get_client().show_port(fip['port_id']).get('device_id')
        except exception.PortNotFound:
            previous = None
    get_client().update_floatingip(fip['id'], {'port_id': port['id'],
                                               'fixed_ip_address': fixed_address})
    LOG.info('Floating IP %s associated with %s of %s', address, fixed_address,
             instance['uuid'])
    return [instance['uuid']] + ([previous] if previous and previous != instance['uuid']
                                 else [])


def disassociate(fip: dict[str, Any]) -> None:
    get_client().update_floatingip(fip['id'], {'port_id': None})


def instance_of(fip: dict[str, Any]) -> str | None:
    """The server whose port the floating IP is on, if any."""
    if not fip.get('port_id'):
        return None
    try:
        return get_client().show_port(fip['port_id']).get('device_id') or None
    except exception.PortNotFound:
        return None


def refresh_caches(ctx: RequestContext, uuids: list[str]) -> None:
    """A network-changed event to the compute host of each server (on one):
    it makes the server's network info cache again from Neutron."""
    from minova.api import util
    servers = []
    for uuid in uuids:
        try:
            inst = util.compute_api().get(ctx, uuid)
        except exception.InstanceNotFound:
            continue
        if inst.get('host') and inst.get('cell_uuid'):
            servers.append(inst)
    if servers:
        events = [{'name': 'network-changed', 'server_uuid': s['uuid'],
                   'status': 'completed', 'tag': None} for s in servers]
        util.compute_api().external_instance_event(ctx, servers, events)
