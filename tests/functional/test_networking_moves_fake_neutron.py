"""The all-in-one against the fake Neutron (tests/unit/network/fake_neutron.py),
two hosts: a server's ports follow it (binding:host_id) on live migration,
evacuate and unshelve; and floating IPs through Nova's API (addFloatingIp /
removeFloatingIp up to 2.43, the os-floating-ips proxy up to 2.35), shown in
the server's addresses."""
from __future__ import annotations

from typing import Any

import pytest

from minova.image.builtin import TINY_IMAGE_ID
from tests.functional.conftest import Client, compute_service
from tests.functional.test_networking_fake_neutron import (  # noqa: F401 - fixtures
    _boot,
    _delete,
    _error,
    _wait,
    net1,
    neutron,
    user,
)
from tests.unit.network.fake_neutron import FakeNeutron

SVC = {'OpenStack-API-Version': 'compute 2.53'}
P = {'OpenStack-API-Version': 'compute 2.35'}    # the os-floating-ips proxy's last


def _v(version: str) -> dict[str, str]:
    return {'OpenStack-API-Version': f'compute {version}'}


def _host(admin: Client, sid: str) -> str:
    return str(admin.get(f'/servers/{sid}').json()['server']['OS-EXT-SRV-ATTR:host'])


def _on(admin: Client, name: str, net: dict[str, Any], host: str) -> dict[str, Any]:
    """A server of admin's on net, on host (2.74)."""
    r = admin.post('/servers', {'server': {
        'name': name, 'flavorRef': 'tiny', 'imageRef': TINY_IMAGE_ID, 'host': host,
        'networks': [{'uuid': net['id']}]}}, headers=_v('2.74'))
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE', server.get('fault')
    return server


def _binding(fake: FakeNeutron, sid: str) -> list[str]:
    return [p['binding:host_id'] for p in fake.ports_of(sid)]


@pytest.fixture(scope='module')
def shared_net(neutron: FakeNeutron) -> dict[str, Any]:  # noqa: F811
    """A network admin's servers may use (they are admin's, not PROJECT's)."""
    return neutron.add_network('movenet', project_id='admin', cidr='192.0.2.128/25',
                               shared=True)


def test_live_migration_moves_the_port_binding(
        aio: Any, admin: Client, neutron: FakeNeutron, shared_net: dict[str, Any],  # noqa: F811
        tiny_flavor: Any, second_compute: str) -> None:
    server = _on(admin, 'mv-live', shared_net, aio.host)
    sid = server['id']
    assert _binding(neutron, sid) == [aio.host]
    r = admin.post(f'/servers/{sid}/action', {'os-migrateLive': {
        'host': second_compute, 'block_migration': 'auto'}})
    assert r.status_code == 202, r.text
    _wait(lambda: _host(admin, sid) == second_compute
          and admin.get(f'/servers/{sid}').json()['server']['status'] == 'ACTIVE')
    _wait(lambda: _binding(neutron, sid) == [second_compute])
    addrs = admin.get(f'/servers/{sid}').json()['server']['addresses']
    assert list(addrs) == ['movenet']
    _delete(admin, sid)
    assert neutron.ports_of(sid) == []


def test_unshelve_binds_the_ports_to_the_new_host(
        aio: Any, admin: Client, neutron: FakeNeutron, shared_net: dict[str, Any],  # noqa: F811
        tiny_flavor: Any, second_compute: str) -> None:
    server = _on(admin, 'mv-shelve', shared_net, aio.host)
    sid = server['id']
    assert admin.post(f'/servers/{sid}/action', {'shelve': None}).status_code == 202
    _wait(lambda: admin.get(f'/servers/{sid}').json()['server']['status']
          in ('SHELVED', 'SHELVED_OFFLOADED'))
    if admin.get(f'/servers/{sid}').json()['server']['status'] == 'SHELVED':
        assert admin.post(f'/servers/{sid}/action',
                          {'shelveOffload': None}).status_code == 202
    _wait(lambda: admin.get(f'/servers/{sid}').json()['server']['status']
          == 'SHELVED_OFFLOADED' and _host(admin, sid) in ('', 'None'))
    # offloaded: the ports stay the server's
    assert len(neutron.ports_of(sid)) == 1
    r = admin.post(f'/servers/{sid}/action', {'unshelve': {'host': second_compute}},
                   headers=_v('2.91'))
    assert r.status_code == 202, r.text
    assert admin.wait_for_status(sid, {'ACTIVE', 'ERROR'})['status'] == 'ACTIVE'
    assert _host(admin, sid) == second_compute
    assert _binding(neutron, sid) == [second_compute]
    _delete(admin, sid)


def test_evacuate_binds_the_ports_to_the_new_host(
        aio: Any, admin: Client, neutron: FakeNeutron, shared_net: dict[str, Any],  # noqa: F811
        tiny_flavor: Any, second_compute: str) -> None:
    server = _on(admin, 'mv-evac', shared_net, second_compute)
    sid = server['id']
    assert _binding(neutron, sid) == [second_compute]
    service = compute_service(aio, second_compute)
    sid_svc = admin.get(f'/os-services?host={second_compute}&binary=nova-compute',
                        headers=SVC).json()['services'][0]['id']
    aio.remove_compute(service)
    try:
        r = admin.put(f'/os-services/{sid_svc}', {'forced_down': True}, headers=SVC)
        assert r.status_code == 200, r.text
        r = admin.post(f'/servers/{sid}/action', {'evacuate': {'host': aio.host}},
                       headers=_v('2.29'))
        assert r.status_code == 200, r.text
        after = admin.wait_for_status(sid, {'ACTIVE', 'ERROR'})
        assert after['status'] == 'ACTIVE', after.get('fault')
        assert _host(admin, sid) == aio.host
        assert _binding(neutron, sid) == [aio.host]
    finally:
        aio.add_compute(second_compute, manager=service.manager)
        admin.put(f'/os-services/{sid_svc}', {'forced_down': False}, headers=SVC)
        admin.delete(f'/servers/{sid}')
    admin.wait_gone(sid)
    assert neutron.ports_of(sid) == []


