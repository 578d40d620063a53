"""A POST /servers body as a compute BootRequest (minova/compute/boot.py).

What the body names is looked up here (flavor, key pair) and what the caller
may ask for is checked (forced and requested hosts are admin choices); what
this deployment cannot do (networks and ports without [neutron]) is a clear
400; block device mappings are checked in minova/api/server_bdm.py. With
[neutron] the requested networks, ports and security groups are checked
against Neutron here, with Nova's codes.
"""
from __future__ import annotations

import ipaddress
import secrets
import string
from typing import Any

import falcon
from oslo_utils import uuidutils

from minova import exception
from minova.api import errors, policy, server_bdm, util, versioned
from minova.api.handlers import flavors as flavors_handler
from minova.compute.boot import BootRequest
from minova.db import keypairs as keypairs_db
from minova.db.flavors import Flavor
from minova.network import is_neutron
from minova.network.api import RequestedNetwork
from minova.policies import servers as pol

MULTIATTACH_VERSION = '2.60'    # multiattach volumes at boot and attach

NETWORKS_NOT_SUPPORTED = ('Requesting specific networks or ports is not supported by this '
                          'deployment yet; use "networks": "none" or "auto".')


def boot_request(req: falcon.Request, body: dict[str, Any]) -> BootRequest:
    """The validated body as a BootRequest; 400 (or 403 by policy) otherwise."""
    ctx = util.ctx(req)
    server = body['server']
    target = {'project_id': ctx.project_id, 'user_id': ctx.user_id}
    policy.authorize(ctx, pol.SERVERS % 'create', target)
    min_count = int(server.get('min_count', 1))
    max_count = int(server.get('max_count', min_count))
    image_ref, bdms = server_bdm.block_devices(req, server, max_count)
    if image_ref is None:
        raise errors.bad_request('Can not find requested image')
    if bdms:
        policy.authorize(ctx, pol.SERVERS % 'create:attach_volume', target)
        server_bdm.validate(ctx, bdms, supports_multiattach=versioned.version(req)
                            >= versioned.parse(MULTIATTACH_VERSION))
    flavor = _flavor(req, server['flavorRef'])
    neutron = is_neutron()
    networks = _requested_networks(server.get('networks')) if neutron \
        else _networks(server.get('networks'))
    if min_count > max_count:
        raise errors.bad_request('min_count must be <= max_count')
    security_groups = [str(g.get('name') or '') for g in server.get('security_groups') or []]
    if neutron:
        _validate_networking(ctx, networks, security_groups, max_count)
    key_pair = _key_pair(util.user_id(req), server.get('key_name'))
    az = server.get('availability_zone')
    forced_host = forced_node = None
    if az and ':' in az:
        policy.authorize(ctx, pol.SERVERS % 'create:forced_host', target)
        az, _, rest = az.partition(':')
        forced_host, _, forced_node = rest.partition(':')
        az = az or None
    requested_host = server.get('host')
    requested_node = server.get('hypervisor_hostname')
    if requested_host or requested_node:
        policy.authorize(ctx, pol.REQUESTED_DESTINATION, target)
    hints = body.get('os:scheduler_hints') or body.get('OS-SCH-HNT:scheduler_hints') or {}
    return BootRequest(
        flavor=flavor, image_ref=image_ref, name=server['name'],
        min_count=min_count, max_count=max_count, metadata=server.get('metadata') or {},
        key_pair=key_pair, user_data=server.get('user_data'), availability_zone=az,
        config_drive=util.to_bool(server.get('config_drive', False)),
        access_ip_v4=canonical_ip(server.get('accessIPv4')),
        access_ip_v6=canonical_ip(server.get('accessIPv6')),
        description=server.get('description'), hostname=server.get('hostname'),
        networks=networks, security_groups=security_groups, scheduler_hints=hints,
        tags=server.get('tags') or [],
        forced_host=forced_host or None, forced_node=forced_node or None,
        requested_host=requested_host, requested_hypervisor_hostname=requested_node,
        block_device_mapping=bdms)


def _flavor(req: falcon.Request, ref: Any) -> Flavor:
    flavorid = str(ref).rstrip('/').rsplit('/', 1)[-1]
    try:
        return flavors_handler.get_visible(req, flavorid)
    except exception.FlavorNotFound as e:
        raise errors.bad_request(e.message) from None


def _networks(value: Any) -> str | None:
    if value in ('none', 'auto'):
        return str(value)
    if value is None or (isinstance(value, list) and not value):
        return None
    raise errors.bad_request(NETWORKS_NOT_SUPPORTED)


def _requested_networks(value: Any) -> Any:
    """The body's networks as the network API takes them (Nova's
    _get_requested_networks): 'none', 'auto', None, or RequestedNetwork dicts."""
    if value is None or isinstance(value, str):
        return value
    out: list[RequestedNetwork] = []
    ports: list[str] = []
    for item in value:
        port, address = item.get('port'), item.get('fixed_ip')
        if port:
            if port in ports:
                raise errors.bad_request(f"Port ID '{port}' was specified twice: you "
                                         "cannot attach a port multiple times.")
            if address is not None:
                raise errors.bad_request(f"Specified Fixed IP '{address}' cannot be used "
                                         f"with port '{port}': the two cannot be specified "
                                         "together.")
            ports.append(port)
            out.append({'port_id': port, 'network_id': None, 'address': None,
                        'tag': item.get('tag')})
            continue
        if 'uuid' not in item:
            raise errors.bad_request("Bad network format: missing 'uuid'")
        if not uuidutils.is_uuid_like(item['uuid']):
            raise errors.bad_request('Bad networks format: network uuid is not in proper '
                                     f"format ({item['uuid']})")
        out.append({'network_id': item['uuid'], 'port_id': None, 'address': address,
                    'tag': item.get('tag')})
    return out


# Nova's answers to a boot whose networking cannot be (servers.py create).
_BOOT_NETWORK_CODES: list[tuple[tuple[type[Exception], ...], int]] = [
    ((exception.ExternalNetworkAttachForbidden,), 403),
    ((exception.PortInUse, exception.NetworkAmbiguous, exception.NoUniqueMatch), 409),
    ((exception.PortNotFound, exception.NetworkNotFound, exception.SecurityGroupNotFound,
      exception.FixedIpAlreadyInUse, exception.Invalid), 400),
]


def _validate_networking(ctx: Any, networks: Any, security_groups: list[str],
                         max_count: int) -> None:
    from minova.network import api as network_api
    try:
        network_api.validate_networks(ctx, networks, max_count)
        network_api.security_group_ids(ctx.project_id or '', security_groups)
    except exception.MinovaException as e:
        for classes, code in _BOOT_NETWORK_CODES:
            if isinstance(e, classes):
                raise errors.HTTPFault(code, e.message) from None
        raise


def _key_pair(user_id: str, name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    try:
        return keypairs_db.get(user_id, name)
    except exception.NotFound:
        raise errors.bad_request('Invalid key_name provided.') from None


def canonical_ip(value: str | None) -> str | None:
    """accessIPv4/v6 as Nova stores them: the canonical (compressed) form."""
    return str(ipaddress.ip_address(value)) if value else value


def admin_password(server: dict[str, Any]) -> str:
    """adminPass as asked, or a random one, as Nova answers it."""
    if server.get('adminPass'):
        return str(server['adminPass'])
    alphabet = string.ascii_letters + string.digits
    return ''.join(secrets.choice(alphabet) for _ in range(12))
