"""mini-Nova as a Neutron client against the real Neutron (ML2/OVN): an all-in-one
with the fake driver and [neutron] pointing at the session's Neutron. The fake
driver plugs nothing, so it waits for no network-vif-plugged (as Nova's fake);
ports are still made, bound to this host (vif_type ovs) and released by
mini-Nova exactly as with libvirt (test_guests.py has the real guests).

Boot on a network with a security group, addresses and ips, interface attach
and detach (a made port and a user's port), security groups added and removed,
openstacksdk's create_server(wait=True), and after every delete no port of
mini-Nova's left in Neutron.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from minova.image.builtin import TINY_IMAGE_ID
from tests.integration.libvirt.conftest import Cloud, start_cloud, state_dir, stop_cloud
from tests.integration.neutron.conftest import Neutron

PROJECT = 'admin'       # the project of the noauth2 token the Cloud helper sends
CIDR = '10.213.0.0/24'


@pytest.fixture(scope='module')
def cloud(neutron: Neutron) -> Iterator[Cloud]:
    c = start_cloud(state_dir(), neutron.host, api_port=neutron.nova_port, extra_conf=f"""
[DEFAULT]
compute_driver = fake.FakeDriver
[neutron]
auth_type = none
endpoint_override = {neutron.url}
""")
    r = c.api('POST', '/flavors', json={'flavor': {'name': 'nt-tiny', 'id': 'nt-tiny',
                                                   'vcpus': 1, 'ram': 64, 'disk': 1}})
    assert r.status_code == 200, r.text
    try:
        yield c
    finally:
        stop_cloud(c)


@pytest.fixture(scope='module')
def net(neutron: Neutron, cloud: Cloud) -> Iterator[dict[str, Any]]:
    network = neutron.create_network('nt-net1', project_id=PROJECT)
    neutron.create_subnet(network['id'], CIDR, project_id=PROJECT)
    try:
        yield neutron.network(network['id'])
    finally:
        for port in neutron.ports(network_id=network['id']):
            if port['device_owner'].startswith('compute:'):
                neutron.delete('port', port['id'])
        neutron.cleanup()


@pytest.fixture(scope='module')
def web(neutron: Neutron, net: dict[str, Any]) -> Iterator[dict[str, Any]]:
    r = neutron.api('POST', '/security-groups', json={'security_group': {
        'name': 'nt-web', 'project_id': PROJECT}})
    assert r.status_code == 201, r.text
    group = r.json()['security_group']
    try:
        yield group
    finally:
        neutron.api('DELETE', f"/security-groups/{group['id']}")


def _boot(c: Cloud, name: str, networks: Any, **extra: Any) -> dict[str, Any]:
    r = c.api('POST', '/servers', json={'server': {
        'name': name, 'imageRef': TINY_IMAGE_ID, 'flavorRef': 'nt-tiny',
        'networks': networks, **extra}})
    assert r.status_code == 202, r.text
    return c.wait(r.json()['server']['id'], 'ACTIVE', timeout=60)


def _delete(c: Cloud, neutron: Neutron, uuid: str) -> None:
    assert c.api('DELETE', f'/servers/{uuid}').status_code == 204
    c.wait_gone(uuid, timeout=60)
    assert neutron.ports(device_id=uuid) == []


def _until(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_boot_addresses_interfaces_and_security_groups(
        cloud: Cloud, neutron: Neutron, net: dict[str, Any], web: dict[str, Any]) -> None:
    server = _boot(cloud, 'nt-vm1', [{'uuid': net['id']}],
                   security_groups=[{'name': 'default'}])
    sid = server['id']
    [port] = neutron.ports(device_id=sid)
    assert port['binding:host_id'] == neutron.host
    assert port['binding:vif_type'] == 'ovs'
    assert port['device_owner'] == 'compute:nova'
    ip = port['fixed_ips'][0]['ip_address']
    assert server['addresses'] == {'nt-net1': [{
        'version': 4, 'addr': ip, 'OS-EXT-IPS:type': 'fixed',
        'OS-EXT-IPS-MAC:mac_addr': port['mac_address']}]}
    assert cloud.api('GET', f'/servers/{sid}/ips/nt-net1').json() == {
        'nt-net1': [{'version': 4, 'addr': ip}]}
    assert server['security_groups'] == [{'name': 'default'}]

    # a port made on the network, attached and detached
    r = cloud.api('POST', f'/servers/{sid}/os-interface',
                  json={'interfaceAttachment': {'net_id': net['id']}})
    assert r.status_code == 200, r.text
    made = r.json()['interfaceAttachment']['port_id']
    assert neutron.port(made)['binding:host_id'] == neutron.host
    attachments = cloud.api('GET', f'/servers/{sid}/os-interface').json()
    assert sorted(a['port_id'] for a in attachments['interfaceAttachments']) == \
        sorted([port['id'], made])
    assert len(cloud.server(sid)['addresses']['nt-net1']) == 2
    assert cloud.api('DELETE', f'/servers/{sid}/os-interface/{made}').status_code == 202
    assert _until(lambda: neutron.api('GET', f'/ports/{made}').status_code == 404)
    assert _until(lambda: len(cloud.server(sid)['addresses']['nt-net1']) == 1)

    # the user's own port: attached, then detached and kept unbound
    mine = neutron.create_port(net['id'], project_id=PROJECT)
    r = cloud.api('POST', f'/servers/{sid}/os-interface',
                  json={'interfaceAttachment': {'port_id': mine['id']}})
    assert r.status_code == 200, r.text
    assert neutron.port(mine['id'])['device_id'] == sid
    assert cloud.api('DELETE', f"/servers/{sid}/os-interface/{mine['id']}"
                     ).status_code == 202
    assert _until(lambda: neutron.port(mine['id'])['device_id'] == '')
    assert neutron.port(mine['id'])['binding:host_id'] == ''

    # security groups through Neutron
    r = cloud.api('POST', f'/servers/{sid}/action', json={'addSecurityGroup': {
        'name': 'nt-web'}})
    assert r.status_code == 202, r.text
    assert web['id'] in neutron.port(port['id'])['security_groups']
    # (in the order Neutron lists the port's groups)
    assert sorted(g['name'] for g in cloud.server(sid)['security_groups']) == [
        'default', 'nt-web']
    r = cloud.api('POST', f'/servers/{sid}/action', json={'removeSecurityGroup': {
        'name': 'nt-web'}})
    assert r.status_code == 202, r.text
    assert web['id'] not in neutron.port(port['id'])['security_groups']
    r = cloud.api('POST', f'/servers/{sid}/action', json={'removeSecurityGroup': {
        'name': 'nt-web'}})
    assert r.status_code == 404, r.text
    _delete(cloud, neutron, sid)


def test_boot_on_a_users_port_keeps_it(cloud: Cloud, neutron: Neutron,
                                       net: dict[str, Any]) -> None:
    mine = neutron.create_port(net['id'], project_id=PROJECT)
    server = _boot(cloud, 'nt-vm2', [{'port': mine['id']}])
    assert neutron.port(mine['id'])['binding:host_id'] == neutron.host
    assert server['addresses']['nt-net1'][0]['addr'] == mine['fixed_ips'][0]['ip_address']
    assert cloud.api('DELETE', f"/servers/{server['id']}").status_code == 204
    cloud.wait_gone(server['id'], timeout=60)
    kept = neutron.port(mine['id'])
    assert kept['device_id'] == '' and kept['binding:host_id'] == ''


def test_boot_errors_from_neutron(cloud: Cloud, neutron: Neutron,
                                  net: dict[str, Any]) -> None:
    def boot(networks: Any) -> Any:
        return cloud.api('POST', '/servers', json={'server': {
            'name': 'nt-bad', 'imageRef': TINY_IMAGE_ID, 'flavorRef': 'nt-tiny',
            'networks': networks}})
    missing = '0b7a6a7e-0000-4000-8000-000000000000'
    r = boot([{'uuid': missing}])
    assert r.status_code == 400 and missing in r.text, r.text
    r = boot([{'port': missing}])
    assert r.status_code == 400, r.text
    taken = neutron.create_port(net['id'], project_id=PROJECT, device_id='elsewhere')
    r = boot([{'port': taken['id']}])
    assert r.status_code == 409 and 'still in use' in r.text, r.text


def test_openstacksdk_create_server_waits_for_an_address(
        cloud: Cloud, neutron: Neutron, net: dict[str, Any]) -> None:
    openstack = pytest.importorskip('openstack')
    conn = openstack.connection.Connection(
        auth={'auth_url': cloud.compute.removesuffix('/v2.1') + '/identity/v3',
              'username': 'admin', 'password': 'anything', 'project_name': PROJECT,
              'user_domain_name': 'Default', 'project_domain_name': 'Default'},
        compute_api_version='2.latest')
    server = conn.create_server('nt-sdk', image=TINY_IMAGE_ID, flavor='nt-tiny',
                                network=net['id'], wait=True, timeout=120, auto_ip=False)
    try:
        assert server.status == 'ACTIVE'
        assert server.addresses['nt-net1'][0]['addr'].startswith('10.213.0.')
    finally:
        conn.delete_server(server.id, wait=True, timeout=60)
    assert neutron.ports(device_id=server.id) == []
