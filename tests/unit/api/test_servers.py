"""Servers: create validation, views per microversion, listing, visibility."""
from __future__ import annotations

from typing import Any

import pytest

from minova.conf import CONF
from tests.unit.api.conftest import FakeComputeAPI

IMAGE = '70a599e0-31e7-49b7-b260-868f441e862b'


@pytest.fixture
def flavor(admin: Any) -> None:
    r = admin.post('/flavors', {'flavor': {'name': 'm1.tiny', 'ram': 512, 'vcpus': 1,
                                           'disk': 1, 'id': '1'}})
    assert r.status_code == 200


def body(**server: Any) -> dict[str, Any]:
    base = {'name': 'vm1', 'imageRef': IMAGE, 'flavorRef': '1', 'networks': 'none'}
    base.update(server)
    return {'server': {k: v for k, v in base.items() if v is not None}}


def test_create(user: Any, compute: FakeComputeAPI, flavor: None) -> None:
    r = user.post('/servers', body(metadata={'k': 'v'}, description='d', tags=['t'],
                                   hostname='vm-1'),
                  headers={})
    assert r.status_code == 202, r.text
    server = r.json['server']
    assert set(server) == {'id', 'links', 'OS-DCF:diskConfig', 'security_groups',
                           'adminPass'}
    assert r.headers['Location'] == server['links'][0]['href']
    (call,) = compute.created
    assert call['flavor']['flavorid'] == '1' and call['image_ref'] == IMAGE
    assert call['networks'] == 'none' and call['metadata'] == {'k': 'v'}
    assert call['tags'] == ['t'] and call['hostname'] == 'vm-1'


def test_create_reservation_id_and_flavor_link(user: Any, compute: FakeComputeAPI,
                                               flavor: None) -> None:
    r = user.post('/servers', body(flavorRef='http://x/flavors/1', return_reservation_id=True,
                                   min_count=1, max_count=2))
    assert r.status_code == 202 and r.json == {'reservation_id': 'r-123'}
    assert compute.created[0]['max_count'] == 2


def test_create_scheduler_hints_and_keypair(user: Any, compute: FakeComputeAPI,
                                            flavor: None) -> None:
    user.post('/os-keypairs', {'keypair': {'name': 'k1'}}, version='2.91')
    req = body(key_name='k1')
    req['os:scheduler_hints'] = {'same_host': IMAGE}
    assert user.post('/servers', req).status_code == 202
    call = compute.created[0]
    assert call['key_pair']['name'] == 'k1' and call['scheduler_hints'] == {'same_host': IMAGE}
    r = user.post('/servers', body(key_name='nope'))
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == 'Invalid key_name provided.'


@pytest.mark.parametrize(('server', 'message'), [
    ({'flavorRef': '99'}, 'Flavor 99 could not be found.'),
    ({'imageRef': 'not-a-uuid'}, 'Invalid input for field/attribute imageRef'),
    ({'name': 5}, "Invalid input for field/attribute name. Value: 5. 5 is not of type"),
    ({'networks': [{'uuid': IMAGE}]}, 'not supported by this deployment yet'),
    ({'networks': None}, "'networks' is a required property"),
    ({'min_count': 3, 'max_count': 2}, 'min_count must be <= max_count'),
    ({'user_data': '%%%'}, 'Invalid input for field/attribute user_data'),
    ({'metadata': {'k': 1}}, 'Invalid input for field/attribute k'),
    ({'block_device_mapping_v2': [{'boot_index': 0, 'source_type': 'blank',
                                   'destination_type': 'volume'}], 'imageRef': ''},
     'Block Device Mapping is Invalid: Blank volumes need a size'),
    ({'block_device_mapping_v2': [{'boot_index': 0, 'source_type': 'image', 'uuid': IMAGE,
                                   'destination_type': 'local'}], 'imageRef': IMAGE[::-1]},
     'The image of the boot block device mapping must be the imageRef.'),
    ({'block_device_mapping': [{'volume_id': IMAGE}],
      'block_device_mapping_v2': [{'boot_index': 0, 'uuid': IMAGE}]},
     'Using different block_device_mapping syntaxes is not allowed'),
    ({'imageRef': ''}, 'Can not find requested image'),
    ({'bogus': 1}, 'Additional properties are not allowed'),
])
def test_create_bad_input(user: Any, compute: FakeComputeAPI, flavor: None,
                          server: dict[str, Any], message: str) -> None:
    r = user.post('/servers', body(**server))
    assert r.status_code == 400, r.text
    assert message in r.json['badRequest']['message']
    assert compute.created == []


