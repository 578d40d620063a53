"""mini-Nova behind a real Keystone, driven by python-openstackclient.

Everything here goes through tokens Keystone issued and endpoints its
catalog lists: the `openstack` CLI with admin-openrc style environments, and
keystoneauth1 sessions for the raw REST checks.
"""
from __future__ import annotations

import json
from typing import Any

import requests

from tests.integration.keystone.conftest import Cloud, openstack


def _json(cloud: Cloud, user: str, project: str, *args: str) -> Any:
    return json.loads(openstack(cloud, user, project, *args, '-f', 'json').stdout)


def _compute(cloud: Cloud, user: str, project: str) -> Any:
    """A keystoneauth1 adapter on the compute endpoint the catalog names."""
    from keystoneauth1 import adapter
    return adapter.Adapter(cloud.session(user, project), service_type='compute',
                           interface='public', region_name='RegionOne',
                           default_microversion='2.79', raise_exc=False)


def test_tokens_are_required_and_checked(cloud: Cloud) -> None:
    uri = f'Keystone uri="http://127.0.0.1:{cloud.keystone.port}/"'
    for url in (cloud.compute_url + '/servers', cloud.placement_url + '/resource_providers'):
        for headers in ({}, {'X-Auth-Token': 'not-a-keystone-token'}):
            r = requests.get(url, headers=headers, timeout=30)
            assert r.status_code == 401, (url, headers, r.text)
            assert r.headers['WWW-Authenticate'] == uri
    # Version documents stay public, as upstream's do.
    assert requests.get(cloud.compute_url, timeout=10).json()['version']['id'] == 'v2.1'
    root = requests.get(f'http://127.0.0.1:{cloud.api_port}/', timeout=10)
    assert root.status_code == 200 and root.json()['versions']
    assert requests.get(cloud.placement_url + '/', timeout=10).status_code == 200


def test_admin_lists_services_and_hypervisors(cloud: Cloud) -> None:
    services = _json(cloud, 'admin', 'admin', 'compute', 'service', 'list')
    by_binary = {s['Binary']: s for s in services}
    assert {'nova-compute', 'nova-scheduler', 'nova-conductor'} <= set(by_binary)
    assert all(s['State'] == 'up' and s['Status'] == 'enabled' for s in services)
    (hypervisor,) = _json(cloud, 'admin', 'admin', 'hypervisor', 'list')
    assert hypervisor['State'] == 'up'
    # A member is refused the admin API with Nova's 403.
    r = _compute(cloud, 'demo-a', 'projectA').get('/os-services')
    assert r.status_code == 403 and 'forbidden' in r.json()


def test_two_projects_cannot_see_each_others_servers(cloud: Cloud, tmp_path: Any) -> None:
    flavor = _json(cloud, 'admin', 'admin', 'flavor', 'create', '--vcpus', '1', '--ram', '64',
                   '--disk', '1', 'ks.tiny')
    assert flavor['name'] == 'ks.tiny'
    disk = tmp_path / 'disk.raw'
    disk.write_bytes(b'\0' * 65536)
    image = _json(cloud, 'admin', 'admin', 'image', 'create', '--public', '--disk-format', 'raw',
                  '--container-format', 'bare', '--file', str(disk), 'ks-image')
    assert image['status'] == 'active'

    servers = {}
    for user, project in (('demo-a', 'projectA'), ('demo-b', 'projectB')):
        server = _json(cloud, user, project, 'server', 'create', '--flavor', 'ks.tiny',
                       '--image', 'ks-image', '--nic', 'none', '--wait', f'vm-{project}')
        assert server['status'] == 'ACTIVE', server
        assert server['project_id'] == cloud.ids[project]
        servers[project] = server['id']

    for user, project, other in (('demo-a', 'projectA', 'projectB'),
                                 ('demo-b', 'projectB', 'projectA')):
        listed = _json(cloud, user, project, 'server', 'list')
        assert [s['ID'] for s in listed] == [servers[project]]
        shown = openstack(cloud, user, project, 'server', 'show', servers[other], check=False)
        assert shown.returncode != 0
        assert f'No Server found for {servers[other]}' in shown.stderr
        deleted = openstack(cloud, user, project, 'server', 'delete', servers[other],
                            check=False)
        assert deleted.returncode != 0
        r = _compute(cloud, user, project).get(f'/servers/{servers[other]}')
        assert r.status_code == 404, r.text   # not 403: the server is invisible

    # A reader of project A may look but not act.
    reader = _compute(cloud, 'reader-a', 'projectA')
    assert reader.get(f'/servers/{servers["projectA"]}').status_code == 200
    r = reader.delete(f'/servers/{servers["projectA"]}')
    assert r.status_code == 403 and 'forbidden' in r.json()
    r = reader.post('/servers', json={'server': {'name': 'no', 'flavorRef': flavor['id'],
                                                 'imageRef': image['id'], 'networks': 'none'}})
    assert r.status_code == 403

    # The API looks images up in the Image service the catalog names ([glance]
    # has no endpoint_override), as the nova service user.
    r = _compute(cloud, 'demo-a', 'projectA').post('/servers', json={'server': {
        'name': 'x', 'flavorRef': flavor['id'], 'networks': 'none',
        'imageRef': '00000000-0000-4000-8000-000000000000'}})
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'Can not find requested image'

    everything = _json(cloud, 'admin', 'admin', 'server', 'list', '--all-projects')
    assert {s['ID'] for s in everything} >= set(servers.values())

    for user, project in (('demo-a', 'projectA'), ('demo-b', 'projectB')):
        openstack(cloud, user, project, 'server', 'delete', '--wait', servers[project])
        assert _json(cloud, user, project, 'server', 'list') == []


