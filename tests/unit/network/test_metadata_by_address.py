"""The metadata service naming its guest by address through Neutron (the fake
Neutron behind the real client): [neutron] service_metadata_proxy = false
looks the source address (X-Forwarded-For, else the peer) up among the
ports' fixed IPs, narrowed by X-Neutron-Network-ID / X-Neutron-Router-ID;
service_metadata_proxy = true wants the signed X-Instance-ID as before."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from falcon import testing

from minova import exception
from minova.conf import CONF
from minova.metadata import wsgi
from tests.unit.network.fake_neutron import FakeNeutron

SECRET = 'by-address-secret'
VM1 = '6f0c2a57-8e43-4f6a-9d5e-0a1b2c3d4e51'
VM2 = '6f0c2a57-8e43-4f6a-9d5e-0a1b2c3d4e52'


def _instance(uuid: str, name: str) -> dict[str, Any]:
    return {'uuid': uuid, 'id': 1, 'display_name': name, 'hostname': name,
            'project_id': 'p1', 'cell_uuid': 'cell1', 'availability_zone': 'nova',
            'metadata': {}, 'system_metadata': {}, 'flavor': {'name': 'tiny'}}


class FakeComputeAPI:
    def __init__(self) -> None:
        self.instances = {VM1: _instance(VM1, 'vm1'), VM2: _instance(VM2, 'vm2')}

    def get(self, _ctx: Any, uuid: str) -> dict[str, Any]:
        if uuid not in self.instances:
            raise exception.InstanceNotFound(instance_id=uuid)
        return self.instances[uuid]


@pytest.fixture
def app(neutron: FakeNeutron, monkeypatch: pytest.MonkeyPatch) -> Iterator[testing.TestClient]:
    compute = FakeComputeAPI()
    monkeypatch.setattr(wsgi, '_compute_api', lambda: compute)
    monkeypatch.setattr(wsgi, '_ctx', lambda: None)
    CONF.set_override('metadata_proxy_shared_secret', SECRET, group='neutron')
    yield testing.TestClient(wsgi.make_falcon_app())
    CONF.clear_override('metadata_proxy_shared_secret', group='neutron')
    CONF.clear_override('service_metadata_proxy', group='neutron')


@pytest.fixture
def nets(neutron: FakeNeutron) -> dict[str, Any]:
    """Two networks with the same subnet: 10.0.0.2 is vm1's on the first and
    vm2's on the second; a router on the second."""
    n1 = neutron.add_network('n1')
    n2 = neutron.add_network('n2')
    p1 = neutron.add_port(n1['id'], device_id=VM1, device_owner='compute:nova')
    p2 = neutron.add_port(n2['id'], device_id=VM2, device_owner='compute:nova')
    # the fake hands out addresses across networks: overlap them by hand
    neutron.ports[p2['id']]['fixed_ips'][0]['ip_address'] = p1['fixed_ips'][0]['ip_address']
    neutron.add_port(n2['id'], device_id='router-1', device_owner='network:router_interface')
    lone = neutron.add_network('n3', cidr='10.3.0.0/24')
    p3 = neutron.add_port(lone['id'], device_id=VM1, device_owner='compute:nova')
    return {'n1': n1, 'n2': n2, 'ip': p1['fixed_ips'][0]['ip_address'],
            'lone_ip': p3['fixed_ips'][0]['ip_address']}


def _uuid(client: testing.TestClient, **headers: str) -> Any:
    r = client.simulate_get('/openstack/latest/meta_data.json', headers=headers)
    return r.status_code, (json.loads(r.text)['uuid'] if r.status_code == 200 else r.text)


def test_the_port_with_the_forwarded_address_names_the_instance(
        app: testing.TestClient, nets: dict[str, Any]) -> None:
    assert _uuid(app, **{'X-Forwarded-For': nets['lone_ip']}) == (200, VM1)
    # the first address of the list is the guest's (the others are proxies)
    assert _uuid(app, **{'X-Forwarded-For': f"{nets['lone_ip']}, 10.9.9.9"}) == (200, VM1)
    # EC2 layout too
    r = app.simulate_get('/latest/meta-data/hostname',
                         headers={'X-Forwarded-For': nets['lone_ip']})
    assert r.status_code == 200 and r.text == 'vm1'


