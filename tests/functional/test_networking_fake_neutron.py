"""Servers networked by Neutron, through the whole all-in-one (fake driver) against
the in-memory fake Neutron of tests/unit/network: boot on networks and ports,
addresses and ips, os-interface, security groups, events, binding failures and
reschedules, and no port of ours left behind. (tests/integration/neutron runs
the same user-visible story against the real Neutron.)"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from minova.image.builtin import TINY_IMAGE_ID
from minova.network import neutron as neutron_client
from tests.functional.conftest import Client
from tests.unit.network.fake_neutron import FakeNeutron, serve

PROJECT = 'netproj'
SERVICE = {'X-Roles': 'admin,service'}   # Neutron's token: the service role


@pytest.fixture(scope='module')
def neutron(aio: AllInOne) -> Iterator[FakeNeutron]:
    import minova.conf
    minova.conf.register_client_opts()
    fake = FakeNeutron()
    url, stop = serve(fake)     # over HTTP: the real client, and clients via the catalog
    CONF.set_override('endpoint_override', url, group='neutron')
    CONF.set_override('http_retries', 0, group='neutron')
    neutron_client.set_client(None)
    yield fake
    stop()
    neutron_client.set_client(None)
    CONF.clear_override('endpoint_override', group='neutron')
    CONF.clear_override('http_retries', group='neutron')


@pytest.fixture(scope='module')
def user(api_base: str, neutron: FakeNeutron) -> Client:
    return Client(api_base, token=f'netuser:{PROJECT}')


@pytest.fixture(scope='module')
def net1(neutron: FakeNeutron) -> dict[str, Any]:
    return neutron.add_network('net1', project_id=PROJECT, cidr='192.0.2.0/24')


def _boot(client: Client, name: str, networks: Any, wait: str = 'ACTIVE',
          **extra: Any) -> dict[str, Any]:
    r = client.post('/servers', {'server': {'name': name, 'flavorRef': 'tiny',
                                            'imageRef': TINY_IMAGE_ID, 'networks': networks,
                                            **extra}})
    assert r.status_code == 202, r.text
    server = client.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == wait, server.get('fault')
    return server


def _delete(client: Client, server_id: str) -> None:
    assert client.delete(f'/servers/{server_id}').status_code == 204
    client.wait_gone(server_id)


def _error(r: Any, code: int) -> str:
    assert r.status_code == code, r.text
    return str(next(iter(r.json().values()))['message'])


def test_boot_on_a_network_shows_its_address(user: Client, neutron: FakeNeutron,
                                             net1: dict[str, Any], tiny_flavor: Any
                                             ) -> None:
    server = _boot(user, 'net-vm1', [{'uuid': net1['id']}])
    [port] = neutron.ports_of(server['id'])
    assert port['device_owner'] == 'compute:nova'
    assert port['binding:host_id'] == 'aio-host'
    ip = port['fixed_ips'][0]['ip_address']
    assert server['addresses'] == {'net1': [{
        'version': 4, 'addr': ip, 'OS-EXT-IPS:type': 'fixed',
        'OS-EXT-IPS-MAC:mac_addr': port['mac_address']}]}
    assert server['security_groups'] == [{'name': 'default'}]
    assert user.get(f"/servers/{server['id']}/ips").json() == {
        'addresses': {'net1': [{'version': 4, 'addr': ip}]}}
    assert user.get(f"/servers/{server['id']}/ips/net1").json() == {
        'net1': [{'version': 4, 'addr': ip}]}
    listed = user.get('/servers/detail').json()['servers']
    assert [s['security_groups'] for s in listed if s['id'] == server['id']] == [
        [{'name': 'default'}]]
    _delete(user, server['id'])
    assert neutron.ports_of(server['id']) == []


def test_one_network_of_the_project_is_used_when_none_is_named(
        user: Client, neutron: FakeNeutron, net1: dict[str, Any], tiny_flavor: Any) -> None:
    server = _boot(user, 'net-auto', 'auto')
    assert list(server['addresses']) == ['net1']
    _delete(user, server['id'])


def test_boot_errors_are_novas(user: Client, neutron: FakeNeutron, net1: dict[str, Any],
                               tiny_flavor: Any) -> None:
    def boot(networks: Any, version: str = 'latest', **extra: Any) -> Any:
        return user.post('/servers', {'server': {
            'name': 'net-bad', 'flavorRef': 'tiny', 'imageRef': TINY_IMAGE_ID,
            'networks': networks, **extra}},
            headers={'OpenStack-API-Version': f'compute {version}'})
    gone = '3cb9bc59-5699-4588-a4b1-b87f96708bc6'
    assert gone in _error(boot([{'uuid': gone}]), 400)
    assert 'could not be found' in _error(boot([{'port': gone}]), 400)
    used = neutron.add_port(net1['id'], project_id=PROJECT, device_id='someone')
    assert _error(boot([{'port': used['id']}]), 409) == \
        f"Port {used['id']} is still in use."
    assert 'was specified twice' in _error(
        boot([{'port': used['id']}, {'port': used['id']}]), 400)
    assert _error(boot([{'uuid': net1['id']}], security_groups=[{'name': 'nope'}]),
                  400) == 'Security group nope not found.'
    assert 'not in proper format' in _error(boot([{'uuid': 'net1'}], '2.36'), 400)
    # a tag is taken at 2.32-2.36 and from 2.42, not in between (as Nova)
    assert boot([{'uuid': net1['id'], 'tag': 't'}], '2.37').status_code == 400
    neutron.add_network('net2', project_id=PROJECT, cidr='198.51.100.0/24')
    try:
        assert 'Multiple possible networks' in _error(boot('auto'), 409)
    finally:
        neutron.networks = {k: v for k, v in neutron.networks.items()
                            if v['name'] != 'net2'}
    del neutron.ports[used['id']]


def test_port_interfaces_and_security_groups(user: Client, neutron: FakeNeutron,
                                             net1: dict[str, Any], tiny_flavor: Any
                                             ) -> None:
    web = neutron.add_security_group('web', PROJECT)
    mine = neutron.add_port(net1['id'], project_id=PROJECT)
    server = _boot(user, 'net-vm2', [{'port': mine['id']}])
    sid = server['id']
    assert neutron.ports[mine['id']]['device_id'] == sid
    listed = user.get(f'/servers/{sid}/os-interface').json()['interfaceAttachments']
    assert [(i['port_id'], i['net_id'], i['mac_addr']) for i in listed] == [
        (mine['id'], net1['id'], mine['mac_address'])]
    # attach one on the network, then detach it
    r = user.post(f'/servers/{sid}/os-interface',
                  {'interfaceAttachment': {'net_id': net1['id'],
                                           'fixed_ips': [{'ip_address': '192.0.2.200'}]}})
    assert r.status_code == 200, r.text
    attached = r.json()['interfaceAttachment']
    assert attached['fixed_ips'][0]['ip_address'] == '192.0.2.200'
    assert attached['port_state'] == 'DOWN' and attached['tag'] is None
    server = user.get(f'/servers/{sid}').json()['server']
    assert sorted(a['addr'] for a in server['addresses']['net1']) == [
        mine['fixed_ips'][0]['ip_address'], '192.0.2.200']
    shown = user.get(f"/servers/{sid}/os-interface/{attached['port_id']}").json()
    assert shown['interfaceAttachment']['port_id'] == attached['port_id']
    assert _error(user.get(f"/servers/{sid}/os-interface/{'0' * 8}-0000-0000-0000-"
                           f"{'0' * 12}"), 404)
    # errors of attach
    assert _error(user.post(f'/servers/{sid}/os-interface', {'interfaceAttachment': {
        'net_id': net1['id'], 'port_id': mine['id']}}), 400) == \
        'Must not input both network_id and port_id'
    assert 'already in use' in _error(user.post(
        f'/servers/{sid}/os-interface', {'interfaceAttachment': {
            'net_id': net1['id'], 'fixed_ips': [{'ip_address': '192.0.2.200'}]}}), 409)
    assert user.delete(f"/servers/{sid}/os-interface/{attached['port_id']}"
                       ).status_code == 202
    _wait(lambda: attached['port_id'] not in neutron.ports)
    _wait(lambda: len(user.get(f'/servers/{sid}').json()['server']['addresses']['net1'])
          == 1)
    # security groups through Neutron
    assert user.post(f'/servers/{sid}/action',
                     {'addSecurityGroup': {'name': 'web'}}).status_code == 202
    assert neutron.ports[mine['id']]['security_groups'][-1] == web['id']
    server = user.get(f'/servers/{sid}').json()['server']
    assert server['security_groups'] == [{'name': 'default'}, {'name': 'web'}]
    assert _error(user.post(f'/servers/{sid}/action',
                            {'addSecurityGroup': {'name': 'nope'}}), 404) == \
        f'Security group nope is not found for project {PROJECT}'
    assert user.post(f'/servers/{sid}/action',
                     {'removeSecurityGroup': {'name': 'web'}}).status_code == 202
    assert 'not associated' in _error(user.post(
        f'/servers/{sid}/action', {'removeSecurityGroup': {'name': 'web'}}), 404)
    assert _error(user.post(f'/servers/{sid}/action',
                            {'addSecurityGroup': {'name': ' '}}), 400) == \
        'Security group name cannot be empty'
    actions = [a['action'] for a in
               user.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']]
    assert 'attach_interface' in actions and 'detach_interface' in actions
    # delete: the user's port stays, unbound
    _delete(user, sid)
    assert neutron.ports_of(sid) == []
    kept = neutron.ports[mine['id']]
    assert kept['device_id'] == '' and kept['binding:host_id'] == ''


def _wait(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, 'condition never held'
        time.sleep(0.05)


def test_events_refresh_and_drop_vifs(admin: Client, user: Client, neutron: FakeNeutron,
                                      net1: dict[str, Any], tiny_flavor: Any) -> None:
    server = _boot(user, 'net-vm3', [{'uuid': net1['id']}, {'uuid': net1['id']}])
    sid = server['id']
    ports = neutron.ports_of(sid)
    assert len(ports) == 2
    fixed = ports[0]['fixed_ips'][0]['ip_address']
    neutron.floatingips['fip'] = {'id': 'fip', 'port_id': ports[0]['id'],
                                  'fixed_ip_address': fixed,
                                  'floating_ip_address': '203.0.113.7'}
    r = admin.post('/os-server-external-events', {'events': [
        {'name': 'network-changed', 'server_uuid': sid, 'tag': ports[0]['id']},
        {'name': 'network-vif-plugged', 'server_uuid': sid, 'tag': ports[0]['id']},
        {'name': 'network-vif-plugged', 'server_uuid': sid, 'tag': ports[0]['id']}]},
        headers=SERVICE)
    assert r.status_code == 200, r.text

    def floating() -> list[str]:
        addrs = user.get(f'/servers/{sid}').json()['server']['addresses']['net1']
        return [a['addr'] for a in addrs if a['OS-EXT-IPS:type'] == 'floating']
    _wait(lambda: floating() == ['203.0.113.7'])
    del neutron.floatingips['fip']
    del neutron.ports[ports[1]['id']]
    r = admin.post('/os-server-external-events', {'events': [
        {'name': 'network-vif-deleted', 'server_uuid': sid, 'tag': ports[1]['id']}]},
        headers=SERVICE)
    assert r.status_code == 200, r.text
    _wait(lambda: len(user.get(f'/servers/{sid}/ips').json()['addresses']['net1']) == 2)
    _delete(user, sid)
    assert neutron.ports_of(sid) == []


def test_binding_failure_fails_the_build_and_releases_the_ports(
        user: Client, neutron: FakeNeutron, net1: dict[str, Any], tiny_flavor: Any) -> None:
    mine = neutron.add_port(net1['id'], project_id=PROJECT)
    neutron.fail_binding_hosts.add('aio-host')
    try:
        server = _boot(user, 'net-vm4', [{'uuid': net1['id']}, {'port': mine['id']}],
                       wait='ERROR')
    finally:
        neutron.fail_binding_hosts.clear()
    assert 'Binding failed for port' in server['fault']['message']
    assert neutron.ports_of(server['id']) == []
    assert neutron.ports[mine['id']]['device_id'] == ''
    _delete(user, server['id'])
    del neutron.ports[mine['id']]


def test_binding_failure_reschedules_to_another_host(
        user: Client, neutron: FakeNeutron, net1: dict[str, Any], tiny_flavor: Any,
        second_compute: str) -> None:
    # One host cannot bind: every server ends on the other, its ports bound there
    # and none left on the failed host.
    neutron.fail_binding_hosts.add('aio-host')
    try:
        servers = [_boot(user, f'net-resched-{i}', [{'uuid': net1['id']}])
                   for i in range(3)]
    finally:
        neutron.fail_binding_hosts.clear()
    for server in servers:
        [port] = neutron.ports_of(server['id'])
        assert port['binding:host_id'] == second_compute
    for server in servers:
        _delete(user, server['id'])
    assert not [p for p in neutron.ports.values() if p['device_id']]


def test_resize_moves_the_port_binding_and_revert_brings_it_back(
        admin: Client, user: Client, neutron: FakeNeutron, net1: dict[str, Any],
        tiny_flavor: Any, second_compute: str) -> None:
    r = admin.post('/flavors', {'flavor': {'name': 'net-small', 'id': 'net-small',
                                           'vcpus': 2, 'ram': 64, 'disk': 1}})
    assert r.status_code == 200, r.text
    server = _boot(user, 'net-resize', [{'uuid': net1['id']}])
    sid = server['id']
    [port] = neutron.ports_of(sid)
    source = port['binding:host_id']
    assert user.post(f'/servers/{sid}/action',
                     {'resize': {'flavorRef': 'net-small'}}).status_code == 202
    assert user.wait_for_status(sid, {'VERIFY_RESIZE', 'ERROR'})['status'] == \
        'VERIFY_RESIZE'
    dest = admin.get(f'/servers/{sid}').json()['server']['OS-EXT-SRV-ATTR:host']
    assert dest != source
    assert neutron.ports[port['id']]['binding:host_id'] == dest
    assert user.post(f'/servers/{sid}/action', {'revertResize': None}).status_code == 202
    assert user.wait_for_status(sid, {'ACTIVE', 'ERROR'})['status'] == 'ACTIVE'
    _wait(lambda: neutron.ports[port['id']]['binding:host_id'] == source)
    assert list(user.get(f'/servers/{sid}').json()['server']['addresses']) == ['net1']
    _delete(user, sid)
    assert admin.delete('/flavors/net-small').status_code == 202


def test_openstacksdk_create_server_wait_succeeds(aio: AllInOne, neutron: FakeNeutron,
                                                  net1: dict[str, Any], tiny_flavor: Any
                                                  ) -> None:
    # openstacksdk deletes a server that has no address once ACTIVE and raises:
    # with Neutron the server has one.
    openstack = pytest.importorskip('openstack')
    conn = openstack.connection.Connection(
        auth={'auth_url': f'http://127.0.0.1:{aio.api_port}/identity/v3',
              'username': 'netuser', 'password': 'x', 'project_name': PROJECT,
              'user_domain_name': 'Default', 'project_domain_name': 'Default'},
        compute_api_version='2.latest')
    server = conn.create_server('net-sdk', image=TINY_IMAGE_ID, flavor='tiny',
                                nics=[{'net-id': net1['id']}], wait=True, timeout=60,
                                auto_ip=False)
    try:
        assert server.status == 'ACTIVE'
        assert server.addresses['net1'][0]['addr'].startswith('192.0.2.')
    finally:
        conn.delete_server(server.id, wait=True, timeout=60)
    assert neutron.ports_of(server.id) == []


def test_openstack_cli_server_create_network_wait(
        aio: AllInOne, neutron: FakeNeutron, net1: dict[str, Any], tiny_flavor: Any,
        tmp_path: Any) -> None:
    import shutil
    if not shutil.which('openstack'):
        pytest.skip('python-openstackclient is not installed')
    from tests.functional.test_clients import _env, _osc, _run
    env = _env(aio, tmp_path, user='netuser', project=PROJECT)
    server = _osc(env, 'server', 'create', '--flavor', 'tiny', '--image', TINY_IMAGE_ID,
                  '--network', 'net1', '--wait', 'net-osc')
    try:
        assert server['status'] == 'ACTIVE'
        addresses = server['addresses']
        assert 'net1' in str(addresses) and '192.0.2.' in str(addresses)
        web = neutron.add_security_group('osc-web', PROJECT)
        _run(env, 'openstack', 'server', 'add', 'security', 'group', 'net-osc', 'osc-web')
        assert web['id'] in neutron.ports_of(server['id'])[0]['security_groups']
        _run(env, 'openstack', 'server', 'remove', 'security', 'group', 'net-osc',
             'osc-web')
        assert web['id'] not in neutron.ports_of(server['id'])[0]['security_groups']
    finally:
        _run(env, 'openstack', 'server', 'delete', '--wait', server['id'])
    assert neutron.ports_of(server['id']) == []


def test_os_networks_proxy_lists_neutron_networks(user: Client, neutron: FakeNeutron,
                                                  net1: dict[str, Any]) -> None:
    old = {'OpenStack-API-Version': 'compute 2.35'}
    nets = user.get('/os-networks', headers=old).json()['networks']
    assert [(n['id'], n['label'], n['cidr']) for n in nets] == [(net1['id'], 'net1', None)]
    assert 'project_id' not in nets[0]          # an admin-only field
    shown = user.get(f"/os-networks/{net1['id']}", headers=old).json()['network']
    assert shown['label'] == 'net1'
    other = neutron.add_network('theirs', project_id='someone-else', cidr='10.8.0.0/24')
    assert user.get(f"/os-networks/{other['id']}", headers=old).status_code == 404
    assert user.get('/os-networks').status_code == 404      # gone at 2.36


def test_delete_while_neutron_fails_is_an_error_and_can_be_retried(
        user: Client, neutron: FakeNeutron, net1: dict[str, Any], tiny_flavor: Any) -> None:
    server = _boot(user, 'net-del', [{'uuid': net1['id']}])
    sid = server['id']
    neutron.down = True
    try:
        assert user.delete(f'/servers/{sid}').status_code == 204
        failed = user.wait_for_status(sid, {'ERROR'})
    finally:
        neutron.down = False
    assert failed['fault']['code'] == 500
    assert len(neutron.ports_of(sid)) == 1          # still there: nothing leaked unseen
    _delete(user, sid)
    assert neutron.ports_of(sid) == []


def test_task_state_networking_while_ports_are_made(
        admin: Client, user: Client, neutron: FakeNeutron, net1: dict[str, Any],
        tiny_flavor: Any) -> None:
    neutron.port_create_delay = 1.0
    try:
        r = user.post('/servers', {'server': {'name': 'net-slow', 'flavorRef': 'tiny',
                                              'imageRef': TINY_IMAGE_ID,
                                              'networks': [{'uuid': net1['id']}]}})
        assert r.status_code == 202, r.text
        sid = r.json()['server']['id']
        seen: set[Any] = set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            server = user.get(f'/servers/{sid}').json()['server']
            seen.add(server['OS-EXT-STS:task_state'])
            if server['status'] in ('ACTIVE', 'ERROR'):
                break
            time.sleep(0.05)
    finally:
        neutron.port_create_delay = 0.0
    assert server['status'] == 'ACTIVE' and 'networking' in seen
    [action] = user.get(f'/servers/{sid}/os-instance-actions').json()['instanceActions']
    events = admin.get(f"/servers/{sid}/os-instance-actions/{action['request_id']}"
                       ).json()['instanceAction']['events']
    assert [(e['event'], e['result']) for e in events
            if e['event'] == 'compute_build_and_run_instance'] == [
        ('compute_build_and_run_instance', 'Success')]
    _delete(user, sid)
