"""The metadata service through Neutron's OVN metadata agent, as in an ML2/OVN
cloud: a real QEMU guest of the test image (libvirt driver, on an OVN
network, no config drive) gets OVN's DHCP with option 121 (169.254.169.254
via the network's metadata port), asks http://169.254.169.254/, and the agent's
haproxy in the ovnmeta-<network> namespace hands the request to the agent,
which signs the port's device_id into X-Instance-ID for mini-Nova's metadata
service ([neutron] service_metadata_proxy = true). The guest prints what it
read; it must be its own hostname, uuid and public key.

One guest; the fixture deletes it.
"""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.libvirt.conftest import (
    Cloud,
    create_flavor,
    upload_image,
)
from tests.integration.libvirt.conftest import test_image as test_image  # noqa: F401 - fixture
from tests.integration.neutron.conftest import Neutron
from tests.integration.neutron.test_guests import _port_of, guest_cloud

PROJECT = 'admin'
CIDR = '203.0.113.0/24'
KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoCr0zxkLkIWO0gAzPoRbuNRkl5UTbbJfRE'
       'jFpKbwYf ovnmeta@test')


@dataclass
class Guest:
    cloud: Cloud
    net: dict[str, Any]
    server: dict[str, Any]
    port: dict[str, Any]


@pytest.fixture(scope='module')
def guest(neutron: Neutron, test_image: str) -> Iterator[Guest]:  # noqa: F811
    proxied = ('service_metadata_proxy = true\n'
               f'metadata_proxy_shared_secret = {neutron.metadata_secret}\n')
    listen = f'metadata_listen = 127.0.0.1\nmetadata_listen_port = {neutron.metadata_port}\n'
    with guest_cloud(neutron, test_image, neutron_conf=proxied,
                     default_conf=listen) as run:
        c, servers = run.cloud, run.servers
        image = upload_image(c, test_image)
        flavor = create_flavor(c)
        r = c.api('POST', '/os-keypairs', json={'keypair': {'name': 'ovnmeta-key',
                                                             'public_key': KEY}})
        assert r.status_code in (200, 201), r.text
        net = neutron.create_network('md-net', project_id=PROJECT)
        run.net_id = net['id']
        neutron.create_subnet(net['id'], CIDR, project_id=PROJECT)
        r = c.api('POST', '/servers', json={'server': {
            'name': 'nn-md1', 'imageRef': image, 'flavorRef': flavor, 'key_name': 'ovnmeta-key',
            'networks': [{'uuid': net['id']}]}})
        assert r.status_code == 202, r.text
        servers.append(r.json()['server']['id'])
        port = _port_of(c, neutron, servers[0])
        c.wait(servers[0], 'ACTIVE', timeout=400)
        yield Guest(c, net, c.server(servers[0]), port)


def test_guest_without_config_drive_reads_its_metadata_through_the_ovn_agent(
        guest: Guest) -> None:
    c, server = guest.cloud, guest.server
    assert not server.get('config_drive')
    out = c.wait_console(server['id'], 'metadata-service key=', timeout=300).replace('\r', '')
    assert 'config-drive=' not in out
    ip = guest.port['fixed_ips'][0]['ip_address']
    assert f'MINOVA-TEST-IMAGE-IP {ip}\n' in out, out[-2000:]
    assert f"metadata-service hostname={server['OS-EXT-SRV-ATTR:hostname']}\n" in out, \
        out[-2000:]
    assert f"metadata-service uuid={server['id']}\n" in out
    assert f'metadata-service key={KEY}\n' in out


def test_the_agent_namespace_is_the_only_address_on_the_guest_network(
        guest: Guest, neutron: Neutron) -> None:
    ns = f"ovnmeta-{guest.net['id']}"
    assert ns in subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True,
                                check=True).stdout
    inside = subprocess.run(['ip', 'netns', 'exec', ns, 'ip', '-4', '-o', 'addr'],
                            capture_output=True, text=True, check=True).stdout
    (meta_port,) = neutron.ports(network_id=guest.net['id'], device_owner='network:distributed')
    assert '169.254.169.254/32' in inside
    assert f"{meta_port['fixed_ips'][0]['ip_address']}/24" in inside
    # the host itself has no address on the guests' subnet, and no route to it
    host = subprocess.run(['ip', '-4', '-o', 'addr'], capture_output=True, text=True,
                          check=True).stdout
    assert ' 203.0.113.' not in host, host
    route = subprocess.run(['ip', 'route', 'get', '203.0.113.10'], capture_output=True,
                           text=True).stdout
    assert 'tap' not in route, route