def test_network_and_router_headers_tell_overlapping_addresses_apart(
        app: testing.TestClient, nets: dict[str, Any]) -> None:
    ip = nets['ip']
    assert _uuid(app, **{'X-Forwarded-For': ip,
                         'X-Neutron-Network-ID': nets['n1']['id']}) == (200, VM1)
    assert _uuid(app, **{'X-Forwarded-For': ip,
                         'X-Neutron-Network-ID': nets['n2']['id']}) == (200, VM2)
    assert _uuid(app, **{'X-Forwarded-For': ip, 'X-OVN-Network-ID': nets['n2']['id']}) == (
        200, VM2)
    assert _uuid(app, **{'X-Forwarded-For': ip, 'X-Neutron-Router-ID': 'router-1'}) == (
        200, VM2)
    # two ports hold it and nothing says which: no answer rather than a guess
    assert _uuid(app, **{'X-Forwarded-For': ip})[0] == 404
    # a router with no interface
    assert _uuid(app, **{'X-Forwarded-For': ip, 'X-Neutron-Router-ID': 'router-2'})[0] == 404


def test_unknown_address_is_404_and_signed_headers_are_ignored(
        app: testing.TestClient, nets: dict[str, Any]) -> None:
    assert _uuid(app, **{'X-Forwarded-For': '10.200.0.9'})[0] == 404
    # no X-Forwarded-For: the peer's own address (the test client's) holds no port
    assert _uuid(app)[0] == 404
    # X-Instance-ID without service_metadata_proxy is not believed, as Nova
    signed = {'X-Instance-ID': VM2, 'X-Instance-ID-Signature': wsgi.sign(VM2),
              'X-Tenant-ID': 'p1'}
    assert _uuid(app, **signed)[0] == 404
    assert _uuid(app, **signed, **{'X-Forwarded-For': nets['lone_ip']}) == (200, VM1)


def test_a_port_of_a_deleted_server_is_404(app: testing.TestClient, neutron: FakeNeutron,
                                           nets: dict[str, Any]) -> None:
    gone = neutron.add_port(nets['n1']['id'], device_id='0badc0de-0000-4000-8000-000000000000',
                            device_owner='compute:nova')
    assert _uuid(app, **{'X-Forwarded-For': gone['fixed_ips'][0]['ip_address']})[0] == 404


def test_neutron_down_is_500_with_novas_message(app: testing.TestClient, neutron: FakeNeutron,
                                                nets: dict[str, Any]) -> None:
    neutron.down = True
    status, text = _uuid(app, **{'X-Forwarded-For': nets['lone_ip']})
    assert status == 500 and 'Please try your request again.' in text


def test_service_metadata_proxy_wants_the_signed_headers(
        app: testing.TestClient, nets: dict[str, Any]) -> None:
    CONF.set_override('service_metadata_proxy', True, group='neutron')
    fwd = {'X-Forwarded-For': nets['lone_ip']}
    # the address alone names nobody: the headers are missing
    status, text = _uuid(app, **fwd)
    assert status == 400 and text == 'X-Instance-ID header is missing from request.'
    signed = {'X-Instance-ID': VM2, 'X-Instance-ID-Signature': wsgi.sign(VM2),
              'X-Tenant-ID': 'p1'}
    assert _uuid(app, **signed, **fwd) == (200, VM2)
    bad = dict(signed, **{'X-Instance-ID-Signature': wsgi.sign(VM1)})
    assert _uuid(app, **bad) == (403, 'Invalid proxy request signature.')
    assert _uuid(app, **dict(signed, **{'X-Tenant-ID': 'p2'}))[0] == 404
