"""Real guests on a real Neutron, after the boot (issue 19's second part): two
QEMU guests (libvirt driver, the test image) on one OVN network, booted once
for the module in a security group without ICMP ingress; the second pings
the first every 2 s (`pingloop` in its user_data) and says ok|fail on its
console. The tests run in order on the same guests:

- security groups: ping fails; addSecurityGroup of a group allowing ICMP
  makes it answer; removeSecurityGroup makes it fail again (OVN's ACLs);
- interface hot-plug: a port attached to the running guest shows as a new
  NIC with its own DHCP address (the guest's console), survives a hard
  reboot, and its detach removes the NIC from the guest and the port;
- hard reboot, stop/start and suspend/resume: the same ports, the same IP
  by DHCP, Neutron's network-vif-plugged accepted again, the peer reaches it;
- floating IPs: one associated in Neutron with the first guest's port
  (external network + router inside OVN; nothing routes out) shows in
  `addresses` as `OS-EXT-IPS:type: floating` after Neutron's network-changed.
"""
from __future__ import annotations

import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
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
from tests.integration.neutron.test_guests import (
    PROJECT,
    _boot,
    _port_of,
    guest_cloud,
)

NET = 'guestnet-2'
CIDR = '203.0.113.0/24'


@dataclass
class Pair:
    cloud: Cloud
    conn: Any
    net: dict[str, Any]
    subnet: dict[str, Any]
    target: str                 # pinged by the other
    pinger: str
    ip: str                     # target's fixed IP
    port: str                   # target's port


def _pingloop(c: Cloud, uuid: str, addr: str) -> list[str]:
    return re.findall(rf'MINOVA-TEST-IMAGE-PINGLOOP {re.escape(addr)} (ok|fail)',
                      c.console(uuid))


def _wait_ping(p: Pair, want: str, timeout: float = 90.0) -> None:
    """The pinger's loop reports `want` twice in a row after this call."""
    start = len(_pingloop(p.cloud, p.pinger, p.ip))
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = _pingloop(p.cloud, p.pinger, p.ip)[start:]
        if seen[-2:] == [want, want]:
            return
        time.sleep(1)
    raise AssertionError(f'pingloop to {p.ip} never {want} twice: {seen[-20:]}')


def _nics(p: Pair, uuid: str) -> list[str]:
    """The MACs of the guest's live NICs (libvirt)."""
    xml = p.conn.lookupByUUIDString(uuid).XMLDesc(0)
    return [m.get('address') for m in ET.fromstring(xml).findall('devices/interface/mac')]


def _accepted_plugged(neutron: Neutron, server: str, port: str) -> int:
    """How many network-vif-plugged events for port mini-Nova answered 200."""
    with open(neutron.info['log'], errors='replace') as f:
        log = f.read()
    return sum(1 for a in re.findall(r"Nova event matching .* response: (\{.*\})", log)
               if f"'tag': '{port}'" in a and "'network-vif-plugged'" in a
               and "'code': 200" in a and server in a)


def _action(c: Cloud, uuid: str, body: dict[str, Any]) -> None:
    r = c.api('POST', f'/servers/{uuid}/action', json=body)
    assert r.status_code == 202, r.text


@pytest.fixture(scope='module')
def pair(neutron: Neutron, test_image: str) -> Iterator[Pair]:  # noqa: F811
    with guest_cloud(neutron, test_image) as run:
        c, servers = run.cloud, run.servers
        image = upload_image(c, test_image)
        flavor = create_flavor(c)
        net = neutron.create_network(NET, project_id=PROJECT)
        run.net_id = net['id']
        subnet = neutron.create_subnet(net['id'], CIDR, project_id=PROJECT)
        # A group with Neutron's default egress rules only: no ICMP in.
        neutron._create('security_group', {'name': 'mn-noicmp', 'project_id': PROJECT})
        icmp = neutron._create('security_group', {'name': 'mn-icmp', 'project_id': PROJECT})
        neutron._create('security_group_rule', {
            'security_group_id': icmp['id'], 'direction': 'ingress', 'protocol': 'icmp',
            'ethertype': 'IPv4', 'remote_ip_prefix': CIDR, 'project_id': PROJECT})
        groups = [{'name': 'mn-noicmp'}]
        servers.append(_boot(c, image, flavor, 'ng-target', net['id'], security_groups=groups))
        port = _port_of(c, neutron, servers[0])
        ip = port['fixed_ips'][0]['ip_address']
        servers.append(_boot(c, image, flavor, 'ng-pinger', net['id'], security_groups=groups,
                             user_data=f'#!/bin/sh\npingloop {ip}\n'))
        for uuid in servers:
            c.wait(uuid, 'ACTIVE', timeout=400)
        yield Pair(c, run.conn, net, subnet, servers[0], servers[1], ip, port['id'])


