"""Compute API behaviours Nova's clients and Tempest rely on, through the whole
system (issue 15): quotas on boot, per-microversion views, the extra routes."""
from __future__ import annotations

from typing import Any

from minova.image.builtin import TINY_IMAGE_ID
from minova.virt import fake
from tests.functional.conftest import Client

IMAGE = TINY_IMAGE_ID   # the all-in-one's built-in image (minova-tiny)


def _server(**extra: Any) -> dict[str, Any]:
    return {'server': {'name': 'gap', 'flavorRef': 'tiny', 'imageRef': IMAGE,
                       'networks': 'none', **extra}}


def test_metadata_items_quota_on_boot(api_base: str, admin: Client,
                                      tiny_flavor: dict[str, Any]) -> None:
    client = Client(api_base, token='meta:project-meta')
    r = admin.put('/os-quota-sets/project-meta', {'quota_set': {'metadata_items': 2}})
    assert r.status_code == 200, r.text
    r = client.post('/servers', _server(metadata={'a': '1', 'b': '2', 'c': '3'}))
    assert r.status_code == 403, r.text
    assert r.json() == {'forbidden': {
        'code': 403, 'message': 'Maximum number of metadata items exceeds 2'}}
    assert client.get('/servers').json()['servers'] == []


def _active(admin: Client, **extra: Any) -> str:
    r = admin.post('/servers', _server(**extra))
    assert r.status_code == 202, r.text
    server_id = r.json()['server']['id']
    assert admin.wait_for_status(server_id, {'ACTIVE', 'ERROR'})['status'] == 'ACTIVE'
    return server_id


def test_driver_reports_over_rpc(admin: Client, tiny_flavor: dict[str, Any]) -> None:
    """Console output, diagnostics and host uptime travel API -> compute -> fake driver."""
    server_id = _active(admin)
    try:
        # No length, a null one or -1: the whole log, longer than 3 lines (Tempest's
        # unlimited-size test); its last three lines are Nova's fake driver's.
        for body in ({}, {'length': None}, {'length': -1}, {'length': '-1'}):
            r = admin.post(f'/servers/{server_id}/action', {'os-getConsoleOutput': body})
            assert r.json() == {'output': fake.FAKE_CONSOLE_LOG}, body
            assert len(r.json()['output'].split('\n')) > 3
        r = admin.post(f'/servers/{server_id}/action', {'os-getConsoleOutput': {'length': 3}})
        assert r.json() == {'output': 'FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE'}
        r = admin.post(f'/servers/{server_id}/action', {'os-getConsoleOutput': {'length': 1}})
        assert r.json() == {'output': 'LAST LINE'}
        r = admin.get(f'/servers/{server_id}/diagnostics')
        assert r.status_code == 200, r.text
        assert r.json()['uptime'] == 46664 and r.json()['num_cpus'] == 1   # Nova's fake values
        r = Client(admin.base, microversion='2.47').get(f'/servers/{server_id}/diagnostics')
        assert r.status_code == 200 and r.json()['cpu0_time'] == 17300000000
        assert admin.get(f'/servers/{server_id}/ips').json() == {'addresses': {}}
        assert admin.post(f'/servers/{server_id}/action', {'os-stop': {}}).status_code == 202
        admin.wait_for_status(server_id, {'SHUTOFF'})
        r = admin.get(f'/servers/{server_id}/diagnostics')
        assert r.status_code == 409, r.text
        assert r.json()['conflictingRequest']['message'] == (
            f"Cannot 'get_diagnostics' instance {server_id} while it is in power state "
            'shutdown')
    finally:
        admin.delete(f'/servers/{server_id}')
        admin.wait_gone(server_id)
    old = Client(admin.base, microversion='2.87')
    node = old.get('/os-hypervisors').json()['hypervisors'][0]
    r = old.get(f"/os-hypervisors/{node['id']}/uptime")
    assert r.status_code == 501, r.text
    assert r.json() == {'notImplemented': {
        'code': 501, 'message': 'The requested functionality is not supported.'}}


def test_list_filters_tags_and_283(api_base: str, tiny_flavor: dict[str, Any]) -> None:
    member = Client(api_base, token='tagger:project-tags')
    made: dict[str, str] = {}
    for name, tags, drive in (('t-ab', ['a', 'b'], True), ('t-b', ['b'], False),
                              ('t-none', [], False)):
        r = member.post('/servers', _server(name=name, tags=tags, config_drive=drive))
        assert r.status_code == 202, r.text
        made[r.json()['server']['id']] = name
    try:
        for sid in made:
            member.wait_for_status(sid, {'ACTIVE'})

        def names(query: str, version: str = 'latest') -> set[str]:
            r = Client(api_base, token='tagger:project-tags', microversion=version).get(
                '/servers?' + query)
            assert r.status_code == 200, r.text
            return {s['name'] for s in r.json()['servers']}

        assert names('tags=a,b') == {'t-ab'}
        assert names('tags-any=a,b') == {'t-ab', 't-b'}
        assert names('not-tags=a,b') == {'t-b', 't-none'}
        assert names('not-tags-any=b') == {'t-none'}
        assert names('config_drive=True') == {'t-ab'}
        assert names('config_drive=True', version='2.82') == set(made.values())  # dropped
        assert names('name=^t-(ab|b)$&tags=b') == {'t-ab', 't-b'}
        assert names('created_at=^20') == set(made.values())
        assert names('power_state=1&vm_state=active') == set(made.values())
    finally:
        for sid in made:
            member.delete(f'/servers/{sid}')
        for sid in made:
            member.wait_gone(sid)


