"""Real guests on a real Neutron: two QEMU guests booted by mini-Nova (libvirt
driver) on one OVN network, each plugged into br-int by libvirt and started
paused until Neutron's network-vif-plugged reached mini-Nova. On their
consoles they show the fixed IP OVN's DHCP gave them, and the second pings
the first (its user_data says `ping <address>`). Neutron shows the ports
ACTIVE and bound to this host; after delete none of mini-Nova's ports is left.

The guests boot once, in parallel, and every test here looks at them; the
last one deletes them.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.integration.libvirt.conftest import (
    REPO,
    Cloud,
    _unavailable,
    create_flavor,
    libvirt_conn,
    remove_guests,
    start_cloud,
    state_dir,
    stop_cloud,
    upload_image,
)
from tests.integration.libvirt.conftest import test_image as test_image  # noqa: F401 - fixture
from tests.integration.neutron.conftest import Neutron, keep_log, write_events_policy

PROJECT = 'admin'       # the project of the noauth2 token the Cloud helper sends


@dataclass
class Guests:
    cloud: Cloud
    net: dict[str, Any]
    first: str
    second: str
    ips: dict[str, str]         # server uuid -> fixed IP (from Neutron)
    ports: dict[str, str]       # server uuid -> port id


def _boot(c: Cloud, image: str, flavor: str, name: str, net: str,
          user_data: str | None = None,
          security_groups: list[dict[str, str]] | None = None) -> str:
    server: dict[str, Any] = {'name': name, 'imageRef': image, 'flavorRef': flavor,
                              'networks': [{'uuid': net}], 'config_drive': True}
    if security_groups:
        server['security_groups'] = security_groups
    if user_data:
        server['user_data'] = base64.b64encode(user_data.encode()).decode()
    r = c.api('POST', '/servers', json={'server': server})
    assert r.status_code == 202, r.text
    return r.json()['server']['id']


def _port_of(c: Cloud, neutron: Neutron, server: str,
             timeout: float = 120.0) -> dict[str, Any]:
    """The one port mini-Nova made for server (it appears during the build)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ports = neutron.ports(device_id=server)
        if ports:
            assert len(ports) == 1, ports
            return ports[0]
        if c.server(server)['status'] == 'ERROR':
            raise AssertionError(f'server {server} went ERROR: {c.server(server).get("fault")}')
        time.sleep(0.5)
    raise AssertionError(f'no Neutron port for server {server}')


def _tidy(c: Cloud, neutron: Neutron, servers: list[str], net: str | None) -> None:
    """After a failure half way: no server, and no port of mini-Nova's on the
    test network (it would keep the network from being deleted)."""
    for uuid in servers:
        if c.api('DELETE', f'/servers/{uuid}').status_code == 204:
            try:
                c.wait_gone(uuid, timeout=60)
            except AssertionError:
                pass
    for port in neutron.ports(network_id=net) if net else []:
        if port['device_owner'].startswith('compute:'):
            neutron.delete('port', port['id'])


def _image_is_current(image: str) -> None:
    """The image must print the IP and PING lines: built by this checkout's
    tools/build-test-image.sh (its stamp starts with the script's hash)."""
    with open(os.path.join(REPO, 'tools', 'build-test-image.sh'), 'rb') as f:
        script = hashlib.sha256(f.read()).hexdigest()[:16]
    try:
        with open(image + '.stamp') as f:
            stamp = f.read()
    except OSError:
        stamp = ''
    if not stamp.startswith(script):
        _unavailable(f'{image} was built by another tools/build-test-image.sh; rebuild it')


@dataclass
class GuestCloud:
    """An all-in-one on libvirt with the session's Neutron, and what a module's
    fixture boots on it: its servers and their ports (on net_id) go when the
    fixture ends, then the cloud."""

    cloud: Cloud
    conn: Any
    servers: list[str] = field(default_factory=list)
    net_id: str | None = None


@contextlib.contextmanager
def guest_cloud(neutron: Neutron, test_image: str, neutron_conf: str = '',  # noqa: F811
                default_conf: str = '') -> Iterator[GuestCloud]:
    _image_is_current(test_image)
    conn = libvirt_conn()
    state = state_dir()
    write_events_policy(state)
    c = start_cloud(state, neutron.host, api_port=neutron.nova_port, extra_conf=f"""
[neutron]
auth_type = none
endpoint_override = {neutron.url}
{neutron_conf}[DEFAULT]
# a lost event fails the build in 2 minutes rather than 5
vif_plugging_timeout = 120
{default_conf}""")
    run = GuestCloud(c, conn)
    try:
        yield run
    finally:
        try:
            _tidy(c, neutron, run.servers, run.net_id)
        finally:
            stop_cloud(c)
            keep_log(c.log)
            remove_guests(conn, c)
            conn.close()
            neutron.cleanup()
            shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope='module')
