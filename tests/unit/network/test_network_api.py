"""Nova's network API against a fake Neutron: validation at the API, allocation on
the host (ports, binding, security groups, the VIFs), release, and every error
Neutron can answer mapped to Nova's."""
from __future__ import annotations

from typing import Any

import pytest

from minova import exception
from minova.context import RequestContext
from minova.network import api, is_neutron
from minova.network import neutron as neutron_client
from minova.network import security_groups as sg_api
from tests.unit.network.fake_neutron import FakeNeutron

CTX = RequestContext(user_id='u1', project_id='p1')
ADMIN = RequestContext(user_id='admin', project_id='admin', is_admin=True)


def _inst(uuid: str = 'i-1', **kw: Any) -> Any:
    return dict({'uuid': uuid, 'project_id': 'p1', 'availability_zone': None,
                 'network_info': []}, **kw)


def test_neutron_configured_only_with_the_group(neutron: FakeNeutron) -> None:
    assert is_neutron()


def test_allocate_on_a_network_makes_a_bound_port(neutron: FakeNeutron) -> None:
    net = neutron.add_network('net1', cidr='192.0.2.0/24')
    vifs = api.allocate_for_instance(CTX, _inst(), [{'network_id': net['id']}], 'host1')
    [port] = neutron.ports_of('i-1')
    assert port['device_owner'] == 'compute:nova' and port['binding:host_id'] == 'host1'
    assert port['project_id'] == 'p1'
    [vif] = vifs
    assert vif['id'] == port['id'] and vif['address'] == port['mac_address']
    assert vif['type'] == 'ovs' and vif['details']['bridge_name'] == 'br-int'
    assert vif['devname'] == 'tap' + port['id'][:11] and vif['ovs_interfaceid'] == port['id']
    assert vif['preserve_on_delete'] is False and vif['active'] is False
    network = vif['network']
    assert network['label'] == 'net1' and network['mtu'] == 1442
    assert network['bridge'] == 'br-int'
    [subnet] = network['subnets']
    assert subnet['cidr'] == '192.0.2.0/24'
    assert subnet['gateway']['address'] == '192.0.2.1'
    assert [d['address'] for d in subnet['dns']] == ['192.0.2.53']
    assert subnet['ips'] == [{'address': '192.0.2.2', 'type': 'fixed', 'version': 4,
                              'floating_ips': []}]


def test_allocate_requested_order_fixed_ip_tag_and_security_groups(
        neutron: FakeNeutron) -> None:
    a = neutron.add_network('a', cidr='10.1.0.0/24')
    b = neutron.add_network('b', cidr='10.2.0.0/24')
    web = neutron.add_security_group('web')
    vifs = api.allocate_for_instance(
        CTX, _inst(), [{'network_id': b['id'], 'address': '10.2.0.77', 'tag': 'nic1'},
                       {'network_id': a['id']}], 'h', ['web'])
    assert [v['network']['label'] for v in vifs] == ['b', 'a']
    assert vifs[0]['network']['subnets'][0]['ips'][0]['address'] == '10.2.0.77'
    assert vifs[0]['tag'] == 'nic1' and 'tag' not in vifs[1]
    assert all(p['security_groups'] == [web['id']] for p in neutron.ports_of('i-1'))


def test_default_group_left_to_neutron(neutron: FakeNeutron) -> None:
    net = neutron.add_network('n')
    api.allocate_for_instance(CTX, _inst(), [{'network_id': net['id']}], 'h', ['default'])
    [port] = neutron.ports_of('i-1')
    assert port['security_groups'] == [neutron.default_group('p1')]


def test_user_port_is_taken_and_kept(neutron: FakeNeutron) -> None:
    net = neutron.add_network('n')
    port = neutron.add_port(net['id'])
    other = neutron.add_network('m', cidr='10.5.0.0/24')
    inst = _inst()
    inst['network_info'] = api.allocate_for_instance(
        CTX, inst, [{'port_id': port['id']}, {'network_id': other['id']}], 'h')
    assert [v['preserve_on_delete'] for v in inst['network_info']] == [True, False]
    assert neutron.ports[port['id']]['device_id'] == 'i-1'
    api.deallocate_for_instance(CTX, inst)
    assert list(neutron.ports) == [port['id']]
    kept = neutron.ports[port['id']]
    assert kept['device_id'] == '' and kept['binding:host_id'] == ''
    assert kept['binding:vif_type'] == 'unbound'