def test_migrations_list_is_empty(admin: Client) -> None:
    for version in ('2.1', '2.23', '2.59', '2.80', 'latest'):
        r = Client(admin.base, microversion=version).get('/os-migrations')
        assert r.status_code == 200, r.text
        assert r.json() == {'migrations': []}
    r = admin.get('/os-migrations?marker=0f1c5bc2-9a6e-4d2f-8d39-1c2a7f9d1e11')
    assert r.status_code == 400


def test_images_proxy_through_the_image_service(aio: Any, admin: Client) -> None:
    import requests
    if not aio.image_port:
        import pytest
        pytest.skip('no embedded image service')
    glance = f'http://127.0.0.1:{aio.image_port}'
    r = requests.post(glance + '/v2/images', json={
        'name': 'proxied', 'disk_format': 'raw', 'container_format': 'bare',
        'visibility': 'private', 'os_distro': 'testos'},
        headers={'X-Auth-Token': 'imgowner:project-img'}, timeout=10)
    assert r.status_code == 201, r.text
    image_id = r.json()['id']
    from minova.conf import CONF
    unset = not CONF.glance.api_servers   # the fake driver's all-in-one may leave it so
    if unset:
        CONF.set_override('api_servers', [glance], group='glance')
    try:
        _proxy_checks(admin, image_id)
    finally:
        if unset:
            CONF.clear_override('api_servers', group='glance')


def _proxy_checks(admin: Client, image_id: str) -> None:
    owner = Client(admin.base, token='imgowner:project-img', microversion='2.35')
    stranger = Client(admin.base, token='stranger:project-x', microversion='2.35')
    listed = owner.get('/images/detail').json()['images']
    mine = next(i for i in listed if i['id'] == image_id)
    assert mine['status'] == 'SAVING' and mine['metadata']['os_distro'] == 'testos'
    # the image service decides visibility: a private image is the owner's only
    assert image_id not in [i['id'] for i in stranger.get('/images').json()['images']]
    assert stranger.get(f'/images/{image_id}').status_code == 404
    assert owner.get(f'/images/{image_id}').json()['image']['name'] == 'proxied'
    assert Client(admin.base, token='imgowner:project-img').get(
        f'/images/{image_id}').status_code == 404     # gone from 2.36
    _metadata_checks(admin, owner, stranger, image_id)
    assert owner.delete('/images/').status_code == 404   # a blank id, as Nova's
    assert owner.delete(f'/images/{image_id}').status_code == 204
    assert owner.get(f'/images/{image_id}').status_code == 404


def _metadata_checks(admin: Client, owner: Client, stranger: Client, image_id: str) -> None:
    """/images/{id}/metadata[/{key}] (2.1-2.38): the image's properties."""
    path = f'/images/{image_id}/metadata'
    assert owner.get(path).json() == {'metadata': {'os_distro': 'testos'}}
    # PUT replaces them all (os_distro goes), POST merges
    r = owner.put(path, {'metadata': {'os_version': 'v1', 'architecture': 'x86_64'}})
    assert r.status_code == 200, r.text
    assert r.json() == {'metadata': {'os_version': 'v1', 'architecture': 'x86_64'}}
    r = owner.post(path, {'metadata': {'os_version': 'v2', 'os_distro': 'other'}})
    assert r.status_code == 200, r.text
    assert r.json() == {'metadata': {'os_version': 'v2', 'architecture': 'x86_64',
                                     'os_distro': 'other'}}
    assert owner.get(path).json()['metadata'] == r.json()['metadata']
    assert owner.get(f'{path}/os_version').json() == {'meta': {'os_version': 'v2'}}
    assert owner.get(f'{path}/nope').status_code == 404
    r = owner.put(f'{path}/os_version', {'meta': {'os_version': 'v3'}})
    assert r.status_code == 200 and r.json() == {'meta': {'os_version': 'v3'}}
    r = owner.put(f'{path}/os_version', {'meta': {'other': 'v3'}})
    assert r.status_code == 400      # body and URI mismatch
    r = owner.put(f'{path}/os_version', {'meta': {'os_version': 'a', 'b': 'c'}})
    assert r.status_code == 400      # one key only
    assert owner.delete(f'{path}/os_distro').status_code == 204
    assert owner.delete(f'{path}/os_distro').status_code == 404
    assert owner.get(path).json() == {'metadata': {'os_version': 'v3',
                                                   'architecture': 'x86_64'}}
    # the image service decides: another project's private image is not found
    assert stranger.get(path).status_code == 404
    assert stranger.post(path, {'metadata': {'a': 'b'}}).status_code == 404
    missing = '/images/0f1c5bc2-9a6e-4d2f-8d39-1c2a7f9d1e11/metadata'
    assert owner.get(missing).status_code == 404
    # more properties than the metadata_items quota: 403, as Nova's
    r = admin.put('/os-quota-sets/project-img', {'quota_set': {'metadata_items': 2}})
    assert r.status_code == 200, r.text
    try:
        r = owner.post(path, {'metadata': {'third': '3'}})
        assert r.status_code == 403, r.text
        assert r.json()['forbidden']['message'] == 'Image metadata limit exceeded'
    finally:
        admin.delete('/os-quota-sets/project-img')
    # still there at 2.38, gone from 2.39 (Nova removed the image proxies' last part)
    assert Client(admin.base, token='imgowner:project-img', microversion='2.38').get(
        path).status_code == 200
    newer = Client(admin.base, token='imgowner:project-img', microversion='2.39')
    assert newer.get(path).status_code == 404
    assert newer.get(f'{path}/os_version').status_code == 404


