"""os-server-external-events, the deprecated proxies (images, os-networks,
os-hosts) at and past their last microversion, and /extensions."""
from __future__ import annotations

from typing import Any

import pytest

from minova.clients import image as image_client
from tests.unit.api.conftest import Client, FakeComputeAPI, insert_node, insert_service

SERVICE = {'X-Roles': 'service'}
MISSING = 'a9f6e2c4-1111-4b1b-9c9c-000000000001'


def _events(*events: dict[str, Any]) -> dict[str, Any]:
    return {'events': list(events)}


def test_external_events_codes(admin: Client, compute: FakeComputeAPI) -> None:
    on_host = compute.add(cell_uuid='c1')
    building = compute.add(host=None, vm_state='building')
    r = admin.post('/os-server-external-events', _events(
        {'name': 'network-vif-plugged', 'server_uuid': on_host['uuid'], 'tag': 'p1',
         'status': 'failed'},
        {'name': 'network-changed', 'server_uuid': MISSING},
        {'name': 'network-vif-plugged', 'server_uuid': building['uuid']}), headers=SERVICE)
    assert r.status_code == 207, r.text
    assert r.json == {'events': [
        {'name': 'network-vif-plugged', 'server_uuid': on_host['uuid'], 'tag': 'p1',
         'status': 'completed', 'code': 200},
        {'name': 'network-changed', 'server_uuid': MISSING, 'status': 'failed',
         'code': 404},
        {'name': 'network-vif-plugged', 'server_uuid': building['uuid'],
         'status': 'failed', 'code': 422}]}
    (call,) = compute.calls
    # the compute host gets the event as sent
    assert call[0] == 'external_instance_event' and call[2][0]['status'] == 'failed'
    r = admin.post('/os-server-external-events', _events(
        {'name': 'network-changed', 'server_uuid': on_host['uuid']}), headers=SERVICE)
    assert r.status_code == 200
    assert r.json['events'][0]['code'] == 200 and r.json['events'][0]['status'] == 'completed'


@pytest.mark.parametrize('name, version, code', [
    ('network-vif-plugged', '2.1', 200), ('volume-extended', '2.50', 400),
    ('volume-extended', '2.51', 207), ('power-update', '2.75', 400),
    ('power-update', '2.76', 207), ('accelerator-request-bound', '2.82', 207),
    ('volume-reimaged', '2.92', 400), ('volume-reimaged', '2.93', 200),
    ('no-such-event', 'latest', 400)])
def test_external_event_names_per_version(admin: Client, compute: FakeComputeAPI,
                                          name: str, version: str, code: int) -> None:
    """Unknown names fail the whole request; the tagged ones need a tag (else a
    per-event 400 in a 207)."""
    inst = compute.add(cell_uuid='c1')
    r = admin.post('/os-server-external-events', _events(
        {'name': name, 'server_uuid': inst['uuid']}), headers=SERVICE, version=version)
    assert r.status_code == code, r.text


def test_external_events_policy(admin: Client, compute: FakeComputeAPI) -> None:
    body = _events({'name': 'network-changed', 'server_uuid': MISSING})
    r = admin.post('/os-server-external-events', body)   # admin, but not the service role
    assert r.status_code == 403
    assert admin.post('/os-server-external-events', {'events': []},
                      headers=SERVICE).status_code == 400


class FakeImages:
    images = [{'id': '155d900f-4e14-4e4c-a73d-069cbf4541e6', 'name': 'cirros',
               'status': 'active', 'min_ram': 64, 'min_disk': 1, 'size': 100,
               'created_at': '2026-01-01T00:00:00Z', 'updated_at': '2026-01-02T00:00:00Z',
               'visibility': 'public', 'os_distro': 'cirros', 'auto_disk_config': 'true'},
              {'id': 'aa9e2a6e-3f1e-4b8e-9d61-7a7e5b0c1d2e', 'name': 'snap',
               'status': 'queued', 'min_ram': 0, 'min_disk': 0,
               'instance_uuid': '0f1c5bc2-9a6e-4d2f-8d39-1c2a7f9d1e11'}]

    def __init__(self) -> None:
        self.listed: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def list(self, ctx: Any, filters: dict[str, str], limit: int | None = None,
             marker: str | None = None) -> list[dict[str, Any]]:
        self.listed.append(dict(filters, limit=limit, marker=marker))
        return self.images[:limit]

    def get(self, ctx: Any, image_id: str) -> dict[str, Any]:
        for i in self.images:
            if i['id'] == image_id:
                return i
        raise image_client.ImageNotFound(image_id=image_id)

    def delete(self, ctx: Any, image_id: str) -> None:
        self.get(ctx, image_id)
        self.deleted.append(image_id)


@pytest.fixture
def images(monkeypatch: pytest.MonkeyPatch) -> FakeImages:
    fake = FakeImages()
    from minova.api.handlers import images as handler
    monkeypatch.setattr(handler, '_client', lambda: fake)
    return fake


