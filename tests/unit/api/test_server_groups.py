"""/os-server-groups across microversions, with quota and ownership."""
from __future__ import annotations

from typing import Any

import pytest

from minova.conf import CONF
from minova.db import server_groups as groups_db


def test_create_show_list_delete_v264(user: Any, dbs: dict[str, str]) -> None:
    r = user.post('/os-server-groups', {'server_group': {
        'name': 'web', 'policy': 'anti-affinity', 'rules': {'max_server_per_host': 2}}})
    assert r.status_code == 200, r.text
    group = r.json['server_group']
    assert group == {'id': group['id'], 'name': 'web', 'policy': 'anti-affinity',
                     'rules': {'max_server_per_host': 2}, 'members': [],
                     'project_id': 'proj-a', 'user_id': 'alice'}
    shown = user.get(f"/os-server-groups/{group['id']}").json['server_group']
    assert shown == group
    assert [g['id'] for g in user.get('/os-server-groups').json['server_groups']] == \
        [group['id']]
    assert user.delete(f"/os-server-groups/{group['id']}").status_code == 204
    r = user.get(f"/os-server-groups/{group['id']}")
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == \
        f"Instance group {group['id']} could not be found."


def test_old_microversions_use_policies_list(user: Any, dbs: dict[str, str]) -> None:
    r = user.post('/os-server-groups', {'server_group': {
        'name': 'g', 'policies': ['affinity']}}, version='2.1')
    assert r.status_code == 200, r.text
    assert r.json['server_group'] == {'id': r.json['server_group']['id'], 'name': 'g',
                                      'policies': ['affinity'], 'members': [],
                                      'metadata': {}}
    # soft policies arrive in 2.15; project/user ids are shown from 2.13
    r = user.post('/os-server-groups', {'server_group': {
        'name': 'g2', 'policies': ['soft-affinity']}}, version='2.14')
    assert r.status_code == 400
    r = user.post('/os-server-groups', {'server_group': {
        'name': 'g2', 'policies': ['soft-anti-affinity']}}, version='2.15')
    assert r.status_code == 200
    assert r.json['server_group']['project_id'] == 'proj-a'
    # 2.64 shows the old group in the new shape
    shown = user.get(f"/os-server-groups/{r.json['server_group']['id']}").json
    assert shown['server_group']['policy'] == 'soft-anti-affinity'
    assert shown['server_group']['rules'] == {}


@pytest.mark.parametrize('body, version', [
    ({'name': 'g', 'policy': 'affinity', 'rules': {'max_server_per_host': 2}}, 'latest'),
    ({'name': 'g', 'policy': 'anti-affinity', 'rules': {'max_server_per_host': 0}}, 'latest'),
    ({'name': 'g', 'policy': 'anti-affinity', 'rules': {'other': 1}}, 'latest'),
    ({'name': 'g', 'policy': 'clumped'}, 'latest'),
    ({'name': 'g', 'policies': ['affinity']}, 'latest'),
    ({'name': 'g', 'policies': ['affinity', 'anti-affinity']}, '2.1'),
    ({'name': '', 'policy': 'affinity'}, 'latest'),
    ({'policy': 'affinity'}, 'latest'),
], ids=['rules-need-anti-affinity', 'zero-per-host', 'unknown-rule', 'unknown-policy',
        'policies-after-2.64', 'two-policies', 'empty-name', 'no-name'])
def test_bad_bodies_are_400(user: Any, dbs: dict[str, str], body: dict[str, Any],
                            version: str) -> None:
    r = user.post('/os-server-groups', {'server_group': body}, version=version)
    assert r.status_code == 400, r.text
    assert r.json['badRequest']['message']


def test_quota_on_server_groups(user: Any, dbs: dict[str, str]) -> None:
    CONF.set_override('server_groups', 2, group='quota')
    try:
        for n in range(2):
            assert user.post('/os-server-groups', {'server_group': {
                'name': f'g{n}', 'policy': 'affinity'}}).status_code == 200
        r = user.post('/os-server-groups', {'server_group': {'name': 'g3',
                                                             'policy': 'affinity'}})
        assert r.status_code == 403
        assert r.json['forbidden']['message'] == 'Quota exceeded, too many server groups.'
    finally:
        CONF.clear_override('server_groups', group='quota')


def test_other_projects_cannot_see_or_delete(user: Any, other: Any, admin: Any,
                                             dbs: dict[str, str]) -> None:
    gid = user.post('/os-server-groups', {'server_group': {
        'name': 'mine', 'policy': 'affinity'}}).json['server_group']['id']
    # Nova's query hides another project's group: 404, as for a missing one
    r = other.get(f'/os-server-groups/{gid}')
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == f'Instance group {gid} could not be found.'
    assert other.delete(f'/os-server-groups/{gid}').status_code == 404
    assert other.get('/os-server-groups').json['server_groups'] == []
    # all_projects is for admins; for others it quietly means their own
    assert other.get('/os-server-groups?all_projects=True').json['server_groups'] == []
    assert [g['id'] for g in admin.get('/os-server-groups?all_projects=True'
                                       ).json['server_groups']] == [gid]
    assert admin.get('/os-server-groups').json['server_groups'] == []
    assert admin.get(f'/os-server-groups/{gid}').status_code == 200


def test_members_limit_and_offset(user: Any, dbs: dict[str, str]) -> None:
    ids = [user.post('/os-server-groups', {'server_group': {
        'name': f'g{n}', 'policy': 'affinity'}}).json['server_group']['id'] for n in range(3)]
    groups_db.add_members(ids[0], ['0f1c5bc2-9a6e-4d2f-8d39-1c2a7f9d1e11'])
    page = user.get('/os-server-groups?limit=1&offset=1').json['server_groups']
    assert [g['id'] for g in page] == [ids[1]]
    shown = user.get(f'/os-server-groups/{ids[0]}').json['server_group']
    assert shown['members'] == ['0f1c5bc2-9a6e-4d2f-8d39-1c2a7f9d1e11']
    assert user.get('/os-server-groups?bogus=1', version='2.75').status_code == 400