def test_blank_ids_are_404(admin: Client) -> None:
    """A trailing slash where an id belongs is Nova's 404, not the collection."""
    old = Client(admin.base, microversion='2.35')
    assert old.delete('/images/').status_code == 404
    assert old.get('/images/').status_code == 404
    r = admin.get('/os-simple-tenant-usage/?start=2020-01-01T00:00:00'
                  '&end=2020-01-02T00:00:00')
    assert r.status_code == 404 and r.json()['itemNotFound']['code'] == 404
    assert admin.get('/flavors/').status_code == 404
    assert admin.delete('/servers/').status_code == 404
    # without the slash, the collections answer as before
    assert old.get('/images').status_code == 200
    assert admin.get('/os-simple-tenant-usage').status_code == 200


def test_extension_by_alias(admin: Client) -> None:
    """Nova's whole extension list, each entry by its alias."""
    listed = admin.get('/extensions').json()['extensions']
    assert {'os-consoles', 'os-hosts', 'OS-DCF', 'os-volumes'} <= {e['alias'] for e in listed}
    assert 'Hosts' in [e['name'] for e in listed]
    r = admin.get('/extensions/os-consoles')
    assert r.status_code == 200, r.text
    ext = r.json()['extension']
    assert ext['alias'] == 'os-consoles' and ext['name'] == 'Consoles'
    assert set(ext) == {'alias', 'description', 'links', 'name', 'namespace', 'updated'}
    assert admin.get('/extensions/os-keypairs').json()['extension']['name'] == 'Keypairs'
    assert admin.get('/extensions/no-such-extension').status_code == 404


def test_version_documents_follow_the_version_list(api_base: str) -> None:
    """Every self link of GET / is a version document (Tempest's
    test_get_version_details), authenticated or not."""
    import requests
    root = api_base.rsplit('/v2.1', 1)[0]
    versions = requests.get(root + '/', timeout=10).json()['versions']
    assert [v['id'] for v in versions] == ['v2.0', 'v2.1']
    for listed in versions:
        self_links = [link for link in listed['links'] if link['rel'] == 'self']
        assert len(self_links) == 1
        for headers in ({}, {'X-Auth-Token': 'admin:admin'}):
            r = requests.get(self_links[0]['href'], headers=headers, timeout=10)
            assert r.status_code == 200, (self_links, r.text)
            doc = r.json()['version']
            assert [link for link in doc['links'] if link['rel'] == 'self'] == self_links
            assert doc['id'] == listed['id'] and doc['status'] == listed['status']
            assert doc['media-types'][0]['base'] == 'application/json'
    v2 = requests.get(root + '/v2', timeout=10).json()['version']
    assert v2['status'] == 'DEPRECATED' and v2['version'] == '' and v2['min_version'] == ''
    assert v2['media-types'] == [{'base': 'application/json',
                                  'type': 'application/vnd.openstack.compute+json;version=2'}]


def test_hosts_and_audit_log_of_the_all_in_one(admin: Client) -> None:
    old = Client(admin.base, microversion='2.42')
    hosts = old.get('/os-hosts').json()['hosts']
    assert {'host_name': 'aio-host', 'service': 'compute', 'zone': 'nova'} in hosts
    assert {h['service'] for h in hosts} >= {'compute', 'scheduler', 'conductor'}
    resources = old.get('/os-hosts/aio-host').json()['host']
    assert resources[0]['resource']['project'] == '(total)'
    assert old.put('/os-hosts/aio-host', {'status': 'disable'}).status_code == 501
    log = admin.get('/os-instance_usage_audit_log').json()['instance_usage_audit_logs']
    assert 'aio-host' in log['hosts_not_run']