def test_images_proxy(user: Client, images: FakeImages) -> None:
    r = user.get('/images', version='2.35')
    assert r.status_code == 200
    assert [i['name'] for i in r.json['images']] == ['cirros', 'snap']
    assert set(r.json['images'][0]) == {'id', 'name', 'links'}
    r = user.get('/images?minRam=32', version='2.35')   # checked here: v2 has no such filter
    assert [i['name'] for i in r.json['images']] == ['cirros']
    r = user.get('/images/detail?status=ACTIVE&server=http://x/servers/abc'
                 '&property-os_distro=cirros', version='2.35')
    assert images.listed[-1] == {'status': 'active', 'instance_uuid': 'abc',
                                 'os_distro': 'cirros', 'limit': 1000, 'marker': None}
    cirros, snap = r.json['images']
    assert cirros['status'] == 'ACTIVE' and cirros['progress'] == 100
    assert cirros['minRam'] == 64 and cirros['OS-EXT-IMG-SIZE:size'] == 100
    assert cirros['metadata'] == {'os_distro': 'cirros', 'auto_disk_config': 'true'}
    assert cirros['OS-DCF:diskConfig'] == 'AUTO' and cirros['created'] == \
        '2026-01-01T00:00:00Z'
    assert snap['status'] == 'SAVING' and snap['progress'] == 25
    assert snap['server']['id'] == '0f1c5bc2-9a6e-4d2f-8d39-1c2a7f9d1e11'
    r = user.get('/images?limit=1', version='2.35')
    assert 'marker=155d900f' in r.json['images_links'][0]['href']
    r = user.get(f"/images/{images.images[0]['id']}", version='2.1')
    assert r.json['image']['name'] == 'cirros'
    r = user.get('/images/nope', version='2.35')
    assert r.status_code == 404 and r.json['itemNotFound']['message'] == 'Image not found.'
    assert user.delete(f"/images/{images.images[0]['id']}", version='2.35').status_code == 204
    for path in ('/images', '/images/detail', f"/images/{images.images[0]['id']}"):
        r = user.get(path, version='2.36')
        assert r.status_code == 404, path
        assert r.json == {'itemNotFound': {'code': 404,
                                           'message': 'The resource could not be found.'}}


def test_networks_proxy(user: Client) -> None:
    assert user.get('/os-networks', version='2.35').json == {'networks': []}
    r = user.get('/os-networks/net1', version='2.35')
    assert r.status_code == 404 and r.json['itemNotFound']['message'] == 'Network not found'
    assert user.get('/os-networks', version='2.36').status_code == 404
    for method, path in (('POST', '/os-networks'), ('POST', '/os-networks/add'),
                         ('DELETE', '/os-networks/net1'),
                         ('POST', '/os-networks/net1/action')):
        r = user.request(method, path, json={'network': {}})
        assert r.status_code == 410, (method, path)
        assert r.json['computeFault']['code'] == 410


def test_hosts(admin: Client, user: Client, dbs: dict[str, str],
               compute: FakeComputeAPI) -> None:
    from minova.cells import mappings as cells_db
    insert_service(dbs['cell'], 'host1', topic='compute')
    insert_service(dbs['cell'], 'host2', topic='compute', disabled=True)
    insert_service(dbs['cell'], 'ctl', binary='minova-scheduler', topic='scheduler')
    insert_node(dbs['cell'], 'host1')
    cells_db.host_mapping_create('host1', cells_db.cell_get(dbs['cell1_uuid'])['id'])
    r = admin.get('/os-hosts', version='2.42')
    assert r.json == {'hosts': [{'host_name': 'host1', 'service': 'compute', 'zone': 'nova'},
                                {'host_name': 'ctl', 'service': 'scheduler',
                                 'zone': 'internal'}]}
    assert admin.get('/os-hosts?zone=internal', version='2.42').json['hosts'] == [
        {'host_name': 'ctl', 'service': 'scheduler', 'zone': 'internal'}]
    r = admin.get('/os-hosts/host1', version='2.42')
    assert r.status_code == 200, r.text
    resources = [x['resource'] for x in r.json['host']]
    assert resources[0] == {'host': 'host1', 'project': '(total)', 'cpu': 8,
                            'memory_mb': 16384, 'disk_gb': 100}
    assert [x['project'] for x in resources] == ['(total)', '(used_now)', '(used_max)']
    r = admin.get('/os-hosts/nohost', version='2.42')
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == 'Host nohost is not mapped to any cell'
    r = admin.put('/os-hosts/host1', {'status': 'enable'}, version='2.42')
    assert r.status_code == 501
    assert admin.put('/os-hosts/host1', {'bogus': 1}, version='2.42').status_code == 400
    assert admin.get('/os-hosts/host1/reboot', version='2.42').status_code == 501
    assert user.get('/os-hosts', version='2.42').status_code == 403
    for path in ('/os-hosts', '/os-hosts/host1', '/os-hosts/host1/startup'):
        assert admin.get(path, version='2.43').status_code == 404, path


def test_extensions(user: Client) -> None:
    found = user.get('/extensions').json['extensions']
    aliases = {e['alias'] for e in found}
    assert {'os-keypairs', 'os-simple-tenant-usage', 'OS-EXT-STS'} <= aliases
    assert set(found[0]) == {'alias', 'description', 'links', 'name', 'namespace',
                             'updated'}
    r = user.get('/extensions/os-keypairs')
    assert r.json['extension']['name'] == 'Keypairs'
    assert user.get('/extensions/os-nothing').status_code == 404