# -- floating IPs --------------------------------------------------------------------


def _floating(user: Client, sid: str) -> list[str]:  # noqa: F811
    addrs = user.get(f'/servers/{sid}').json()['server']['addresses']
    return [a['addr'] for net in addrs.values() for a in net
            if a['OS-EXT-IPS:type'] == 'floating']


def test_floating_ip_proxy_and_server_actions(user: Client, neutron: FakeNeutron,  # noqa: F811
                                              net1: dict[str, Any],  # noqa: F811
                                              tiny_flavor: Any) -> None:
    public = neutron.add_network('public', project_id='admin', cidr='198.18.0.0/29',
                                 external=True)
    # no pool named: [neutron] default_floating_pool ('nova'), which is not there
    assert _error(user.post('/os-floating-ips', None, headers=P), 404) == \
        'Floating IP pool not found.'
    r = user.post('/os-floating-ips', {'pool': 'public'}, headers=P)
    assert r.status_code == 200, r.text
    fip = r.json()['floating_ip']
    assert fip['pool'] == 'public' and fip['fixed_ip'] is None and fip['instance_id'] is None
    assert fip in user.get('/os-floating-ips', headers=P).json()['floating_ips']
    assert user.get(f'/os-floating-ips/{fip["id"]}', headers=P).json()['floating_ip'] == fip
    assert _error(user.get('/os-floating-ips/nope', headers=P), 404) == \
        'Floating IP not found for ID nope'
    # the proxy is gone from 2.36, the actions from 2.44
    assert user.get('/os-floating-ips', headers=_v('2.36')).status_code == 404

    server = _boot(user, 'fip-vm', [{'uuid': net1['id']}])
    other = _boot(user, 'fip-other', [{'uuid': net1['id']}])
    sid = server['id']
    fixed = neutron.ports_of(sid)[0]['fixed_ips'][0]['ip_address']

    def act(name: str, body: dict[str, Any], version: str = '2.43') -> Any:
        return user.post(f'/servers/{sid}/action', {name: body}, headers=_v(version))
    assert act('addFloatingIp', {'address': fip['ip']}, '2.44').status_code == 404
    assert act('addFloatingIp', {'address': 'not-an-ip'}).status_code == 400
    assert act('addFloatingIp', {'address': fip['ip'], 'extra': 1}).status_code == 400
    assert _error(act('addFloatingIp', {'address': fip['ip'], 'fixed_address': '10.9.9.9'}),
                  400) == 'Specified fixed address not assigned to instance'
    assert _error(act('addFloatingIp', {'address': '198.18.0.99'}), 404) == \
        'floating IP not found'
    r = act('addFloatingIp', {'address': fip['ip']})
    assert r.status_code == 202, r.text
    _wait(lambda: _floating(user, sid) == [fip['ip']])
    shown = user.get(f'/os-floating-ips/{fip["id"]}', headers=P).json()['floating_ip']
    assert (shown['instance_id'], shown['fixed_ip']) == (sid, fixed)

    # not on the other server: 409; an unknown address: 404
    r = user.post(f'/servers/{other["id"]}/action',
                  {'removeFloatingIp': {'address': fip['ip']}}, headers=_v('2.43'))
    assert _error(r, 409) == (f'Floating IP {fip["ip"]} is not associated with instance '
                              f'{other["id"]}.')
    assert act('removeFloatingIp', {'address': '198.18.0.99'}).status_code == 404
    assert act('removeFloatingIp', {'address': fip['ip']}).status_code == 202
    _wait(lambda: _floating(user, sid) == [])
    assert neutron.floatingips[fip['id']]['port_id'] is None

    # deleting one in use disassociates it first
    assert act('addFloatingIp', {'address': fip['ip'], 'fixed_address': fixed}).status_code \
        == 202
    _wait(lambda: _floating(user, sid) == [fip['ip']])
    assert user.delete(f'/os-floating-ips/{fip["id"]}', headers=P).status_code == 202
    assert fip['id'] not in neutron.floatingips
    _wait(lambda: _floating(user, sid) == [])
    assert user.delete(f'/os-floating-ips/{fip["id"]}', headers=P).status_code == 404

    # an exhausted pool: Nova's 404
    made = [user.post('/os-floating-ips', {'pool': 'public'}, headers=P) for _ in range(6)]
    assert [r.status_code for r in made][-1] == 404
    assert _error(made[-1], 404) == 'No more floating IPs in pool public.'
    # over the project's quota: Nova's 403
    neutron.floatingip_quota = 1
    try:
        assert _error(user.post('/os-floating-ips', {'pool': 'public'}, headers=P), 403) == \
            'IP allocation over quota in pool public.'
    finally:
        neutron.floatingip_quota = None
    for r in made:
        if r.status_code == 200:
            user.delete(f"/os-floating-ips/{r.json()['floating_ip']['id']}", headers=P)
    for s in (server, other):
        _delete(user, s['id'])
    del neutron.networks[public['id']]