def test_security_groups_added_and_removed_apply_to_the_running_guest(
        pair: Pair, neutron: Neutron) -> None:
    c = pair.cloud
    c.wait_console(pair.target, f'MINOVA-TEST-IMAGE-IP {pair.ip}', timeout=180)
    c.wait_console(pair.pinger, 'MINOVA-TEST-IMAGE-IP', timeout=180)
    _wait_ping(pair, 'fail')      # both up, no ICMP ingress: no answer
    _action(c, pair.target, {'addSecurityGroup': {'name': 'mn-icmp'}})
    names = {g['name'] for g in c.api(
        'GET', f'/servers/{pair.target}/os-security-groups').json()['security_groups']}
    assert names == {'mn-noicmp', 'mn-icmp'}
    _wait_ping(pair, 'ok')
    _action(c, pair.target, {'removeSecurityGroup': {'name': 'mn-icmp'}})
    assert len(neutron.port(pair.port)['security_groups']) == 1
    # a fresh ping (a new ICMP id each time) is not let in by an old conntrack entry
    _wait_ping(pair, 'fail')
    # allowed again for the lifecycle checks below, which ping the target
    _action(c, pair.target, {'addSecurityGroup': {'name': 'mn-icmp'}})
    _wait_ping(pair, 'ok')


def test_interface_hot_plug_survives_hard_reboot_and_detaches(
        pair: Pair, neutron: Neutron) -> None:
    c = pair.cloud
    r = c.api('POST', f'/servers/{pair.target}/os-interface',
              json={'interfaceAttachment': {'net_id': pair.net['id']}})
    assert r.status_code == 200, r.text
    att = r.json()['interfaceAttachment']
    new_ip = att['fixed_ips'][0]['ip_address']
    out = c.wait_console(pair.target, 'MINOVA-NIC-ADDED', timeout=120)
    assert f'MINOVA-NIC-ADDED eth1 mac={att["mac_addr"]} ip={new_ip}' in out, out[-1500:]
    assert neutron.wait_port(att['port_id'], 'ACTIVE')['binding:host_id'] == neutron.host
    assert sorted(_nics(pair, pair.target)) == sorted([att['mac_addr'],
                                                       neutron.port(pair.port)['mac_address']])
    addresses = c.server(pair.target)['addresses'][NET]
    assert sorted(a['addr'] for a in addresses) == sorted([pair.ip, new_ip])

    # a hard reboot defines the domain from the record: both NICs come back
    ready = c.console(pair.target).count('MINOVA-TEST-IMAGE-READY')
    _action(c, pair.target, {'reboot': {'type': 'HARD'}})
    c.wait(pair.target, 'ACTIVE', timeout=120)
    c.wait_console(pair.target, 'MINOVA-TEST-IMAGE-READY', count=ready + 1, timeout=180)
    assert len(_nics(pair, pair.target)) == 2
    neutron.wait_port(att['port_id'], 'ACTIVE')

    # the detach waits for the guest to let the NIC go; the port mini-Nova made goes
    r = c.api('DELETE', f'/servers/{pair.target}/os-interface/{att["port_id"]}')
    assert r.status_code == 202, r.text
    out = c.wait_console(pair.target, 'MINOVA-NIC-REMOVED eth1', timeout=120)
    deadline = time.monotonic() + 60
    while neutron.api('GET', f'/ports/{att["port_id"]}').status_code != 404:
        assert time.monotonic() < deadline, 'the detached port is still in Neutron'
        time.sleep(0.5)
    assert _nics(pair, pair.target) == [neutron.port(pair.port)['mac_address']]
    import libvirt
    xml = pair.conn.lookupByUUIDString(pair.target).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert att['mac_addr'] not in xml       # gone from the definition too
    listed = c.api('GET', f'/servers/{pair.target}/os-interface').json()
    assert [i['port_id'] for i in listed['interfaceAttachments']] == [pair.port]


