"""A server's ports follow it to another host in the real Neutron (ML2/OVN):
live migration, evacuate and unshelve re-bind `binding:host_id`, and ML2/OVN
binds the port there (`binding:vif_type` ovs, not binding_failed).

ML2/OVN binds a port only to a host whose OVN chassis it knows and believes
alive, so the second compute host gets a chassis of its own (chassis.py: no
ovn-controller runs for it), so nothing is plugged
there: the computes use the fake driver, in this process (the in-memory bus
joins the two computes), against the session's Neutron.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from minova.image.builtin import TINY_IMAGE_ID
from tests.integration.neutron.chassis import Chassis
from tests.integration.neutron.conftest import Neutron

SVC = {'OpenStack-API-Version': 'compute 2.53'}


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.s = requests.Session()
        self.s.headers.update({'X-Auth-Token': 'admin:admin',
                               'OpenStack-API-Version': 'compute latest'})

    def __call__(self, method: str, path: str, body: Any = None,
                 version: str | None = None) -> requests.Response:
        headers = {'OpenStack-API-Version': f'compute {version}'} if version else {}
        return self.s.request(method, self.base + path, json=body, headers=headers,
                              timeout=30)

    def server(self, sid: str) -> dict[str, Any]:
        r = self('GET', f'/servers/{sid}')
        assert r.status_code == 200, r.text
        return dict(r.json()['server'])

    def wait(self, sid: str, check: Any, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        server = self.server(sid)
        while not check(server):
            assert server['status'] != 'ERROR', server.get('fault')
            assert time.monotonic() < deadline, server
            time.sleep(0.2)
            server = self.server(sid)
        return server


@pytest.fixture(scope='module')
def two_hosts(neutron: Neutron, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Any, Api, str, str]]:
    """The all-in-one (fake driver) in this process as the chassis' host, and a
    second compute as a second chassis."""
    import minova.conf
    from minova import rpc
    from minova.cells import lookup
    from minova.cmd.all_in_one import AllInOne
    from minova.conf import CONF
    from minova.db import engines
    from minova.network import neutron as neutron_client
    minova.conf.register_client_opts()
    overrides = [('state_path', str(tmp_path_factory.mktemp('moves')), None),
                 ('host', neutron.host, None), ('report_interval', 1, None),
                 ('compute_driver', 'fake.FakeDriver', None),
                 ('endpoint_override', neutron.url, 'neutron'),
                 ('auth_type', 'none', 'neutron'), ('http_retries', 0, 'neutron')]
    for name, value, group in overrides:
        CONF.set_override(name, value, group=group)
    neutron_client.set_client(None)
    aio = AllInOne(api_port=0, placement_port=0)
    second = f'{neutron.host}-b'
    chassis = None
    try:
        aio.start()
        chassis = Chassis(neutron.info, neutron.host, second)
        aio.add_compute(second)
        api = Api(f'http://127.0.0.1:{aio.api_port}/v2.1')
        deadline = time.monotonic() + 30
        while len(api('GET', '/os-hypervisors').json()['hypervisors']) < 2:
            assert time.monotonic() < deadline, 'the second compute never reported'
            time.sleep(0.2)
        r = api('POST', '/flavors', {'flavor': {'name': 'mv', 'id': 'mv', 'vcpus': 1,
                                                'ram': 64, 'disk': 1}})
        assert r.status_code == 200, r.text
        yield aio, api, neutron.host, second
    finally:
        aio.stop()
        rpc.cleanup()
        engines.dispose_all()
        lookup.reset()
        if chassis:
            chassis.remove()
        for name, _value, group in overrides:
            CONF.clear_override(name, group=group)
        neutron_client.set_client(None)


@pytest.fixture(scope='module')
def net(neutron: Neutron, two_hosts: Any) -> Iterator[dict[str, Any]]:
    network = neutron.create_network('mv-net', project_id='admin')
    neutron.create_subnet(network['id'], '10.214.0.0/24', project_id='admin')
    try:
        yield network
    finally:
        for port in neutron.ports(network_id=network['id']):
            if port['device_owner'].startswith('compute:'):
                neutron.delete('port', port['id'])
        neutron.cleanup()


def _boot(api: Api, name: str, net: dict[str, Any], host: str) -> str:
    r = api('POST', '/servers', {'server': {
        'name': name, 'flavorRef': 'mv', 'imageRef': TINY_IMAGE_ID, 'host': host,
        'networks': [{'uuid': net['id']}]}}, version='2.74')
    assert r.status_code == 202, r.text
    sid = str(r.json()['server']['id'])
    api.wait(sid, lambda s: s['status'] == 'ACTIVE')
    return sid


def _bound(neutron: Neutron, sid: str, host: str) -> None:
    """The server's one port bound to host by ML2/OVN."""
    deadline = time.monotonic() + 30
    while True:
        (port,) = neutron.ports(device_id=sid)
        if port['binding:host_id'] == host or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert port['binding:host_id'] == host
    assert port['binding:vif_type'] == 'ovs', port['binding:vif_type']


