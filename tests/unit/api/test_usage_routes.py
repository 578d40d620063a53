"""os-simple-tenant-usage, os-quota-class-sets, os-instance_usage_audit_log."""
from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest

from minova import utils
from minova.conf import CONF
from minova.db import instances as inst_db
from tests.unit.api.conftest import Client, insert_service

DAY = datetime.timedelta(days=1)
FLAVOR = {'flavorid': '1', 'name': 'm1.small', 'vcpus': 2, 'memory_mb': 1024, 'root_gb': 10,
          'ephemeral_gb': 5, 'swap': 0, 'extra_specs': {}}


def _instance(url: str, project: str, launched: datetime.datetime | None,
              terminated: datetime.datetime | None = None, **values: Any) -> dict[str, Any]:
    row = {'uuid': str(uuid.uuid4()), 'display_name': values.pop('name', 'vm'),
           'project_id': project, 'user_id': 'u', 'flavor': FLAVOR, 'vcpus': 2,
           'memory_mb': 1024, 'root_gb': 10, 'ephemeral_gb': 5, 'vm_state': 'active',
           'power_state': 1, 'launched_at': launched, 'terminated_at': terminated,
           'created_at': launched or utils.utcnow()}
    row.update(values)
    made = inst_db.create(url, row)
    if terminated is not None:
        inst_db.destroy(url, made['uuid'])
        from minova.db import engines, main_tables
        with engines.writer(url) as conn:   # destroy stamps now; keep the given time
            conn.execute(main_tables.instances.update().where(
                main_tables.instances.c.uuid == made['uuid']).values(terminated_at=terminated))
    return made


@pytest.fixture
def usage_world(dbs: dict[str, str]) -> dict[str, Any]:
    now = utils.utcnow().replace(microsecond=0)
    start, end = now - 10 * DAY, now - 5 * DAY
    url = dbs['cell']
    return {
        'start': start, 'end': end, 'now': now,
        # runs through the whole period: 120 hours
        'a': _instance(url, 'proj-a', start - DAY, name='whole'),
        # launched in the middle, terminated a day later: 24 hours
        'b': _instance(url, 'proj-a', start + DAY, start + 2 * DAY, name='day'),
        # another project, launched 2 days before the end: 48 hours
        'c': _instance(url, 'proj-b', end - 2 * DAY, name='other'),
        # outside the period (launched after it, terminated before it), never launched
        'late': _instance(url, 'proj-a', end + DAY),
        'early': _instance(url, 'proj-a', start - 3 * DAY, start - 2 * DAY),
        'never': _instance(url, 'proj-a', None),
    }


def _q(w: dict[str, Any]) -> str:
    return (f"start={w['start'].strftime('%Y-%m-%dT%H:%M:%S')}&"
            f"end={w['end'].strftime('%Y-%m-%dT%H:%M:%S.%f')}")


def test_tenant_usage_list_and_show(admin: Client, user: Client,
                                    usage_world: dict[str, Any]) -> None:
    w = usage_world
    r = admin.get('/os-simple-tenant-usage?detailed=1&' + _q(w))
    assert r.status_code == 200, r.text
    by_project = {u['tenant_id']: u for u in r.json['tenant_usages']}
    assert set(by_project) == {'proj-a', 'proj-b'}
    a = by_project['proj-a']
    assert a['total_hours'] == pytest.approx(144)
    assert a['total_vcpus_usage'] == pytest.approx(288)
    assert a['total_memory_mb_usage'] == pytest.approx(144 * 1024)
    assert a['total_local_gb_usage'] == pytest.approx(144 * 15)
    assert a['start'] == w['start'].strftime('%Y-%m-%dT%H:%M:%S.%f')
    servers = {s['name']: s for s in a['server_usages']}
    assert set(servers) == {'whole', 'day'}
    assert servers['day']['state'] == 'terminated' and servers['day']['uptime'] == 86400
    assert servers['whole']['state'] == 'active' and servers['whole']['ended_at'] is None
    assert servers['whole']['flavor'] == 'm1.small' and servers['whole']['local_gb'] == 15
    assert 'server_usages' not in admin.get('/os-simple-tenant-usage?' + _q(w)
                                            ).json['tenant_usages'][0]
    r = user.get('/os-simple-tenant-usage/proj-a?' + _q(w))
    assert r.status_code == 200
    assert r.json['tenant_usage']['total_hours'] == pytest.approx(144)
    assert len(r.json['tenant_usage']['server_usages']) == 2
    assert user.get('/os-simple-tenant-usage/proj-b?' + _q(w)).status_code == 403
    assert user.get('/os-simple-tenant-usage?' + _q(w)).status_code == 403
    r = admin.get('/os-simple-tenant-usage/proj-z?' + _q(w))
    assert r.json == {'tenant_usage': {}}


