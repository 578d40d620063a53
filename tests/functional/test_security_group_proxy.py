"""The deprecated os-security-groups / os-security-group-rules proxy (2.1-2.35)
through the all-in-one against the in-memory fake Neutron: Nova's views,
codes and messages, and what a member of another project may not see or do."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from minova.cmd.all_in_one import AllInOne
from tests.functional.conftest import Client
from tests.functional.test_networking_fake_neutron import PROJECT, neutron  # noqa: F401
from tests.unit.network.fake_neutron import FakeNeutron


@pytest.fixture(scope='module')
def member(api_base: str, neutron: FakeNeutron) -> Client:  # noqa: F811
    return Client(api_base, token=f'sguser:{PROJECT}', microversion='2.35')


@pytest.fixture(scope='module')
def other(api_base: str, neutron: FakeNeutron) -> Client:  # noqa: F811
    return Client(api_base, token='sgother:otherproj', microversion='2.35')


def _fault(r: Any, code: int) -> str:
    assert r.status_code == code, r.text
    return str(next(iter(r.json().values()))['message'])


def _group(client: Client, name: str, description: str = 'd') -> dict[str, Any]:
    r = client.post('/os-security-groups',
                    {'security_group': {'name': name, 'description': description}})
    assert r.status_code == 200, r.text
    group: dict[str, Any] = r.json()['security_group']
    return group


def test_group_create_show_update_list_delete(aio: AllInOne, member: Client,
                                              other: Client,
                                              neutron: FakeNeutron) -> None:  # noqa: F811
    group = _group(member, 'web', 'web servers')
    assert group == {'id': group['id'], 'name': 'web', 'description': 'web servers',
                     'tenant_id': PROJECT, 'rules': []}
    assert neutron.security_groups[group['id']]['project_id'] == PROJECT
    assert member.get(f"/os-security-groups/{group['id']}").json() == {
        'security_group': group}
    r = member.put(f"/os-security-groups/{group['id']}",
                   {'security_group': {'name': 'web2', 'description': 'renamed'}})
    assert r.status_code == 200, r.text
    assert r.json()['security_group']['name'] == 'web2'
    listed = member.get('/os-security-groups').json()['security_groups']
    assert 'web2' in [g['name'] for g in listed]
    assert all(g['tenant_id'] == PROJECT for g in listed)
    # another project's member neither sees nor deletes it
    assert group['id'] not in [g['id'] for g in
                               other.get('/os-security-groups').json()['security_groups']]
    assert _fault(other.get(f"/os-security-groups/{group['id']}"), 404) == \
        f"Security group {group['id']} does not exist"
    _fault(other.delete(f"/os-security-groups/{group['id']}"), 404)
    assert member.delete(f"/os-security-groups/{group['id']}").status_code == 202
    assert group['id'] not in neutron.security_groups
    _fault(member.get(f"/os-security-groups/{group['id']}"), 404)


def test_group_errors_are_novas(member: Client, neutron: FakeNeutron) -> None:  # noqa: F811
    assert _fault(member.get('/os-security-groups/not-a-uuid'), 400) == \
        'Security group id should be uuid'
    _fault(member.delete(f'/os-security-groups/{uuid.uuid4()}'), 404)
    _fault(member.put(f'/os-security-groups/{uuid.uuid4()}',
                      {'security_group': {'name': 'x', 'description': 'y'}}), 404)
    # the body needs both, each at most 255 characters
    _fault(member.post('/os-security-groups', {'security_group': {'name': 'x'}}), 400)
    _fault(member.post('/os-security-groups',
                       {'security_group': {'name': 'x' * 256, 'description': ''}}), 400)
    # a member may not remove the project's default group: Neutron's 409, Nova's 400
    default = neutron.default_group(PROJECT)
    assert _fault(member.delete(f'/os-security-groups/{default}'), 400) == \
        'Insufficient rights for removing default security group.'
    assert default in neutron.security_groups
    # a group a port uses: Neutron's 409 "in use", Nova's 400
    group = _group(member, 'busy')
    net = neutron.add_network('sg-net', project_id=PROJECT)
    port = neutron.add_port(net['id'], project_id=PROJECT, security_groups=[group['id']])
    _fault(member.delete(f"/os-security-groups/{group['id']}"), 400)
    del neutron.ports[port['id']]
    assert member.delete(f"/os-security-groups/{group['id']}").status_code == 202
    # gone from 2.36, as Nova's proxies
    newer = Client(member.base, token=f'sguser:{PROJECT}', microversion='2.36')
    assert newer.get('/os-security-groups').status_code == 404
    assert newer.post('/os-security-group-rules', {}).status_code == 404


def test_rules_create_show_delete(member: Client, other: Client,
                                  neutron: FakeNeutron) -> None:  # noqa: F811
    group = _group(member, 'rules')
    source = _group(member, 'source')
    r = member.post('/os-security-group-rules', {'security_group_rule': {
        'parent_group_id': group['id'], 'ip_protocol': 'tcp', 'from_port': 22,
        'to_port': 22, 'cidr': '10.0.0.0/8'}})
    assert r.status_code == 200, r.text
    rule = r.json()['security_group_rule']
    assert rule == {'id': rule['id'], 'parent_group_id': group['id'], 'ip_protocol': 'tcp',
                    'from_port': 22, 'to_port': 22, 'group': {},
                    'ip_range': {'cidr': '10.0.0.0/8'}}
    made = next(r for r in neutron.security_groups[group['id']]['security_group_rules']
                if r['id'] == rule['id'])
    assert (made['direction'], made['ethertype'], made['port_range_min'],
            made['port_range_max']) == ('ingress', 'IPv4', 22, 22)
    # a group rule without ports opens them all
    r = member.post('/os-security-group-rules', {'security_group_rule': {
        'parent_group_id': group['id'], 'ip_protocol': 'icmp', 'group_id': source['id']}})
    assert r.status_code == 200, r.text
    icmp = r.json()['security_group_rule']
    assert (icmp['from_port'], icmp['to_port'], icmp['group'], icmp['ip_range']) == (
        -1, -1, {'name': 'source', 'tenant_id': PROJECT}, {})
    shown = member.get(f"/os-security-groups/{group['id']}").json()['security_group']
    assert sorted(r['id'] for r in shown['rules']) == sorted([rule['id'], icmp['id']])
    # the same rule again is Nova's 400
    assert _fault(member.post('/os-security-group-rules', {'security_group_rule': {
        'parent_group_id': group['id'], 'ip_protocol': 'tcp', 'from_port': 22,
        'to_port': 22, 'cidr': '10.0.0.0/8'}}), 400) == \
        f"This rule already exists in group {group['id']}"
    _fault(other.delete(f"/os-security-group-rules/{rule['id']}"), 404)
    assert member.delete(f"/os-security-group-rules/{rule['id']}").status_code == 202
    _fault(member.delete(f"/os-security-group-rules/{rule['id']}"), 404)


@pytest.mark.parametrize('rule, message', [
    ({'ip_protocol': 'tcp', 'from_port': 22, 'to_port': 22, 'cidr': 'nonsense'},
     'nonsense is not a valid IP network.'),
    ({'ip_protocol': 'foo', 'from_port': 1, 'to_port': 2},
     'Invalid IP protocol foo.'),
    ({'ip_protocol': 'tcp', 'from_port': 'a', 'to_port': 22},
     'Invalid input received: To and From ports must be integers'),
    ({'ip_protocol': 'tcp', 'from_port': 22, 'to_port': 21},
     'Invalid port range 22:21. Former value cannot be greater than the later'),
    ({'ip_protocol': 'udp', 'from_port': 0, 'to_port': 70000},
     'Invalid port range 0:70000. Valid UDP ports should be between 1-65535'),
    ({'ip_protocol': 'icmp', 'from_port': 256, 'to_port': 0},
     'Invalid port range 256:0. For ICMP, the type:code must be valid'),
    ({'ip_protocol': 'tcp'}, 'Not enough parameters to build a valid rule.'),
    ({'ip_protocol': 'tcp', 'from_port': 1, 'to_port': 2, 'cidr': '10.0.0.0/0'},
     'Bad prefix for network in cidr 10.0.0.0/0'),
])
def test_rule_errors_are_novas_400(member: Client, rule: dict[str, Any], message: str
                                   ) -> None:
    group = _group(member, 'bad-rules')
    r = member.post('/os-security-group-rules',
                    {'security_group_rule': dict(rule, parent_group_id=group['id'])})
    assert _fault(r, 400) == message


def test_rule_on_an_unknown_group_is_404(member: Client) -> None:
    r = member.post('/os-security-group-rules', {'security_group_rule': {
        'parent_group_id': str(uuid.uuid4()), 'ip_protocol': 'tcp', 'from_port': 1,
        'to_port': 2}})
    _fault(r, 404)
    _fault(member.post('/os-security-group-rules', {'security_group_rule': {
        'parent_group_id': 'x'}}), 400)