def test_binding_failure_releases_everything(neutron: FakeNeutron) -> None:
    net = neutron.add_network('n')
    port = neutron.add_port(net['id'])
    neutron.fail_binding_hosts.add('bad-host')
    with pytest.raises(exception.PortBindingFailed) as e:
        api.allocate_for_instance(CTX, _inst(), [{'network_id': net['id']},
                                                 {'port_id': port['id']}], 'bad-host')
    assert 'Binding failed for port' in str(e.value)
    assert list(neutron.ports) == [port['id']]          # the made one deleted
    assert neutron.ports[port['id']]['device_id'] == ''  # the user's unbound


def test_a_failure_midway_undoes_the_ports_made(neutron: FakeNeutron) -> None:
    net = neutron.add_network('n')
    with pytest.raises(exception.NetworkNotFound):
        api.allocate_for_instance(CTX, _inst(), [{'network_id': net['id']},
                                                 {'network_id': 'gone'}], 'h')
    assert neutron.ports == {}


@pytest.mark.parametrize(('setup', 'error'), [
    ('taken', exception.FixedIpAlreadyInUse),
    ('outside', exception.FixedIpInvalidOnHost),
    ('full', exception.NoMoreFixedIps),
    ('quota', exception.PortLimitExceeded),
])
def test_port_create_errors_are_novas(neutron: FakeNeutron, setup: str,
                                      error: type[Exception]) -> None:
    net = neutron.add_network('n', cidr='10.9.0.0/30')   # one free address: .2
    req: dict[str, Any] = {'network_id': net['id']}
    if setup == 'taken':
        neutron.add_port(net['id'])
        req['address'] = '10.9.0.2'
    elif setup == 'outside':
        req['address'] = '172.16.0.9'
    elif setup == 'full':
        neutron.add_port(net['id'])
    else:
        neutron.port_quota = 0
    with pytest.raises(error):
        api.allocate_for_instance(CTX, _inst(), [req], 'h')


def test_no_network_requested(neutron: FakeNeutron) -> None:
    assert api.allocate_for_instance(CTX, _inst(), None, 'h') == []   # nothing to use
    assert api.allocate_for_instance(CTX, _inst(), 'none', 'h') == []
    net = neutron.add_network('only')
    [vif] = api.allocate_for_instance(CTX, _inst(), None, 'h')
    assert vif['network']['id'] == net['id']
    neutron.add_network('shared', project_id='other', shared=True, cidr='10.3.0.0/24')
    neutron.add_network('private-of-other', project_id='other', cidr='10.4.0.0/24')
    with pytest.raises(exception.NetworkAmbiguous):
        api.validate_networks(CTX, None, 1)
    with pytest.raises(exception.NetworkAmbiguous):
        api.allocate_for_instance(CTX, _inst('i-2'), 'auto', 'h')


def test_auto_allocates_a_network_when_the_project_has_none(neutron: FakeNeutron) -> None:
    api.validate_networks(CTX, 'auto', 1)
    [vif] = api.allocate_for_instance(CTX, _inst(), 'auto', 'h')
    assert vif['network']['label'] == 'auto_allocated_network'
    neutron.auto_allocation = False
    neutron.networks.clear()
    neutron.auto_network = None
    with pytest.raises(exception.UnableToAutoAllocateNetwork):
        api.validate_networks(CTX, 'auto', 1)
    with pytest.raises(exception.UnableToAutoAllocateNetwork):
        api.allocate_for_instance(CTX, _inst('i-3'), 'auto', 'h')