def test_tenant_usage_paging_240(admin: Client, usage_world: dict[str, Any]) -> None:
    w = usage_world
    r = admin.get('/os-simple-tenant-usage/proj-a?limit=1&' + _q(w))
    usage = r.json['tenant_usage']
    (first,) = usage['server_usages']
    link = r.json['tenant_usage_links'][0]['href']
    assert '/os-simple-tenant-usage/proj-a?' in link and f"marker={first['instance_id']}" in link
    r = admin.get(f"/os-simple-tenant-usage/proj-a?limit=5&marker={first['instance_id']}&"
                  + _q(w))
    assert len(r.json['tenant_usage']['server_usages']) == 1
    assert 'tenant_usage_links' not in r.json
    r = admin.get('/os-simple-tenant-usage?marker=nope&' + _q(w))
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == 'Marker nope could not be found.'
    # before 2.40 no paging: the limit parameter is ignored
    r = admin.get('/os-simple-tenant-usage/proj-a?limit=1&' + _q(w), version='2.39')
    assert len(r.json['tenant_usage']['server_usages']) == 2
    assert admin.get('/os-simple-tenant-usage?bogus=1').status_code == 400
    assert admin.get('/os-simple-tenant-usage?bogus=1', version='2.74').status_code == 200


@pytest.mark.parametrize('query, message', [
    ('start=yesterday', 'Invalid datetime string: Datetime is in invalid format'),
    ('start=2030-01-01T00:00:00&end=2029-01-01T00:00:00',
     'Invalid start time. The start time cannot occur after the end time.'),
])
def test_tenant_usage_bad_period(admin: Client, dbs: dict[str, str], query: str,
                                 message: str) -> None:
    r = admin.get('/os-simple-tenant-usage?' + query)
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == message


def test_quota_class_sets(admin: Client, user: Client, dbs: dict[str, str]) -> None:
    r = admin.get('/os-quota-class-sets/default', version='2.1')
    assert r.status_code == 200
    qs = r.json['quota_class_set']
    assert qs['id'] == 'default' and qs['instances'] == 10 and qs['floating_ips'] == -1
    assert 'server_groups' not in qs and qs['injected_files'] == 5
    qs = admin.get('/os-quota-class-sets/default', version='2.50').json['quota_class_set']
    assert qs['server_groups'] == 10 and 'floating_ips' not in qs and 'injected_files' in qs
    qs = admin.get('/os-quota-class-sets/default').json['quota_class_set']
    assert 'injected_files' not in qs and set(qs) == {
        'id', 'instances', 'cores', 'ram', 'key_pairs', 'metadata_items', 'server_groups',
        'server_group_members'}
    r = admin.put('/os-quota-class-sets/default', {'quota_class_set': {'instances': 50,
                                                                       'cores': '7'}})
    assert r.status_code == 200, r.text
    assert 'id' not in r.json['quota_class_set']
    assert r.json['quota_class_set']['instances'] == 50
    # the default class is every project's default
    assert user.get('/os-quota-sets/proj-a').json['quota_set']['cores'] == 7
    assert user.get('/os-quota-sets/proj-a/defaults').json['quota_set']['instances'] == 50
    assert admin.put('/os-quota-class-sets/default',
                     {'quota_class_set': {'floating_ips': 1}}).status_code == 400
    assert admin.put('/os-quota-class-sets/default', {'quota_class_set': {'floating_ips': 1}},
                     version='2.49').status_code == 200
    assert admin.put('/os-quota-class-sets/default',
                     {'quota_class_set': {'instances': -2}}).status_code == 400
    assert user.get('/os-quota-class-sets/default').status_code == 403
    assert user.put('/os-quota-class-sets/default',
                    {'quota_class_set': {'instances': 1}}).status_code == 403
    other = admin.get('/os-quota-class-sets/gold').json['quota_class_set']
    assert other['instances'] == CONF.quota.instances   # only "default" changed


def test_audit_log(admin: Client, user: Client, dbs: dict[str, str]) -> None:
    insert_service(dbs['cell'], 'host1')
    insert_service(dbs['cell'], 'host2', disabled=True)
    insert_service(dbs['cell'], 'ctl', binary='minova-conductor')
    r = admin.get('/os-instance_usage_audit_log')
    assert r.status_code == 200
    log = r.json['instance_usage_audit_logs']
    assert log['num_hosts'] == 2 and sorted(log['hosts_not_run']) == ['host1', 'host2']
    assert log['overall_status'] == '0 of 2 hosts done. 0 errors.'
    assert log['log'] == {} and log['total_instances'] == 0
    r = admin.get('/os-instance_usage_audit_log/2026-03-15 10:00:00')
    log = r.json['instance_usage_audit_log']
    assert (log['period_beginning'], log['period_ending']) == (
        '2026-02-01 00:00:00', '2026-03-01 00:00:00')
    log = admin.get('/os-instance_usage_audit_log/2026-01-01 00:00:00.000000'
                    ).json['instance_usage_audit_log']
    assert (log['period_beginning'], log['period_ending']) == (
        '2025-11-01 00:00:00', '2025-12-01 00:00:00')
    r = admin.get('/os-instance_usage_audit_log/yesterday')
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == 'Invalid timestamp for date yesterday'
    assert user.get('/os-instance_usage_audit_log').status_code == 403