@pytest.mark.parametrize('operation', ['hard-reboot', 'stop-start', 'suspend-resume'])
def test_lifecycle_keeps_the_ports_and_the_address(pair: Pair, neutron: Neutron,
                                                   operation: str) -> None:
    c = pair.cloud
    before = {p['id'] for p in neutron.ports(device_id=pair.target)}
    assert before == {pair.port}
    plugged = _accepted_plugged(neutron, pair.target, pair.port)
    ips = c.console(pair.target).count(f'MINOVA-TEST-IMAGE-IP {pair.ip}')
    if operation == 'hard-reboot':
        _action(c, pair.target, {'reboot': {'type': 'HARD'}})
        c.wait(pair.target, 'ACTIVE', timeout=120)
    elif operation == 'stop-start':
        _action(c, pair.target, {'os-stop': None})
        c.wait(pair.target, 'SHUTOFF', timeout=120)
        _wait_ping(pair, 'fail')
        _action(c, pair.target, {'os-start': None})
        c.wait(pair.target, 'ACTIVE', timeout=120)
    else:
        _action(c, pair.target, {'suspend': None})
        c.wait(pair.target, 'SUSPENDED', timeout=120)
        _wait_ping(pair, 'fail')
        _action(c, pair.target, {'resume': None})
        c.wait(pair.target, 'ACTIVE', timeout=120)
    if operation != 'suspend-resume':
        # a fresh boot: DHCP gives it the same address again
        c.wait_console(pair.target, f'MINOVA-TEST-IMAGE-IP {pair.ip}', count=ips + 1,
                       timeout=180)
    # the peer reaches it on that address, through its (same) port
    _wait_ping(pair, 'ok', timeout=120)
    assert {p['id'] for p in neutron.ports(device_id=pair.target)} == before
    assert neutron.wait_port(pair.port, 'ACTIVE')['binding:host_id'] == neutron.host
    if operation != 'suspend-resume':
        # the tap went and came back: Neutron said so and mini-Nova took it
        deadline = time.monotonic() + 30
        while _accepted_plugged(neutron, pair.target, pair.port) <= plugged:
            assert time.monotonic() < deadline, 'no network-vif-plugged accepted again'
            time.sleep(1)
    assert [a['addr'] for a in c.server(pair.target)['addresses'][NET]] == [pair.ip]


def test_floating_ip_associated_in_neutron_shows_in_addresses(
        pair: Pair, neutron: Neutron) -> None:
    c = pair.cloud
    ext = neutron.create_network('mn-public', **{'router:external': True})
    ext_sub = neutron.create_subnet(ext['id'], '100.64.77.0/24', enable_dhcp=False)
    router = neutron._create('router', {'name': 'mn-router',
                                        'external_gateway_info': {'network_id': ext['id']}})
    r = neutron.api('PUT', f'/routers/{router["id"]}/add_router_interface',
                    json={'subnet_id': pair.subnet['id']})
    assert r.status_code == 200, r.text
    fip: dict[str, Any] = {}
    try:
        fip = neutron._create('floatingip', {'floating_network_id': ext['id'],
                                             'port_id': pair.port})
        want = {'addr': fip['floating_ip_address'], 'OS-EXT-IPS:type': 'floating',
                'version': 4}
        deadline = time.monotonic() + 60
        addrs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            addrs = c.server(pair.target)['addresses'].get(NET, [])
            if any({k: a.get(k) for k in want} == want for a in addrs):
                break
            time.sleep(1)
        else:
            raise AssertionError(f'no floating IP in addresses: {addrs}')
        assert [a['addr'] for a in addrs if a['OS-EXT-IPS:type'] == 'fixed'] == [pair.ip]
        # and it goes again when Neutron disassociates it
        r = neutron.api('PUT', f'/floatingips/{fip["id"]}', json={'floatingip': {'port_id': None}})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 60
        while any(a['OS-EXT-IPS:type'] == 'floating'
                  for a in c.server(pair.target)['addresses'].get(NET, [])):
            assert time.monotonic() < deadline, 'the floating IP stays in addresses'
            time.sleep(1)
    finally:
        if fip:
            neutron.delete('floatingip', fip['id'])
        neutron.api('PUT', f'/routers/{router["id"]}/remove_router_interface',
                    json={'subnet_id': pair.subnet['id']})
        neutron.delete('router', router['id'])
        neutron.delete('subnet', ext_sub['id'])
        neutron.delete('network', ext['id'])


def test_no_port_left_after_delete(pair: Pair, neutron: Neutron) -> None:
    c = pair.cloud
    for uuid in (pair.target, pair.pinger):
        assert c.api('DELETE', f'/servers/{uuid}').status_code == 204
    for uuid in (pair.target, pair.pinger):
        c.wait_gone(uuid, timeout=120)
    assert [p for p in neutron.ports(network_id=pair.net['id'])
            if p['device_owner'].startswith('compute:')] == []
    taps = subprocess.run(['ovs-vsctl', 'list-ports', 'br-int'], capture_output=True,
                          text=True, check=True).stdout.split()
    assert f'tap{pair.port[:11]}' not in taps
    assert os.path.exists(neutron.info['log'])