def _delete(api: Api, neutron: Neutron, sid: str) -> None:
    assert api('DELETE', f'/servers/{sid}').status_code == 204
    deadline = time.monotonic() + 30
    while api('GET', f'/servers/{sid}').status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert neutron.ports(device_id=sid) == []


def test_live_migration_rebinds_the_port(two_hosts: Any, net: dict[str, Any],
                                         neutron: Neutron) -> None:
    _aio, api, first, second = two_hosts
    sid = _boot(api, 'mv-live', net, first)
    _bound(neutron, sid, first)
    r = api('POST', f'/servers/{sid}/action',
            {'os-migrateLive': {'host': second, 'block_migration': 'auto'}})
    assert r.status_code == 202, r.text
    api.wait(sid, lambda s: s['OS-EXT-SRV-ATTR:host'] == second and s['status'] == 'ACTIVE'
             and s['OS-EXT-STS:task_state'] is None)
    _bound(neutron, sid, second)
    _delete(api, neutron, sid)


def test_unshelve_rebinds_the_port(two_hosts: Any, net: dict[str, Any],
                                   neutron: Neutron) -> None:
    _aio, api, first, second = two_hosts
    sid = _boot(api, 'mv-shelve', net, first)
    assert api('POST', f'/servers/{sid}/action', {'shelve': None}).status_code == 202
    server = api.wait(sid, lambda s: s['status'] in ('SHELVED', 'SHELVED_OFFLOADED'))
    if server['status'] == 'SHELVED':
        assert api('POST', f'/servers/{sid}/action', {'shelveOffload': None}).status_code \
            == 202
    api.wait(sid, lambda s: s['status'] == 'SHELVED_OFFLOADED')
    r = api('POST', f'/servers/{sid}/action', {'unshelve': {'host': second}}, version='2.91')
    assert r.status_code == 202, r.text
    api.wait(sid, lambda s: s['status'] == 'ACTIVE')
    _bound(neutron, sid, second)
    _delete(api, neutron, sid)


def test_evacuate_rebinds_the_port(two_hosts: Any, net: dict[str, Any],
                                   neutron: Neutron) -> None:
    aio, api, first, second = two_hosts
    sid = _boot(api, 'mv-evac', net, second)
    _bound(neutron, sid, second)
    service = next(s for s in aio.services if s.host == second
                   and s.binary == 'minova-compute')
    svc_id = api('GET', f'/os-services?host={second}&binary=nova-compute',
                 version='2.53').json()['services'][0]['id']
    aio.remove_compute(service)
    try:
        r = api('PUT', f'/os-services/{svc_id}', {'forced_down': True}, version='2.53')
        assert r.status_code == 200, r.text
        r = api('POST', f'/servers/{sid}/action', {'evacuate': {'host': first}},
                version='2.29')
        assert r.status_code == 200, r.text
        api.wait(sid, lambda s: s['status'] == 'ACTIVE' and s['OS-EXT-SRV-ATTR:host'] == first
                 and s['OS-EXT-STS:task_state'] is None)
        _bound(neutron, sid, first)
    finally:
        aio.add_compute(second, manager=service.manager)
        api('PUT', f'/os-services/{svc_id}', {'forced_down': False}, version='2.53')
    _delete(api, neutron, sid)