def test_validate_requested_networks_and_ports(neutron: FakeNeutron) -> None:
    net = neutron.add_network('n')
    bare = neutron.add_network('bare', cidr=None)
    theirs = neutron.add_network('theirs', project_id='other', cidr='10.7.0.0/24')
    ext = neutron.add_network('public', project_id='admin', external=True,
                              cidr='203.0.113.0/24')
    api.validate_networks(CTX, [{'network_id': net['id']}, {'network_id': net['id']}], 1)
    with pytest.raises(exception.NetworkRequiresSubnet):
        api.validate_networks(CTX, [{'network_id': bare['id']}], 1)
    with pytest.raises(exception.NetworkNotFound) as e:
        api.validate_networks(CTX, [{'network_id': theirs['id']}], 1)
    assert theirs['id'] in str(e.value)
    api.validate_networks(ADMIN, [{'network_id': theirs['id']}], 1)
    with pytest.raises(exception.ExternalNetworkAttachForbidden):
        api.validate_networks(CTX, [{'network_id': ext['id']}], 1)
    used = neutron.add_port(net['id'], device_id='someone')
    with pytest.raises(exception.PortInUse):
        api.validate_networks(CTX, [{'port_id': used['id']}], 1)
    free = neutron.add_port(net['id'])
    with pytest.raises(exception.Invalid, match='multiple instances with a single'):
        api.validate_networks(CTX, [{'port_id': free['id']}], 2)
    other_port = neutron.add_port(theirs['id'], project_id='other')
    with pytest.raises(exception.PortNotUsable):
        api.validate_networks(CTX, [{'port_id': other_port['id']}], 1)
    with pytest.raises(exception.PortNotFound):
        api.validate_networks(CTX, [{'port_id': 'f' * 8}], 1)
    with pytest.raises(exception.FixedIpAlreadyInUse):
        api.validate_networks(CTX, [{'network_id': net['id'],
                                     'address': free['fixed_ips'][0]['ip_address']}], 1)
    with pytest.raises(exception.InvalidFixedIpAndMaxCountRequest):
        api.validate_networks(CTX, [{'network_id': net['id'], 'address': '10.0.0.200'}], 2)


def test_security_group_names(neutron: FakeNeutron) -> None:
    web = neutron.add_security_group('web')
    default = neutron.default_group('p1')
    assert api.security_group_ids('p1', ['web', web['id'], 'default']) == [web['id'], default]
    with pytest.raises(exception.SecurityGroupNotFound):
        api.security_group_ids('p1', ['nope'])
    neutron.add_security_group('web')
    with pytest.raises(exception.NoUniqueMatch):
        api.security_group_ids('p1', ['web'])


def test_add_and_remove_security_group(neutron: FakeNeutron) -> None:
    net = neutron.add_network('n')
    inst = _inst()
    neutron.default_group('p1')
    with pytest.raises(exception.SecurityGroupNotFound, match='could not be found as '
                       'device id'):
        sg_api.add_to_instance('p1', inst, 'default')
    api.allocate_for_instance(CTX, inst, [{'network_id': net['id']}], 'h')
    web = neutron.add_security_group('web')
    sg_api.add_to_instance('p1', inst, 'web')
    sg_api.add_to_instance('p1', inst, 'web')       # already there: unchanged
    [port] = neutron.ports_of('i-1')
    assert port['security_groups'] == [neutron.default_group('p1'), web['id']]
    assert api.instance_security_groups(['i-1']) == {
        'i-1': [{'name': 'default'}, {'name': 'web'}]}
    sg_api.remove_from_instance('p1', inst, 'web')
    with pytest.raises(exception.SecurityGroupNotFound, match='not associated'):
        sg_api.remove_from_instance('p1', inst, 'web')
    with pytest.raises(exception.SecurityGroupNotFound, match='not found for project'):
        sg_api.add_to_instance('p1', inst, 'nope')
    neutron.ports[port['id']]['port_security_enabled'] = False
    with pytest.raises(exception.SecurityGroupCannotBeApplied):
        sg_api.add_to_instance('p1', inst, 'web')