def test_create_with_a_volume_needs_the_volume_service(
        user: Any, compute: FakeComputeAPI, flavor: None) -> None:
    r = user.post('/servers', body(imageRef='', block_device_mapping_v2=[
        {'boot_index': 0, 'uuid': IMAGE, 'source_type': 'volume',
         'destination_type': 'volume'}]))
    assert r.status_code == 501, r.text
    assert 'No volume service is configured' in r.json['notImplemented']['message']
    assert compute.created == []


def test_create_over_quota(user: Any, compute: FakeComputeAPI, flavor: None) -> None:
    CONF.set_override('instances', 0, group='quota')
    try:
        r = user.post('/servers', body())
    finally:
        CONF.clear_override('instances', group='quota')
    assert r.status_code == 403
    assert r.json['forbidden']['message'] == (
        'Quota exceeded for instances: Requested 1, but already used 0 of 0 instances')


def test_show_latest(user: Any, admin: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add(tags=['a'])
    s = user.get(f"/servers/{inst['uuid']}").json['server']
    assert s['status'] == 'ACTIVE' and s['tenant_id'] == 'proj-a'
    assert s['flavor'] == {'vcpus': 1, 'ram': 512, 'disk': 1, 'ephemeral': 0, 'swap': 0,
                           'original_name': 'm1.tiny', 'extra_specs': {}}
    assert s['image'] == {'id': IMAGE, 'links': [
        {'rel': 'bookmark', 'href': f'http://falconframework.org/images/{IMAGE}'}],
        'properties': {}}
    assert s['created'] == '2026-01-02T03:04:05Z'
    assert s['OS-SRV-USG:launched_at'] == '2026-01-02T03:04:05'
    assert s['addresses'] == {} and 'security_groups' not in s
    assert len(s['hostId']) == 56
    assert s['locked'] is False and s['locked_reason'] is None and s['tags'] == ['a']
    assert s['server_groups'] == [] and s['trusted_image_certificates'] is None
    assert s['pinned_availability_zone'] is None and s['scheduler_hints'] == {}
    assert s['OS-EXT-SRV-ATTR:hostname'] == 'vm1'
    assert 'OS-EXT-SRV-ATTR:host' not in s and 'host_status' not in s
    a = admin.get(f"/servers/{inst['uuid']}").json['server']
    assert a['OS-EXT-SRV-ATTR:host'] == 'compute1'
    assert a['OS-EXT-SRV-ATTR:instance_name'] == 'instance-00000007'
    assert a['host_status'] == ''  # no compute service row for compute1 in any cell


def test_show_v21(user: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    s = user.get(f"/servers/{inst['uuid']}", version='2.1').json['server']
    assert s['flavor'] == {'id': '1', 'links': [
        {'rel': 'bookmark', 'href': 'http://falconframework.org/flavors/1'}]}
    for key in ('locked', 'description', 'tags', 'server_groups', 'pinned_availability_zone',
                'scheduler_hints', 'OS-EXT-SRV-ATTR:hostname'):
        assert key not in s
    assert 'properties' not in s['image']


def test_error_server_shows_fault(user: Any, admin: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add(vm_state='error', fault={
        'code': 500, 'message': 'No valid host was found.', 'details': 'tb',
        'created_at': '2026-01-02T03:04:05'})
    s = user.get(f"/servers/{inst['uuid']}").json['server']
    assert s['status'] == 'ERROR'
    assert s['fault'] == {'code': 500, 'created': '2026-01-02T03:04:05Z',
                          'message': 'No valid host was found.'}
    assert admin.get(f"/servers/{inst['uuid']}").json['server']['fault']['details'] == 'tb'


def test_other_projects_server_is_404(other: Any, admin: Any, compute: FakeComputeAPI
                                      ) -> None:
    inst = compute.add()
    r = other.get(f"/servers/{inst['uuid']}")
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == f"Instance {inst['uuid']} could not be found."
    assert other.delete(f"/servers/{inst['uuid']}").status_code == 404
    assert admin.get(f"/servers/{inst['uuid']}").status_code == 200


def test_list_and_detail(user: Any, compute: FakeComputeAPI) -> None:
    a = compute.add(display_name='a')
    compute.add(display_name='b', project_id='proj-b')
    r = user.get('/servers')
    assert r.json['servers'] == [{'id': a['uuid'], 'name': 'a', 'links': [
        {'rel': 'self', 'href': f"http://falconframework.org/v2.1/servers/{a['uuid']}"},
        {'rel': 'bookmark', 'href': f"http://falconframework.org/servers/{a['uuid']}"}]}]
    call = compute.get_all_calls[-1]
    assert call['filters'] == {'project_id': 'proj-a'}
    assert call['sort_keys'] == ['created_at'] and call['sort_dirs'] == ['desc']
    r = user.get('/servers/detail?status=active&name=^a&host=h1&limit=1')
    assert r.json['servers'][0]['status'] == 'ACTIVE' and 'server_groups' not in \
        r.json['servers'][0]
    assert 'marker=' + a['uuid'] in r.json['servers_links'][0]['href']
    f = compute.get_all_calls[-1]['filters']
    assert f == {'project_id': 'proj-a', 'regex': {'display_name': '^a'},
                 'vm_state': ['active']}  # no host


def test_list_admin_filters(admin: Any, user: Any, compute: FakeComputeAPI) -> None:
    compute.add()
    admin.get('/servers/detail?all_tenants=1&host=h1&deleted=true&changes-before='
              '2026-01-01T00:00:00Z&sort_key=display_name&sort_dir=asc')
    call = compute.get_all_calls[-1]
    assert 'project_id' not in call['filters'] and call['filters']['host'] == 'h1'
    assert call['filters']['deleted'] is True
    assert call['sort_keys'] == ['display_name'] and call['sort_dirs'] == ['asc']
    admin.get('/servers?all_tenants&project_id=proj-x')
    assert compute.get_all_calls[-1]['filters']['project_id'] == 'proj-x'
    r = user.get('/servers?all_tenants=1')
    assert r.status_code == 403


def test_list_errors(user: Any, compute: FakeComputeAPI) -> None:
    r = user.get('/servers?marker=nope')
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == 'marker [nope] not found'
    assert user.get('/servers?status=bogus').status_code == 400
    assert user.get('/servers?status=bogus', version='2.37').json == {'servers': []}
    assert user.get('/servers?sort_key=bogus').status_code == 400
    assert user.get('/servers?changes-since=yesterday').status_code == 400
    assert user.get('/servers?unknown=1').status_code == 400
    assert user.get('/servers?unknown=1', version='2.74').status_code == 200


def test_update_and_delete(user: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    r = user.put(f"/servers/{inst['uuid']}", {'server': {'name': 'new', 'description': 'x'}})
    assert r.status_code == 200
    assert r.json['server']['name'] == 'new' and r.json['server']['description'] == 'x'
    r = user.put(f"/servers/{inst['uuid']}", {'server': {'hostname': 'h'}}, version='2.89')
    assert r.status_code == 400
    r = user.put(f"/servers/{inst['uuid']}", {'server': {'pinned_availability_zone': 'other'}})
    assert r.status_code == 409
    r = user.put(f"/servers/{inst['uuid']}", {'server': {'pinned_availability_zone': None}})
    assert r.status_code == 200
    assert user.delete(f"/servers/{inst['uuid']}").status_code == 204
    assert compute.deleted == [inst['uuid']]


def test_instance_actions(user: Any, admin: Any, compute: FakeComputeAPI) -> None:
    inst = compute.add()
    r = user.get(f"/servers/{inst['uuid']}/os-instance-actions")
    assert r.status_code == 200
    (action,) = r.json['instanceActions']
    assert action['request_id'] == 'req-1' and action['updated_at'] == '2026-01-02T00:01:00'
    r = user.get(f"/servers/{inst['uuid']}/os-instance-actions/req-1")
    (event,) = r.json['instanceAction']['events']
    assert 'traceback' not in event and 'host' not in event and 'details' not in event
    assert 'hostId' in event
    r = admin.get(f"/servers/{inst['uuid']}/os-instance-actions/req-1")
    (event,) = r.json['instanceAction']['events']
    assert event['traceback'] == 'Traceback...' and event['host'] == 'compute1'
    assert event['details'] == 'boom'
    assert user.get(f"/servers/{inst['uuid']}/os-instance-actions/req-9").status_code == 404


@pytest.mark.parametrize('version, code', [('2.20', 404), ('2.21', 200), ('latest', 200)])
def test_instance_actions_of_a_deleted_server(user: Any, compute: FakeComputeAPI,
                                              version: str, code: int) -> None:
    """From 2.21 Nova reads a deleted server's actions; before, it is a 404."""
    inst = compute.add(deleted=7, vm_state='deleted')
    for path in ('os-instance-actions', 'os-instance-actions/req-1'):
        r = user.get(f"/servers/{inst['uuid']}/{path}", version=version)
        assert r.status_code == code, r.text
    assert user.get(f"/servers/{inst['uuid']}", version=version).status_code == 404


def test_access_ips_are_stored_canonical(user: Any, compute: FakeComputeAPI,
                                         flavor: None) -> None:
    """Nova keeps accessIPv6 compressed: 0000:...:babe:220.12.22.2 -> ::babe:dc0c:1602."""
    long_v6 = '0000:0000:0000:0000:0000:babe:220.12.22.2'
    r = user.post('/servers', body(accessIPv6=long_v6, accessIPv4='192.168.0.10'))
    assert r.status_code == 202, r.text
    assert compute.created[0]['access_ip_v6'] == '::babe:dc0c:1602'
    assert compute.created[0]['access_ip_v4'] == '192.168.0.10'
    inst = compute.add()
    r = user.put(f"/servers/{inst['uuid']}", {'server': {'accessIPv6': 'FE80:0:0:0:0:0:0:1'}})
    assert r.status_code == 200, r.text
    assert r.json['server']['accessIPv6'] == 'fe80::1'


def test_metadata_items_quota(user: Any, compute: FakeComputeAPI, flavor: None) -> None:
    CONF.set_override('metadata_items', 1, group='quota')
    try:
        r = user.post('/servers', body(metadata={'a': '1', 'b': '2'}))
        assert r.status_code == 403
        assert r.json['forbidden']['message'] == 'Maximum number of metadata items exceeds 1'
        assert user.post('/servers', body(metadata={'a': '1'})).status_code == 202
    finally:
        CONF.clear_override('metadata_items', group='quota')


_UPDATE_BASE = {'id', 'name', 'status', 'tenant_id', 'user_id', 'metadata', 'hostId',
                'image', 'flavor', 'created', 'updated', 'addresses', 'accessIPv4',
                'accessIPv6', 'links', 'OS-DCF:diskConfig', 'progress'}
_FULL_ONLY = {'OS-EXT-AZ:availability_zone', 'config_drive', 'key_name',
              'OS-SRV-USG:launched_at', 'OS-SRV-USG:terminated_at', 'OS-EXT-STS:task_state',
              'OS-EXT-STS:vm_state', 'OS-EXT-STS:power_state',
              'os-extended-volumes:volumes_attached'}
_ADMIN_ATTRS = {'OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:instance_name',
                'OS-EXT-SRV-ATTR:hypervisor_hostname', 'OS-EXT-SRV-ATTR:hostname',
                'OS-EXT-SRV-ATTR:kernel_id', 'OS-EXT-SRV-ATTR:ramdisk_id',
                'OS-EXT-SRV-ATTR:launch_index', 'OS-EXT-SRV-ATTR:reservation_id',
                'OS-EXT-SRV-ATTR:root_device_name', 'OS-EXT-SRV-ATTR:user_data'}


@pytest.mark.parametrize('version, added', [
    ('2.1', set()),
    ('2.9', {'locked'}),
    ('2.19', {'locked', 'description'}),
    ('2.26', {'locked', 'description', 'tags'}),
    ('2.47', {'locked', 'description', 'tags'}),
    ('2.63', {'locked', 'description', 'tags', 'trusted_image_certificates'}),
    ('2.71', {'locked', 'description', 'tags', 'trusted_image_certificates',
              'server_groups'}),
    ('2.74', {'locked', 'description', 'tags', 'trusted_image_certificates',
              'server_groups', 'locked_reason'}),
])
def test_update_response_before_275(admin: Any, compute: FakeComputeAPI, version: str,
                                    added: set[str]) -> None:
    """Nova's PUT body before 2.75: no AZ, extended status or attributes, usage
    stamps, key name or config drive, even for an admin (Tempest's schemas)."""
    inst = compute.add(network_info=[{'address': 'fa:16:3e:00:00:01', 'network': {
        'label': 'private', 'subnets': [{'ips': [{'address': '10.0.0.5'}]}]}}])
    r = admin.put(f"/servers/{inst['uuid']}", {'server': {'name': 'renamed'}},
                  version=version)
    assert r.status_code == 200, r.text
    server = r.json['server']
    assert set(server) == _UPDATE_BASE | added
    assert server['name'] == 'renamed'
    assert server['addresses'] == {'private': [{'version': 4, 'addr': '10.0.0.5'}]}
    if version == '2.47':
        assert set(server['flavor']) == {'vcpus', 'ram', 'disk', 'ephemeral', 'swap',
                                         'original_name', 'extra_specs'}


@pytest.mark.parametrize('version, added', [
    ('2.75', set()),
    ('2.90', set()),
    ('2.96', {'pinned_availability_zone'}),
    ('2.100', {'pinned_availability_zone', 'scheduler_hints'}),
])
def test_update_response_from_275_is_the_show_view(admin: Any, user: Any,
                                                   compute: FakeComputeAPI, version: str,
                                                   added: set[str]) -> None:
    inst = compute.add()
    for client in (admin, user):
        r = client.put(f"/servers/{inst['uuid']}", {'server': {'name': 'n'}},
                       version=version)
        assert r.status_code == 200, r.text
        shown = client.get(f"/servers/{inst['uuid']}", version=version).json['server']
        assert r.json['server'] == dict(shown, updated=r.json['server']['updated'])
        keys = set(r.json['server'])
        assert _FULL_ONLY <= keys and added <= keys
        assert (_ADMIN_ATTRS <= keys) == (client is admin)
        assert ('OS-EXT-SRV-ATTR:hostname' in keys) == (client is admin
                                                        or version != '2.75')
        assert ('host_status' in keys) == (client is admin)


_NEW_283 = ('availability_zone=az&config_drive=True&key_name=k&created_at=2026&'
            'launched_at=2026&terminated_at=2026&power_state=1&task_state=spawning&'
            'vm_state=active&progress=0&user_id=u1')


@pytest.mark.parametrize('version, expected', [
    ('2.25', {'project_id': 'proj-a'}),
    ('2.26', {'project_id': 'proj-a', 'tags': ['a', 'b'], 'tags-any': ['c'],
              'not-tags': ['d'], 'not-tags-any': ['e', 'f']}),
    ('2.82', {'project_id': 'proj-a', 'tags': ['a', 'b'], 'tags-any': ['c'],
              'not-tags': ['d'], 'not-tags-any': ['e', 'f']}),
    ('2.83', {'project_id': 'proj-a', 'tags': ['a', 'b'], 'tags-any': ['c'],
              'not-tags': ['d'], 'not-tags-any': ['e', 'f'], 'user_id': 'u1',
              'vm_state': 'active', 'task_state': 'spawning',
              'regex': {'availability_zone': 'az', 'config_drive': 'True', 'key_name': 'k',
                        'created_at': '2026', 'launched_at': '2026',
                        'terminated_at': '2026', 'power_state': '1', 'progress': '0'}}),
])
def test_member_filters_per_microversion(user: Any, compute: FakeComputeAPI, version: str,
                                         expected: dict[str, Any]) -> None:
    """A member's filters reach the compute layer from the version Nova allows
    them; before, they are dropped (never a 400 below 2.75)."""
    r = user.get('/servers?tags=a,b&tags-any=c&not-tags=d&not-tags-any=e,f&host=h1&'
                 'node=n1&' + _NEW_283, version=version)
    assert r.status_code == 200, r.text
    assert compute.get_all_calls[-1]['filters'] == expected


def test_hostname_filter_for_members_from_290(user: Any, compute: FakeComputeAPI) -> None:
    user.get('/servers?hostname=web', version='2.89')
    assert 'regex' not in compute.get_all_calls[-1]['filters']
    user.get('/servers?hostname=web', version='2.90')
    assert compute.get_all_calls[-1]['filters']['regex'] == {'hostname': 'web'}


def test_admin_filters_and_unknown_parameters(admin: Any, compute: FakeComputeAPI) -> None:
    r = admin.get('/servers?node=n1&host=h1&tags=a&bogus=1', version='2.74')
    assert r.status_code == 200, r.text
    f = compute.get_all_calls[-1]['filters']
    assert f['host'] == 'h1' and f['regex'] == {'node': 'n1'} and f['tags'] == ['a']
    assert 'bogus' not in f
    assert admin.get('/servers?bogus=1', version='2.75').status_code == 400
    for name in ('metadata', 'pci_devices', '_internal'):
        r = admin.get(f'/servers?{name}=x', version='2.74')
        assert r.status_code == 400, name
        assert r.json['badRequest']['message'] == f'Invalid filter field: {name}.'


def test_filter_errors_as_nova(user: Any, admin: Any, compute: FakeComputeAPI) -> None:
    r = user.get('/servers?vm_state=deleted', version='2.83')
    assert r.status_code == 403
    assert r.json['forbidden']['message'] == 'Only administrators may list deleted instances'
    admin.get('/servers?vm_state=deleted')
    assert compute.get_all_calls[-1]['filters']['deleted'] is True
    r = user.get('/servers?sort_key=host')
    assert r.status_code == 403
    assert r.json['forbidden']['message'] == 'Only administrators can sort servers by host'
    r = user.get('/servers?locked=maybe')
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == (
        "Invalid input received: Unrecognized value 'maybe', acceptable values are: "
        "'0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")
    assert admin.get('/servers?all_tenants=maybe').status_code == 400
    admin.get('/servers?deleted=maybe')
    assert compute.get_all_calls[-1]['filters']['deleted'] is False


@pytest.mark.parametrize('version, admin, expected_extra, absent', [
    ('2.47', True, set(), {'OS-EXT-AZ:availability_zone', 'OS-EXT-STS:vm_state',
                           'OS-SRV-USG:launched_at', 'OS-EXT-SRV-ATTR:host', 'key_name'}),
    ('2.54', False, {'key_name'}, {'user_data', 'OS-EXT-STS:vm_state'}),
    ('2.57', False, {'key_name', 'user_data'}, {'OS-EXT-AZ:availability_zone'}),
    ('2.75', True, {'user_data', 'OS-EXT-SRV-ATTR:host', 'OS-EXT-STS:vm_state', 'key_name'},
     {'OS-EXT-SRV-ATTR:user_data'}),
])
def test_rebuild_shape(version: str, admin: bool, expected_extra: set[str],
                       absent: set[str]) -> None:
    """The view rebuild will answer with: Nova's body per version (2.47 has the
    embedded flavor but no extended attributes), user_data at the top level."""
    import falcon.testing

    from minova.api import microversion
    from minova.api.views import servers as view
    from tests.unit.api.conftest import make_instance
    req = falcon.testing.create_req()
    req.context.api_version = microversion.parse(version)
    inst = make_instance(user_data='dXNlcg==', key_name='k1')
    from minova.api import versioned
    shape = versioned.schema_for(req, view.REBUILD_SHAPE)
    body = view.show(req, inst, view.ServerExtras(is_admin=admin), shape=shape)
    assert expected_extra <= set(body), expected_extra - set(body)
    assert not absent & set(body), absent & set(body)
    if version == '2.47':
        assert set(body['flavor']) >= {'vcpus', 'ram', 'disk', 'original_name'}