def test_services_reach_placement_through_the_catalog(cloud: Cloud) -> None:
    """Placement saw keystone-validated calls from the `placement` service user.

    [placement] has no endpoint_override: the scheduler and compute took
    placement's URL from the catalog, and the compute node's inventory there
    came through those calls.
    """
    log = cloud.log()
    assert (f"placement: keystone user {cloud.ids['placement']} (placement) "
            f"project {cloud.ids['service']}") in log
    admin = cloud.session('admin', 'admin')
    r = admin.get('/resource_providers', endpoint_filter={'service_type': 'placement',
                                                          'interface': 'public'},
                  headers={'OpenStack-API-Version': 'placement 1.20'}, raise_exc=False)
    assert r.status_code == 200, r.text
    (provider,) = r.json()['resource_providers']
    r = admin.get(f"/resource_providers/{provider['uuid']}/inventories",
                  endpoint_filter={'service_type': 'placement', 'interface': 'public'},
                  raise_exc=False)
    assert {'VCPU', 'MEMORY_MB', 'DISK_GB'} <= set(r.json()['inventories'])


def test_all_in_one_serves_its_own_placement(cloud: Cloud, tmp_path: Any) -> None:
    """`[placement] auth_type = password` and no endpoint_override: the
    all-in-one runs placement itself (those options only say how to
    authenticate), its scheduler and compute use it, and a boot lands."""
    (all_in_one,) = cloud.procs            # no minova-placement beside it
    assert all_in_one.poll() is None
    assert f'placement on http://127.0.0.1:{cloud.placement_port}' in cloud.log()
    assert requests.get(cloud.placement_url + '/', timeout=10).status_code == 200

    _json(cloud, 'admin', 'admin', 'flavor', 'create', '--vcpus', '1', '--ram', '64',
          '--disk', '1', 'aio.tiny')
    disk = tmp_path / 'disk.raw'
    disk.write_bytes(b'\0' * 65536)
    _json(cloud, 'admin', 'admin', 'image', 'create', '--public', '--disk-format', 'raw',
          '--container-format', 'bare', '--file', str(disk), 'aio-image')
    server = _json(cloud, 'demo-a', 'projectA', 'server', 'create', '--flavor', 'aio.tiny',
                   '--image', 'aio-image', '--nic', 'none', '--wait', 'aio-vm')
    assert server['status'] == 'ACTIVE', server
    r = cloud.session('admin', 'admin').get(
        f"/allocations/{server['id']}",
        endpoint_filter={'service_type': 'placement', 'interface': 'public'},
        raise_exc=False)
    assert r.status_code == 200, r.text
    (allocation,) = r.json()['allocations'].values()
    assert allocation['resources'] == {'VCPU': 1, 'MEMORY_MB': 64, 'DISK_GB': 1}
    openstack(cloud, 'demo-a', 'projectA', 'server', 'delete', '--wait', server['id'])


def test_a_known_token_keeps_its_own_identity(cloud: Cloud) -> None:
    """auth_token's verdict on a token is remembered (minova/wsgi/keystone.py),
    but what the caller sends as identity headers never replaces it, and a
    bad service token beside a known user token is still refused."""
    token = cloud.session('demo-a', 'projectA').get_token()
    forged = {'X-Auth-Token': token, 'X-Roles': 'admin', 'X-Identity-Status': 'Confirmed',
              'X-Project-Id': cloud.ids['projectB'], 'X-User-Id': cloud.ids['demo-b'],
              'X-Is-Admin-Project': 'True'}
    for _ in range(3):   # the first through auth_token, then the remembered verdict
        r = requests.get(cloud.compute_url + '/os-services', headers=forged, timeout=30)
        assert r.status_code == 403, r.text
        r = requests.get(cloud.placement_url + '/resource_providers', timeout=30,
                         headers=dict(forged, **{'OpenStack-API-Version': 'placement 1.1'}))
        assert r.status_code == 403, r.text
        # The context's project is the token's: a URL naming projectB is refused.
        base = f'http://127.0.0.1:{cloud.api_port}/v2.1'
        r = requests.get(f"{base}/{cloud.ids['projectA']}/servers", headers=forged, timeout=30)
        assert r.status_code == 200, r.text
        r = requests.get(f"{base}/{cloud.ids['projectB']}/servers", headers=forged, timeout=30)
        assert r.status_code == 400 and cloud.ids['projectA'] in r.text, r.text
    r = requests.get(cloud.compute_url + '/servers', timeout=30,
                     headers={'X-Auth-Token': token, 'X-Service-Token': 'not-a-token'})
    assert r.status_code == 401, r.text
