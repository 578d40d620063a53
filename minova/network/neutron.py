"""The Neutron REST client (v2.0): the calls Nova makes, through one keystoneauth1
adapter from [neutron], with Neutron's errors turned into Nova's exceptions.

It authenticates as the service ([neutron] auth options: Nova's admin client)
and passes project_id explicitly on creates, so it works against a Neutron with
Keystone and against one with auth_strategy = noauth alike. Which networks a
project may use is checked by the network API (shared or its own).
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from keystoneauth1 import adapter as ks_adapter

from minova import exception
from minova.clients import base as client_base

LOG = logging.getLogger(__name__)

PREFIX = '/v2.0'

Port = dict[str, Any]
Network = dict[str, Any]


class NeutronError(exception.MinovaException):
    """An error Neutron answered that has no Nova meaning of its own."""

    msg_fmt = 'Neutron error: %(reason)s'

    def __init__(self, status: int, type_: str | None, message: str) -> None:
        super().__init__(f'Neutron error ({status} {type_ or ""}): {message}')
        self.status = status
        self.type = type_
        self.reason = message
        # A Neutron 4xx the caller did not map is still the user's request
        # (Nova's neutronclient errors surface the same way); 5xx is ours.
        self.code = 500 if status >= 500 else status


def _error(resp: Any) -> tuple[str | None, str]:
    try:
        body = resp.json()
        err = body.get('NeutronError') or {}
        if isinstance(err, dict):
            return err.get('type'), str(err.get('message') or err.get('detail') or '')
        return None, str(err)
    except (ValueError, AttributeError):
        return None, ' '.join((resp.text or '').split())[:200]


class Client(client_base.Client):
    """Neutron's ports, networks, subnets, security groups, floating IPs."""

    _shared: Client | None = None
    _shared_lock = threading.Lock()

    def _build_adapter(self) -> ks_adapter.Adapter:
        return client_base.adapter_from_conf('neutron', 'network', 'http://127.0.0.1:9696',
                                             'admin')

    # -- plumbing -------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None,
                params: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, decoded body); connection failures retried [neutron] http_retries
        times, then NetworkServiceUnavailable."""
        from minova.conf import CONF
        kwargs: dict[str, Any] = {'headers': {'Accept': 'application/json'}}
        if body is not None:
            kwargs['json'] = body
        if params:
            kwargs['params'] = params
        return client_base.call_peer(
            self.adapter, PREFIX + path, method, CONF.neutron.http_retries,
            lambda reason: exception.NetworkServiceUnavailable(reason=reason), **kwargs)

    def _ok(self, method: str, path: str, body: Any = None,
            params: dict[str, Any] | None = None,
            not_found: exception.MinovaException | None = None) -> Any:
        status, data = self.request(method, path, body, params)
        if status < 400:
            return data
        type_, message = _error(data)
        if status == 404 and not_found is not None:
            raise not_found
        LOG.info('Neutron answered %s %s with %s %s: %s', method, path, status, type_,
                 message)
        raise NeutronError(status, type_, message)

    @staticmethod
    def _params(filters: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in filters.items() if v is not None}

    # -- networks and subnets --------------------------------------------------

    def list_networks(self, **filters: Any) -> list[Network]:
        return list(self._ok('GET', '/networks', params=self._params(filters))['networks'])

    def show_network(self, network_id: str) -> Network:
        return dict(self._ok('GET', f'/networks/{network_id}', not_found=exception
                             .NetworkNotFound(network_id=network_id))['network'])

    def list_subnets(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self._ok('GET', '/subnets', params=self._params(filters))['subnets'])

    def get_auto_allocated_topology(self, project_id: str) -> str:
        """The network of the project's auto-allocated topology (made if needed)."""
        data = self._ok('GET', f'/auto-allocated-topology/{project_id}')
        return str(data['auto_allocated_topology']['id'])

    def validate_auto_allocated_topology(self, project_id: str) -> bool:
        """Whether the project's auto-allocated topology could be made (a dry run)."""
        status, _ = self.request('GET', f'/auto-allocated-topology/{project_id}',
                                 params={'fields': 'dry-run'})
        return status < 400

    def list_extensions(self) -> list[str]:
        return [e['alias'] for e in self._ok('GET', '/extensions')['extensions']]

    # -- ports -----------------------------------------------------------------

    def list_ports(self, **filters: Any) -> list[Port]:
        return list(self._ok('GET', '/ports', params=self._params(filters))['ports'])

    def show_port(self, port_id: str) -> Port:
        return dict(self._ok('GET', f'/ports/{port_id}',
                             not_found=exception.PortNotFound(port_id=port_id))['port'])

    def create_port(self, port: Port) -> Port:
        """A new port; Neutron's refusals as Nova's: no free address (NoMoreFixedIps),
        an address taken (FixedIpAlreadyInUse), an address outside the network's
        subnets (FixedIpInvalidOnHost), the port quota (PortLimitExceeded)."""
        status, data = self.request('POST', '/ports', {'port': port})
        if status < 400:
            return dict(data['port'])
        type_, message = _error(data)
        net = port.get('network_id')
        fixed = (port.get('fixed_ips') or [{}])[0].get('ip_address')
        if type_ == 'OverQuota':
            raise exception.PortLimitExceeded()
        if type_ in ('IpAddressGenerationFailure',):
            raise exception.NoMoreFixedIps(net=net)
        if type_ in ('IpAddressAlreadyAllocated', 'IpAddressInUse'):
            raise exception.FixedIpAlreadyInUse(address=fixed,
                                                instance_uuid=port.get('device_id'))
        if type_ in ('InvalidIpForNetwork', 'InvalidIpForSubnet'):
            raise exception.FixedIpInvalidOnHost(address=fixed, network_id=net)
        if status == 404:
            raise exception.NetworkNotFound(network_id=net)
        LOG.info('Neutron refused a port on %s: %s %s: %s', net, status, type_, message)
        raise NeutronError(status, type_, message)

    def update_port(self, port_id: str, port: Port) -> Port:
        status, data = self.request('PUT', f'/ports/{port_id}', {'port': port})
        if status < 400:
            return dict(data['port'])
        type_, message = _error(data)
        if status == 404:
            raise exception.PortNotFound(port_id=port_id)
        if type_ in ('MacAddressInUse', 'PortInUse'):
            raise exception.PortInUse(port_id=port_id)
        raise NeutronError(status, type_, message)

    def delete_port(self, port_id: str) -> bool:
        """Deleted (True) or already gone (False)."""
        status, data = self.request('DELETE', f'/ports/{port_id}')
        if status == 404:
            return False
        if status >= 400:
            raise NeutronError(status, *_error(data))
        return True

    # -- security groups and floating IPs -------------------------------------

    def list_security_groups(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self._ok('GET', '/security-groups',
                             params=self._params(filters))['security_groups'])

    def security_group_call(self, method: str, path: str,
                            body: dict[str, Any] | None = None,
                            params: dict[str, Any] | None = None) -> Any:
        """The os-security-groups proxy's calls (/security-groups...,
        /security-group-rules...): the decoded body, or NeutronError with
        Neutron's status and message, which the proxy maps as Nova does."""
        return self._ok(method, path, body, params)

    def list_floatingips(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self._ok('GET', '/floatingips',
                             params=self._params(filters))['floatingips'])

    def show_floatingip(self, fip_id: str) -> dict[str, Any]:
        return dict(self._ok('GET', f'/floatingips/{fip_id}',
                             not_found=exception.FloatingIpNotFound(id=fip_id))['floatingip'])

    def create_floatingip(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._ok('POST', '/floatingips', {'floatingip': body})['floatingip'])

    def update_floatingip(self, fip_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._ok('PUT', f'/floatingips/{fip_id}',
                             {'floatingip': body})['floatingip'])

    def delete_floatingip(self, fip_id: str) -> None:
        self._ok('DELETE', f'/floatingips/{fip_id}',
                 not_found=exception.FloatingIpNotFound(id=fip_id))


def get_client() -> Any:
    """The process's Neutron client (a test may set another with set_client)."""
    with Client._shared_lock:
        if Client._shared is None:
            Client._shared = Client()
        return Client._shared


def set_client(client: Any) -> None:
    with Client._shared_lock:
        Client._shared = client
