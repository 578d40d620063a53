"""Services, hypervisors, availability zones (admin APIs) from rows in the cell DB."""
from __future__ import annotations

import datetime
from typing import Any

from minova.cells import mappings
from minova.db import services as services_db
from tests.unit.api.conftest import FakeComputeAPI, insert_node, insert_service


def test_non_admin_forbidden(user: Any) -> None:
    for path in ('/os-services', '/os-hypervisors', '/os-hypervisors/detail',
                 '/os-availability-zone/detail'):
        r = user.get(path)
        assert r.status_code == 403, path
        assert r.json['forbidden']['message'].startswith("Policy doesn't allow os_compute_api:")


def test_services_list(admin: Any, dbs: dict[str, str]) -> None:
    c = insert_service(dbs['cell'], 'host1')
    insert_service(dbs['cell'], 'host1', binary='minova-scheduler', disabled=True,
                   disabled_reason='test',
                   last_seen_up=datetime.datetime(2000, 1, 1))
    r = admin.get('/os-services')
    assert r.status_code == 200
    compute, sched = r.json['services']
    assert compute == {'id': c['uuid'], 'binary': 'nova-compute', 'host': 'host1',
                       'zone': 'nova', 'status': 'enabled', 'state': 'up',
                       'updated_at': compute['updated_at'], 'disabled_reason': None,
                       'forced_down': False}
    assert sched['zone'] == 'internal' and sched['state'] == 'down'
    assert sched['status'] == 'disabled' and sched['disabled_reason'] == 'test'
    old = admin.get('/os-services', version='2.1').json['services'][0]
    assert old['id'] == c['id'] and 'forced_down' not in old
    assert len(admin.get('/os-services?binary=nova-compute').json['services']) == 1
    assert admin.get('/os-services?host=nope').json['services'] == []


def test_services_update(admin: Any, dbs: dict[str, str]) -> None:
    c = insert_service(dbs['cell'], 'host1')
    r = admin.put(f"/os-services/{c['uuid']}", {'status': 'disabled',
                                                 'disabled_reason': 'maintenance'})
    assert r.status_code == 200
    assert r.json['service']['status'] == 'disabled'
    assert r.json['service']['disabled_reason'] == 'maintenance'
    r = admin.put(f"/os-services/{c['uuid']}", {'disabled_reason': 'x'})
    assert r.status_code == 400
    r = admin.put(f"/os-services/{c['uuid']}", {'forced_down': True})
    assert r.json['service']['forced_down'] is True and r.json['service']['state'] == 'down'
    r = admin.put('/os-services/enable', {'host': 'host1', 'binary': 'nova-compute'},
                  version='2.52')
    assert r.json == {'service': {'host': 'host1', 'binary': 'nova-compute',
                                  'status': 'enabled'}}
    r = admin.put('/os-services/disable-log-reason',
                  {'host': 'host1', 'binary': 'nova-compute', 'disabled_reason': 'r'},
                  version='2.1')
    assert r.json['service']['disabled_reason'] == 'r'
    r = admin.put('/os-services/disable', {'host': 'nohost', 'binary': 'nova-compute'},
                  version='2.1')
    assert r.status_code == 404


def test_services_delete(admin: Any, dbs: dict[str, str]) -> None:
    c = insert_service(dbs['cell'], 'host1')
    insert_node(dbs['cell'], 'host1')
    mappings.host_mapping_create('host1', 2)
    r = admin.delete(f"/os-services/{c['uuid']}")
    assert r.status_code == 204
    assert services_db.get_all(dbs['cell']) == []
    assert mappings.host_mapping_get_all() == []
    assert admin.get('/os-hypervisors').json['hypervisors'] == []
    assert admin.delete(f"/os-services/{c['uuid']}").status_code == 404