def test_floating_ips_in_network_info(neutron: FakeNeutron) -> None:
    net = neutron.add_network('n')
    inst = _inst()
    [vif] = api.allocate_for_instance(CTX, inst, [{'network_id': net['id']}], 'h')
    fixed = vif['network']['subnets'][0]['ips'][0]['address']
    neutron.floatingips['f1'] = {'id': 'f1', 'port_id': vif['id'],
                                 'fixed_ip_address': fixed,
                                 'floating_ip_address': '203.0.113.9'}
    [vif] = api.build_network_info(dict(inst, network_info=[vif]))
    assert vif['network']['subnets'][0]['ips'][0]['floating_ips'] == [
        {'address': '203.0.113.9', 'type': 'floating', 'version': 4}]


def test_neutron_down_is_unavailable(neutron: FakeNeutron) -> None:
    neutron.down = True
    with pytest.raises(exception.NetworkServiceUnavailable):
        api.available_networks(CTX, 'p1')


def test_unmapped_neutron_error(neutron: FakeNeutron) -> None:
    with pytest.raises(neutron_client.NeutronError) as e:
        neutron_client.get_client()._ok('GET', '/no-such-thing')
    assert e.value.status == 404 and e.value.code == 404


def test_network_data_json_from_the_ports(neutron: FakeNeutron) -> None:
    from minova.metadata import base as metadata
    net = neutron.add_network('n', cidr='192.0.2.0/24', mtu=1442)
    [vif] = api.allocate_for_instance(CTX, _inst(), [{'network_id': net['id']}], 'h')
    nd = metadata.network_data([vif])
    assert nd['links'] == [{'id': 'tap' + vif['id'][:11], 'type': 'ovs',
                            'ethernet_mac_address': vif['address'], 'mtu': 1442,
                            'vif_id': vif['id']}]
    assert nd['networks'] == [{
        'id': 'network0', 'type': 'ipv4', 'link': 'tap' + vif['id'][:11],
        'ip_address': '192.0.2.2', 'netmask': '255.255.255.0',
        'routes': [{'network': '0.0.0.0', 'netmask': '0.0.0.0', 'gateway': '192.0.2.1'}],
        'network_id': net['id'], 'services': [{'type': 'dns', 'address': '192.0.2.53'}]}]
    assert nd['services'] == [{'type': 'dns', 'address': '192.0.2.53'}]


def test_server_security_groups_in_novas_format(neutron: FakeNeutron) -> None:
    net = neutron.add_network('n')
    web = neutron.add_security_group('web')
    web['security_group_rules'] = [
        {'id': 'r1', 'security_group_id': web['id'], 'direction': 'ingress',
         'protocol': 'tcp', 'port_range_min': 22, 'port_range_max': 22,
         'remote_ip_prefix': '192.0.2.0/24', 'remote_group_id': None},
        {'id': 'r2', 'security_group_id': web['id'], 'direction': 'ingress',
         'protocol': 'icmp', 'port_range_min': None, 'port_range_max': None,
         'remote_ip_prefix': None, 'remote_group_id': web['id']},
        {'id': 'r3', 'security_group_id': web['id'], 'direction': 'egress',
         'protocol': None, 'port_range_min': None, 'port_range_max': None,
         'remote_ip_prefix': None, 'remote_group_id': None}]
    api.allocate_for_instance(CTX, _inst(), [{'network_id': net['id']}], 'h', ['web'])
    assert sg_api.server_security_groups(_inst()) == [{
        'id': web['id'], 'name': 'web', 'description': '', 'tenant_id': 'p1', 'rules': [
            {'id': 'r1', 'parent_group_id': web['id'], 'ip_protocol': 'tcp',
             'from_port': 22, 'to_port': 22, 'group': {},
             'ip_range': {'cidr': '192.0.2.0/24'}},
            {'id': 'r2', 'parent_group_id': web['id'], 'ip_protocol': 'icmp',
             'from_port': -1, 'to_port': -1, 'group': {'name': 'web', 'tenant_id': 'p1'},
             'ip_range': {}}]}]
    assert sg_api.server_security_groups(_inst('no-ports')) == []
