"""/servers/{id}/ips[/{label}] and /servers/{id}/diagnostics."""
from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.conftest import FakeComputeAPI

NW_INFO = [
    {'address': 'fa:16:3e:00:00:01', 'network': {'label': 'private', 'subnets': [
        {'ips': [{'address': '10.0.0.5', 'version': 4,
                  'floating_ips': [{'address': '172.24.4.10', 'version': 4}]}]},
        {'ips': [{'address': 'fd00::5', 'version': 6}]}]}},
    {'address': 'fa:16:3e:00:00:02', 'network': {'label': 'private', 'subnets': [
        {'ips': [{'address': '10.0.0.6', 'version': 4}]}]}},
    {'address': 'fa:16:3e:00:00:03', 'network': {'label': 'user-mode', 'subnets': []}},
]


def test_ips_index_and_show(user: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add(network_info=NW_INFO)
    r = user.get(f"/servers/{inst['uuid']}/ips")
    assert r.status_code == 200, r.text
    # per label: every fixed address, then the floating ones (Nova's order)
    private = [{'version': 4, 'addr': '10.0.0.5'}, {'version': 6, 'addr': 'fd00::5'},
               {'version': 4, 'addr': '10.0.0.6'}, {'version': 4, 'addr': '172.24.4.10'}]
    assert r.json == {'addresses': {'private': private, 'user-mode': []}}
    r = user.get(f"/servers/{inst['uuid']}/ips/private")
    assert r.json == {'private': private}
    r = user.get(f"/servers/{inst['uuid']}/ips/public")
    assert r.status_code == 404
    assert r.json == {'itemNotFound': {
        'code': 404, 'message': 'Instance is not a member of specified network'}}
    # the server view shows the same addresses with type and MAC
    shown = user.get(f"/servers/{inst['uuid']}").json['server']['addresses']
    assert [a['addr'] for a in shown['private']] == [a['addr'] for a in private]
    assert shown['private'][3] == {'version': 4, 'addr': '172.24.4.10',
                                   'OS-EXT-IPS:type': 'floating',
                                   'OS-EXT-IPS-MAC:mac_addr': 'fa:16:3e:00:00:01'}


def test_ips_of_a_missing_or_foreign_server(user: Any, other: Any,
                                            compute: FakeComputeAPI) -> None:
    inst = compute.add()
    for path in ('ips', 'ips/private'):
        r = other.get(f"/servers/{inst['uuid']}/{path}")
        assert r.status_code == 404
        assert r.json['itemNotFound']['message'] == \
            f"Instance {inst['uuid']} could not be found."
    assert user.get(f"/servers/{inst['uuid']}/ips").json == {'addresses': {}}
    assert user.get(f"/servers/{inst['uuid']}/ips?x=1", version='2.101').status_code == 200
    assert user.get(f"/servers/{inst['uuid']}/ips?x=1", version='2.102').status_code == 400


def test_diagnostics_v248(admin: Any, user: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    r = admin.get(f"/servers/{inst['uuid']}/diagnostics", version='2.48')
    assert r.status_code == 200, r.text
    d = r.json
    assert set(d) == {'state', 'driver', 'hypervisor', 'hypervisor_os', 'uptime',
                      'config_drive', 'num_cpus', 'num_nics', 'num_disks', 'cpu_details',
                      'nic_details', 'disk_details', 'memory_details'}
    # Nova's fake driver values (the API's driver enum has no 'fake')
    assert d['state'] == 'running' and d['driver'] == 'libvirt' and d['config_drive'] is True
    assert d['memory_details'] == {'maximum': 524288, 'used': 0}
    assert d['cpu_details'] == [{'id': 0, 'time': 17300000000, 'utilisation': 15}]
    assert user.get(f"/servers/{inst['uuid']}/diagnostics").status_code == 403


def test_diagnostics_before_248_is_the_drivers_dict(admin: Any,
                                                   compute: FakeComputeAPI) -> None:
    inst = compute.add()
    r = admin.get(f"/servers/{inst['uuid']}/diagnostics", version='2.47')
    assert r.status_code == 200
    assert r.json['cpu0_time'] == 17300000000 and r.json['vnet1_tx_packets'] == 662


@pytest.mark.parametrize('values, code, message', [
    ({'power_state': 4}, 409,
     "Cannot 'get_diagnostics' instance {uuid} while it is in power state pending"),
    ({'host': None, 'vm_state': 'building'}, 409, 'Instance {uuid} is not ready'),
])
def test_diagnostics_of_a_server_not_running(admin: Any, compute: FakeComputeAPI,
                                             values: dict[str, Any], code: int,
                                             message: str) -> None:
    inst = compute.add(**values)
    r = admin.get(f"/servers/{inst['uuid']}/diagnostics")
    assert r.status_code == code, r.text
    assert r.json['conflictingRequest']['message'] == message.format(uuid=inst['uuid'])