def test_hypervisors(admin: Any, dbs: dict[str, str]) -> None:
    svc = insert_service(dbs['cell'], 'host1')
    node = insert_node(dbs['cell'], 'host1')
    r = admin.get('/os-hypervisors')
    assert r.json == {'hypervisors': [{'id': node['uuid'], 'hypervisor_hostname': 'host1',
                                       'state': 'up', 'status': 'enabled'}]}
    d = admin.get('/os-hypervisors/detail').json['hypervisors'][0]
    assert d['service'] == {'host': 'host1', 'id': svc['uuid'], 'disabled_reason': None}
    assert d['uptime'] is None and 'vcpus' not in d and 'cpu_info' not in d
    old = admin.get('/os-hypervisors/detail', version='2.87').json['hypervisors'][0]
    assert old['vcpus'] == 8 and old['cpu_info'] == {'arch': 'x86_64'}
    assert old['running_vms'] == 1
    s = admin.get(f"/os-hypervisors/{node['uuid']}?with_servers=true").json['hypervisor']
    assert s['servers'] == [] and s['hypervisor_hostname'] == 'host1'
    assert admin.get(f"/os-hypervisors/{node['id']}", version='2.52').status_code == 200
    r = admin.get('/os-hypervisors?hypervisor_hostname_pattern=nope')
    assert r.status_code == 404
    assert len(admin.get('/os-hypervisors/host/search', version='2.52')
               .json['hypervisors']) == 1
    assert admin.get('/os-hypervisors?limit=1').json['hypervisors_links']
    r = admin.get('/os-hypervisors/00000000-0000-0000-0000-0000000000aa')
    assert r.status_code == 404


def test_availability_zones(admin: Any, user: Any, dbs: dict[str, str]) -> None:
    insert_service(dbs['cell'], 'host1')
    insert_service(dbs['cell'], 'ctl', binary='minova-conductor')
    r = user.get('/os-availability-zone')
    assert r.json == {'availabilityZoneInfo': [
        {'zoneName': 'nova', 'zoneState': {'available': True}, 'hosts': None}]}
    detail = admin.get('/os-availability-zone/detail').json['availabilityZoneInfo']
    internal = next(z for z in detail if z['zoneName'] == 'internal')
    assert internal['hosts']['ctl']['nova-conductor']['available'] is True


def test_legacy_hypervisor_routes_and_aggregates(admin: Any, user: Any,
                                                 compute: FakeComputeAPI,
                                                 dbs: dict[str, str]) -> None:
    insert_service(dbs['cell'], 'host1')
    node = insert_node(dbs['cell'], 'host1')
    r = admin.get('/os-hypervisors/statistics', version='2.87')
    assert r.json['hypervisor_statistics']['count'] == 1
    assert r.json['hypervisor_statistics']['vcpus'] == 8
    assert admin.get('/os-hypervisors/statistics').status_code == 404
    r = admin.get(f"/os-hypervisors/{node['uuid']}/uptime", version='2.87')
    assert r.status_code == 501
    assert r.json == {'notImplemented': {
        'code': 501, 'message': 'The requested functionality is not supported.'}}
    compute.uptime = ' 10:00:00 up 3 days,  1:02,  1 user,  load average: 0.00, 0.01, 0.05\n'
    r = admin.get(f"/os-hypervisors/{node['uuid']}/uptime", version='2.87')
    assert r.status_code == 200
    assert r.json == {'hypervisor': {'id': node['uuid'], 'hypervisor_hostname': 'host1',
                                     'state': 'up', 'status': 'enabled',
                                     'uptime': compute.uptime}}
    r = admin.get(f"/os-hypervisors/{node['id']}/uptime", version='2.52')
    assert r.status_code == 200 and r.json['hypervisor']['id'] == node['id']
    assert admin.get(f"/os-hypervisors/{node['uuid']}/uptime").status_code == 404
    assert admin.get('/os-aggregates').json == {'aggregates': []}
    assert user.get('/os-aggregates').status_code == 403
