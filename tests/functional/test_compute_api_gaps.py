"""Compute API behaviours Nova's clients and Tempest rely on, through the whole
system (issue 15): quotas on boot, per-microversion views, the extra routes."""
from __future__ import annotations

from typing import Any

from minova.image.builtin import TINY_IMAGE_ID
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
        r = admin.post(f'/servers/{server_id}/action', {'os-getConsoleOutput': {}})
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
    assert owner.delete(f'/images/{image_id}').status_code == 204
    assert owner.get(f'/images/{image_id}').status_code == 404


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
