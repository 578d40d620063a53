"""Floating IPs through Neutron, as Nova: the addFloatingIp / removeFloatingIp
server actions (2.1-2.43, 404 from 2.44) and the deprecated os-floating-ips
proxy (list, show, create, delete; 2.1-2.35, 404 from 2.36). Without
[neutron] there are no floating IPs: the list is empty, the rest 404 or 501.
Nova's schemas, policies (os_compute_api:os-floating-ips:*), messages and codes.
"""
from __future__ import annotations

import ipaddress
import logging
from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util, versioned
from minova.api.schemas import types
from minova.db.instances import Instance
from minova.network import is_neutron
from minova.network import model as nw_model
from minova.policies import network as pol

LOG = logging.getLogger(__name__)


def _action_schema(action: str, fixed: bool) -> dict[str, Any]:
    props = {'address': types.ip_address}
    if fixed:
        props['fixed_address'] = types.ip_address
    return {'type': 'object',
            'properties': {action: {'type': 'object', 'properties': props,
                                    'required': ['address'],
                                    'additionalProperties': False}},
            'required': [action], 'additionalProperties': False}


CREATE_SCHEMA: dict[str, Any] = {'type': ['object', 'null'],
                                 'properties': {'pool': {'type': ['string', 'null']}}}
# Rows per microversion; None: the method does not exist there (404).
PROXY: versioned.Table[dict[str, Any] | None] = [('2.1', types.query({}, strict=False)),
                                                 ('2.36', None)]
PROXY_CREATE: versioned.Table[dict[str, Any] | None] = [('2.1', CREATE_SCHEMA),
                                                        ('2.36', None)]


def _fips() -> Any:
    from minova.network import floating_ips
    return floating_ips


def _add(req: falcon.Request, resp: falcon.Response, instance: Instance,
         body: Any) -> None:
    ctx = util.ctx(req)
    policy.authorize(ctx, pol.FLOATING_IPS % 'add', {'project_id': instance['project_id']})
    address = body['address']
    nw_info = instance.get('network_info') or []
    if not nw_info:
        raise errors.bad_request('Instance network is not ready yet')
    fixed_ips = nw_model.fixed_addresses(nw_info)
    if not fixed_ips:
        raise errors.bad_request('No fixed IPs associated to instance')
    fixed_address = body.get('fixed_address')
    if fixed_address is not None and fixed_address not in fixed_ips:
        raise errors.bad_request('Specified fixed address not assigned to instance')
    if not fixed_address:
        fixed_address = next((ip for ip in fixed_ips
                              if ipaddress.ip_address(ip).version == 4), None)
        if fixed_address is None:
            raise errors.bad_request(
                f'Unable to associate floating IP {address} to any fixed IPs for instance '
                f'{instance["uuid"]}. Instance has no fixed IPv4 addresses to associate.')
    if not is_neutron():
        raise errors.not_found('floating IP not found')
    try:
        changed = _fips().associate(instance, address, fixed_address)
    except exception.FloatingIpNotFoundForAddress:
        raise errors.not_found('floating IP not found') from None
    except exception.Forbidden as e:
        raise errors.HTTPFault(403, e.message) from None
    except Exception as e:
        LOG.exception('Associating %s with %s failed', address, instance['uuid'])
        raise errors.bad_request(
            f'Unable to associate floating IP {address} to fixed IP {fixed_address} for '
            f'instance {instance["uuid"]}. Error: {e}') from None
    _fips().refresh_caches(ctx, changed)
    resp.status = 202


def _remove(req: falcon.Request, resp: falcon.Response, instance: Instance,
            body: Any) -> None:
    ctx = util.ctx(req)
    address = body['address']
    fips = _fips()
    fip = None
    owner = None
    if is_neutron():
        try:
            fip = fips.get_by_address(address)
        except exception.FloatingIpNotFoundForAddress as e:
            raise errors.not_found(e.message) from None
        except exception.FloatingIpMultipleFoundForAddress as e:
            raise errors.conflict(e.message) from None
        owner = fips.instance_of(fip)
    policy.authorize(ctx, pol.FLOATING_IPS % 'remove',
                     {'project_id': instance['project_id']} if owner else {})
    if fip is None:
        raise errors.not_found('floating IP not found')
    if owner != instance['uuid']:
        raise errors.conflict(f'Floating IP {address} is not associated with instance '
                              f'{instance["uuid"]}.')
    fips.disassociate(fip)
    fips.refresh_caches(ctx, [instance['uuid']])
    resp.status = 202


ACTIONS: dict[str, tuple[versioned.Table[dict[str, Any] | None], Any]] = {
    'addFloatingIp': ([('2.1', _action_schema('addFloatingIp', True)), ('2.44', None)],
                      _add),
    'removeFloatingIp': ([('2.1', _action_schema('removeFloatingIp', False)),
                          ('2.44', None)], _remove),
}


def _get(fip_id: str) -> dict[str, Any]:
    if not is_neutron():
        raise errors.not_found(f'Floating IP not found for ID {fip_id}')
    try:
        found: dict[str, Any] = _fips().get(fip_id)
    except exception.FloatingIpNotFound:
        raise errors.not_found(f'Floating IP not found for ID {fip_id}') from None
    return found


class FloatingIps:
    """GET/POST /os-floating-ips."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        util.validated_query(req, versioned.require(req, PROXY))
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.FLOATING_IPS % 'list', {'project_id': ctx.project_id})
        resp.media = {'floating_ips': _fips().list_for_project(ctx.project_id or '')
                      if is_neutron() else []}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        schema = versioned.require(req, PROXY_CREATE)
        body = util.read_body(req)
        from minova.api import validation
        validation.validate_body(schema, body)
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.FLOATING_IPS % 'create', {'project_id': ctx.project_id})
        pool = (body or {}).get('pool')
        if not is_neutron():
            raise exception.NotSupported()
        try:
            fip = _fips().allocate(ctx.project_id or '', pool)
        except exception.NoMoreFloatingIps:
            raise errors.not_found(f'No more floating IPs in pool {pool}.' if pool
                                   else 'No more floating IPs available.') from None
        except exception.FloatingIpLimitExceeded:
            raise errors.HTTPFault(403, f'IP allocation over quota in pool {pool}.' if pool
                                   else 'IP allocation over quota.') from None
        except exception.FloatingIpPoolNotFound as e:
            raise errors.not_found(e.message) from None
        except exception.FloatingIpBadRequest as e:
            raise errors.bad_request(e.message) from None
        resp.media = {'floating_ip': _fips().view(fip)}


class FloatingIp:
    """GET/DELETE /os-floating-ips/{id}."""

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               floating_ip_id: str) -> None:
        util.validated_query(req, versioned.require(req, PROXY))
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.FLOATING_IPS % 'show', {'project_id': ctx.project_id})
        resp.media = {'floating_ip': _fips().view(_get(floating_ip_id))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  floating_ip_id: str) -> None:
        versioned.require(req, PROXY)
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.FLOATING_IPS % 'delete', {'project_id': ctx.project_id})
        fips = _fips()
        fip = _get(floating_ip_id)
        owner = fips.instance_of(fip)
        if owner:
            fips.disassociate(fip)
        try:
            fips.release(fip)
        except exception.FloatingIpNotFound:
            raise errors.not_found(f'Floating IP not found for ID {floating_ip_id}') from None
        if owner:
            fips.refresh_caches(ctx, [owner])
        resp.status = 202
