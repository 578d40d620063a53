"""The Cinder client against the fake Cinder over HTTP: the calls Nova makes,
noauth tokens and URLs, the service role on attachment delete, and Cinder's
errors as Nova's exceptions."""
from __future__ import annotations

import pytest

from minova import exception
from minova.conf import CONF
from minova.context import RequestContext
from minova.volume import cinder as cinder_client
from tests.unit.volume.fake_cinder import PROJECT, FakeCinder

CTX = RequestContext(user_id='u1', project_id=PROJECT)


def test_without_cinder_config_every_call_says_no_volume_service() -> None:
    cinder_client.set_client(None)
    with pytest.raises(exception.VolumeServiceNotConfigured) as e:
        cinder_client.client()
    assert e.value.code == 501
    assert 'No volume service is configured' in e.value.message


def test_attach_lifecycle_with_noauth_token_and_project_url(cinder: FakeCinder) -> None:
    client = cinder_client.client()
    vol = cinder.add_volume(size=2)
    assert client.get(CTX, vol['id'])['status'] == 'available'
    att = client.attachment_create(CTX, vol['id'], 'server-1')
    assert cinder.status(vol['id']) == 'reserved'
    att = client.attachment_update(CTX, att['id'], {'host': 'h1', 'ip': '127.0.0.1'},
                                   '/dev/vdb')
    assert att['connection_info']['driver_volume_type'] == 'rbd'
    client.attachment_complete(CTX, att['id'])
    assert cinder.status(vol['id']) == 'in-use'
    client.attachment_delete(CTX, att['id'])
    assert cinder.status(vol['id']) == 'available'
    method, path, headers = cinder.requests[1]
    assert path == f'/v3/{PROJECT}/attachments'
    assert headers['x-auth-token'] == f'u1:{PROJECT}'
    assert headers['openstack-api-version'] == 'volume 3.44'
    # Only the delete carries the service role (Cinder's noauth: 500 without it).
    deletes = [h for m, p, h in cinder.requests if m == 'DELETE']
    assert deletes and all(h.get('x-service-roles') == 'service' for h in deletes)
    assert all('x-service-roles' not in h for m, p, h in cinder.requests if m != 'DELETE')


def test_projectless_endpoint_asks_for_3_67(cinder: FakeCinder, served: tuple) -> None:
    CONF.clear_override('endpoint_template', group='cinder')
    CONF.set_override('endpoint_override', served[1], group='cinder')
    cinder_client.set_client(None)
    client = cinder_client.client()
    vol = cinder.add_volume()
    assert client.get(CTX, vol['id'])['id'] == vol['id']
    att = client.attachment_create(CTX, vol['id'], 'server-1')
    assert att['status'] == 'reserved'
    assert [h['openstack-api-version'] for _, _, h in cinder.requests] == \
        ['volume 3.67', 'volume 3.67']


def test_errors_are_novas(cinder: FakeCinder) -> None:
    client = cinder_client.client()
    missing = '11111111-2222-3333-4444-555555555555'
    with pytest.raises(exception.VolumeNotFound) as nf:
        client.get(CTX, missing)
    assert nf.value.code == 404 and missing in nf.value.message
    vol = cinder.add_volume(status='in-use')
    with pytest.raises(exception.InvalidVolume) as inv:
        client.attachment_create(CTX, vol['id'], 'server-1')
    assert inv.value.code == 400 and 'current status is in-use' in inv.value.message
    with pytest.raises(exception.InvalidVolume):
        client.delete(CTX, vol['id'])
    cinder.quota_gb = 1
    with pytest.raises(exception.OverQuota) as oq:
        client.create(CTX, 5, 'big', None)
    assert oq.value.code == 403 and 'gigabytes quota' in oq.value.message
    with pytest.raises(exception.VolumeAttachmentNotFound):
        client.attachment_get(CTX, missing)
    client.attachment_delete(CTX, missing)     # already gone: fine, as Nova
    with pytest.raises(exception.SnapshotNotFound):
        client.get_snapshot(CTX, missing)


def test_create_from_image_and_snapshots(cinder: FakeCinder) -> None:
    client = cinder_client.client()
    vol = client.create(CTX, 1, 'root', 'boot', image_id='img-1', availability_zone='nova')
    assert cinder.volumes[vol['id']]['image_id'] == 'img-1'
    assert client.get(CTX, vol['id'])['status'] == 'available'
    snap = client.create_snapshot_force(CTX, vol['id'], 's1', 'd')
    assert client.get_snapshot(CTX, snap['id'])['volume_id'] == vol['id']
    from_snap = client.create(CTX, 1, 'copy', None, snapshot_id=snap['id'])
    assert cinder.volumes[from_snap['id']]['snapshot_id'] == snap['id']
    assert client.get(CTX, from_snap['id'])['status'] == 'available'
    client.delete_snapshot(CTX, snap['id'])
    assert snap['id'] not in cinder.snapshots
    client.delete(CTX, from_snap['id'])
    assert from_snap['id'] not in cinder.volumes


def test_connection_refused_is_503_after_retries(cinder: FakeCinder) -> None:
    CONF.set_override('endpoint_template', 'http://127.0.0.1:9/v3/%(project_id)s',
                      group='cinder')
    cinder_client.set_client(None)
    with pytest.raises(exception.VolumeServiceUnavailable):
        cinder_client.client().get(CTX, 'x')


def test_keystone_mode_uses_the_callers_token_and_catalog_and_a_service_token(
        cinder: FakeCinder, served: tuple) -> None:
    """With [cinder] auth_type the caller's token and catalog find Cinder; an
    attachment delete also carries the [cinder] credentials' token."""
    from keystoneauth1 import loading as ks_loading
    ks_loading.register_auth_conf_options(CONF, 'cinder')
    CONF.clear_override('endpoint_template', group='cinder')
    CONF.set_override('auth_type', 'admin_token', group='cinder')
    ks_loading.load_auth_from_conf_options(CONF, 'cinder')   # registers its options
    CONF.set_override('token', 'svc:tok', group='cinder')
    CONF.set_override('endpoint', 'http://127.0.0.1:9', group='cinder')
    cinder_client.set_client(None)
    url = f'{served[1]}/{PROJECT}'
    catalog = [{'type': 'volumev3', 'name': 'cinderv3',
                'endpoints': [{'publicURL': url, 'region': 'RegionOne'}]}]
    ctx = RequestContext(user_id='u1', project_id=PROJECT, auth_token=f'u1:{PROJECT}',
                         service_catalog=catalog)
    try:
        client = cinder_client.client()
        vol = cinder.add_volume()
        att = client.attachment_create(ctx, vol['id'], 'server-1')
        client.attachment_delete(ctx, att['id'])
    finally:
        for opt in ('auth_type', 'token', 'endpoint'):
            CONF.clear_override(opt, group='cinder')
        cinder_client.set_client(None)
    (_, create_path, create), (_, _, delete) = cinder.requests
    assert create_path == f'/v3/{PROJECT}/attachments'
    assert create['x-auth-token'] == f'u1:{PROJECT}' and 'x-service-token' not in create
    assert delete['x-auth-token'] == f'u1:{PROJECT}'
    assert delete['x-service-token'] == 'svc:tok' and 'x-service-roles' not in delete