def guests(neutron: Neutron, test_image: str) -> Iterator[Guests]:  # noqa: F811
    with guest_cloud(neutron, test_image) as run:
        c, servers = run.cloud, run.servers
        image = upload_image(c, test_image)
        flavor = create_flavor(c)
        net = neutron.create_network('guests-net', project_id=PROJECT)
        run.net_id = net['id']
        neutron.create_subnet(net['id'], '198.51.100.0/24', project_id=PROJECT)
        servers.append(_boot(c, image, flavor, 'nn-vm1', net['id']))
        first = _port_of(c, neutron, servers[0])
        first_ip = first['fixed_ips'][0]['ip_address']
        # The second boots meanwhile; its init keeps pinging for about a minute.
        servers.append(_boot(c, image, flavor, 'nn-vm2', net['id'],
                             user_data=f'#!/bin/sh\nping {first_ip}\n'))
        second = _port_of(c, neutron, servers[1])
        for uuid in servers:
            c.wait(uuid, 'ACTIVE', timeout=400)
        yield Guests(c, net, servers[0], servers[1],
                     {servers[0]: first_ip, servers[1]: second['fixed_ips'][0]['ip_address']},
                     {servers[0]: first['id'], servers[1]: second['id']})


def test_guests_get_their_fixed_ips_by_dhcp_and_reach_each_other(guests: Guests) -> None:
    c = guests.cloud
    for uuid, ip in guests.ips.items():
        out = c.wait_console(uuid, 'MINOVA-TEST-IMAGE-IP', timeout=180)
        assert f'MINOVA-TEST-IMAGE-IP {ip}\n' in out.replace('\r', ''), out[-2000:]
        # the server's addresses show the same fixed IP on the network's name
        addresses = c.server(uuid)['addresses']
        assert [a['addr'] for a in addresses.get('guests-net', [])] == [ip], addresses
    first_ip = guests.ips[guests.first]
    out = c.wait_console(guests.second, f'MINOVA-TEST-IMAGE-PING {first_ip} ', timeout=180)
    assert f'MINOVA-TEST-IMAGE-PING {first_ip} ok' in out, out[-2000:]


def test_ports_are_active_bound_and_vif_plugged_reached_minova(
        guests: Guests, neutron: Neutron) -> None:
    for uuid in guests.ips:
        (port,) = neutron.ports(device_id=uuid)
        port = neutron.wait_port(port['id'], 'ACTIVE')
        assert port['binding:host_id'] == neutron.host
        assert port['binding:vif_type'] == 'ovs'
        assert port['device_owner'].startswith('compute:')
        # Neutron logs each answer of mini-Nova's os-server-external-events:
        # this port's network-vif-plugged was accepted (200) for this server.
        with open(neutron.info['log'], errors='replace') as f:
            log = f.read()
        answers = re.findall(r"Nova event matching .* response: (\{.*\})", log)
        assert any(f"'tag': '{port['id']}'" in a and "'network-vif-plugged'" in a
                   and "'code': 200" in a and uuid in a for a in answers), answers[-10:]


def test_delete_leaves_no_port_of_minova_in_neutron(guests: Guests, neutron: Neutron) -> None:
    c = guests.cloud
    for uuid in guests.ips:
        r = c.api('DELETE', f'/servers/{uuid}')
        assert r.status_code == 204, r.text
    for uuid in guests.ips:
        c.wait_gone(uuid, timeout=120)
    for uuid in guests.ips:
        assert neutron.ports(device_id=uuid) == []
    left = [p for p in neutron.ports(network_id=guests.net['id'])
            if p['device_owner'].startswith('compute:')]
    assert left == []
    # and libvirt took the guests' taps out of br-int
    bridge_ports = subprocess.run(['ovs-vsctl', 'list-ports', 'br-int'], capture_output=True,
                                  text=True, check=True).stdout.split()
    assert [f'tap{p[:11]}' for p in guests.ports.values() if f'tap{p[:11]}' in bridge_ports] == []
