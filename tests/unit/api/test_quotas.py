"""Limits, quota sets and the quota module."""
from __future__ import annotations

from typing import Any

import pytest

from minova import exception, quota
from minova.conf import CONF
from tests.unit.api.conftest import FakeComputeAPI


def test_limits(user: Any, compute: FakeComputeAPI) -> None:
    r = user.get('/limits')
    assert r.status_code == 200
    absolute = r.json['limits']['absolute']
    assert r.json['limits']['rate'] == []
    assert absolute == {'maxServerMeta': 128, 'maxTotalCores': 20, 'maxTotalInstances': 10,
                        'maxTotalKeypairs': 100, 'maxTotalRAMSize': 51200,
                        'maxServerGroups': 10, 'maxServerGroupMembers': 10,
                        'totalCoresUsed': 0, 'totalInstancesUsed': 0, 'totalRAMUsed': 0,
                        'totalServerGroupsUsed': 0}
    old = user.get('/limits', version='2.1').json['limits']['absolute']
    assert old['maxPersonality'] == 5 and old['maxTotalFloatingIps'] == -1
    assert user.get('/limits?tenant_id=proj-b').status_code == 403


def test_quota_sets(admin: Any, user: Any) -> None:
    r = user.get('/os-quota-sets/proj-a')
    assert r.json == {'quota_set': {'id': 'proj-a', 'instances': 10, 'cores': 20,
                                    'ram': 51200, 'key_pairs': 100, 'metadata_items': 128,
                                    'server_groups': 10, 'server_group_members': 10}}
    assert user.get('/os-quota-sets/proj-b').status_code == 403
    assert user.put('/os-quota-sets/proj-a', {'quota_set': {'instances': 1}}).status_code \
        == 403
    r = admin.put('/os-quota-sets/proj-a', {'quota_set': {'instances': 1, 'cores': '4'}})
    assert r.status_code == 200
    assert r.json['quota_set']['instances'] == 1 and 'id' not in r.json['quota_set']
    assert user.get('/os-quota-sets/proj-a/detail').json['quota_set']['cores'] == {
        'in_use': 0, 'limit': 4, 'reserved': 0}
    assert user.get('/os-quota-sets/proj-a/defaults').json['quota_set']['instances'] == 10
    assert admin.put('/os-quota-sets/proj-a', {'quota_set': {'bogus': 1}}).status_code == 400
    assert admin.put('/os-quota-sets/proj-a', {'quota_set': {'ram': -2}}).status_code == 400
    assert admin.delete('/os-quota-sets/proj-a').status_code == 202
    assert user.get('/os-quota-sets/proj-a').json['quota_set']['instances'] == 10
    old = user.get('/os-quota-sets/proj-a', version='2.1').json['quota_set']
    assert old['injected_files'] == 5 and old['floating_ips'] == -1


def test_enforce_instances(dbs: dict[str, str]) -> None:
    assert quota.enforce_instances('p', 1, 2, 1024, max_count=50) == 10
    CONF.set_override('cores', 3, group='quota')
    try:
        with pytest.raises(exception.TooManyInstances) as e:
            quota.enforce_instances('p', 2, 2, 1024)
    finally:
        CONF.clear_override('cores', group='quota')
    assert e.value.code == 403
    assert str(e.value) == 'Quota exceeded for cores: Requested 4, but already used 0 of 3 cores'
