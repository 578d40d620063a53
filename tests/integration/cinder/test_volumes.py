"""Cinder's volumes on Ceph RBD, driven the way mini-Nova drives them: create
and delete, the attachments API flow of an attach and a detach (3.44), and a
volume made from an image that mini-Nova's image endpoint serves."""
from __future__ import annotations

import random

from tests.integration.cinder.conftest import Cinder, ImageEndpoint, NovaEvents, new_uuid

# What mini-Nova's libvirt driver reports as its connector (os-brick's shape).
CONNECTOR = {'ip': '127.0.0.1', 'host': 'h1', 'multipath': False, 'platform': 'x86_64',
             'os_type': 'linux'}


def test_create_and_delete_a_volume(cinder_clean: Cinder) -> None:
    cinder = cinder_clean
    volume = cinder.create_volume(size=1, name='it-plain')
    shown = cinder.wait_volume(volume['id'], 'available')
    assert shown['size'] == 1 and shown['volume_type'] == cinder.info['volume_type']
    assert shown['os-vol-host-attr:host'] == cinder.info['backend']
    # The volume is an RBD image of its size in the pool.
    assert f'volume-{volume["id"]}' in cinder.rbd_images()
    assert cinder.rbd_read(volume['id'], 4096) == bytes(4096)
    cinder.delete_volume(volume['id'])
    assert cinder.volume(volume['id']).status_code == 404
    assert f'volume-{volume["id"]}' not in cinder.rbd_images()


def test_attachment_flow_of_an_attach_and_a_detach(cinder_clean: Cinder) -> None:
    cinder = cinder_clean
    volume = cinder.create_volume(size=1, name='it-attach')
    cinder.wait_volume(volume['id'], 'available')
    server = new_uuid()

    # Reserve: an attachment without a connector.
    r = cinder.api('POST', '/attachments', json={'attachment': {
        'volume_uuid': volume['id'], 'instance_uuid': server}})
    assert r.status_code == 200, r.text
    attachment = r.json()['attachment']
    assert attachment['status'] == 'reserved' and attachment['connection_info'] == {}
    assert cinder.wait_volume(volume['id'], 'reserved')['id'] == volume['id']

    # The host's connector: the connection info libvirt needs.
    r = cinder.api('PUT', f'/attachments/{attachment["id"]}', json={'attachment': {
        'connector': dict(CONNECTOR, mountpoint='/dev/vdb')}})
    assert r.status_code == 200, r.text
    info = r.json()['attachment']['connection_info']
    ceph = cinder.ceph
    assert info['driver_volume_type'] == 'rbd'
    assert info['name'] == f'{ceph["pool"]}/volume-{volume["id"]}'
    assert [f'{h}:{p}' for h, p in zip(info['hosts'], info['ports'], strict=True)] == \
        ceph['mon_hosts']
    assert info['auth_enabled'] is True and info['auth_username'] == ceph['user']
    assert info['secret_type'] == 'ceph' and info['secret_uuid'] == ceph['secret_uuid']
    assert info['volume_id'] == volume['id'] and info['access_mode'] == 'rw'
    assert 'keyring' not in info    # the key stays in libvirt's secret
    assert cinder.wait_volume(volume['id'], 'attaching')['id'] == volume['id']

    # Complete: the guest has the disk.
    r = cinder.api('POST', f'/attachments/{attachment["id"]}/action',
                   json={'os-complete': None})
    assert r.status_code == 204, r.text
    shown = cinder.wait_volume(volume['id'], 'in-use')
    assert [(a['server_id'], a['attachment_id']) for a in shown['attachments']] == \
        [(server, attachment['id'])]
    assert [a['id'] for a in cinder.attachments()] == [attachment['id']]
    # An attached volume cannot be deleted.
    assert cinder.api('DELETE', f'/volumes/{volume["id"]}').status_code == 400

    # Detach: Nova deletes the attachment with its service token.
    r = cinder.api('DELETE', f'/attachments/{attachment["id"]}', service=True)
    assert r.status_code == 200, r.text
    shown = cinder.wait_volume(volume['id'], 'available')
    assert shown['attachments'] == [] and cinder.attachments() == []
    cinder.delete_volume(volume['id'])


def test_volume_from_an_image_of_the_image_endpoint(cinder_clean: Cinder,
                                                    image_endpoint: ImageEndpoint) -> None:
    """Cinder (noauth: it reads the image with no token) copies a project's
    private image from mini-Nova's image endpoint into the volume."""
    cinder = cinder_clean
    data = b'MINOVA-CINDER-IMAGE\n' + random.Random(21).randbytes(3 * 1024 * 1024 - 20)
    image = image_endpoint.create(cinder.project, data, name='it-image',
                                  visibility='private')
    try:
        volume = cinder.create_volume(size=1, name='it-from-image', imageRef=image['id'])
        shown = cinder.wait_volume(volume['id'], 'available', timeout=180)
        assert shown['bootable'] == 'true'
        meta = shown['volume_image_metadata']
        assert (meta['image_id'], meta['image_name'], meta['disk_format']) == \
            (image['id'], 'it-image', 'raw')
        assert meta['checksum'] == image_endpoint_checksum(image_endpoint, image['id'])
        assert cinder.rbd_read(volume['id'], len(data)) == data
        cinder.delete_volume(volume['id'])
    finally:
        image_endpoint.delete(cinder.project, image['id'])


def image_endpoint_checksum(endpoint: ImageEndpoint, image_id: str) -> str:
    import requests
    r = requests.get(f'{endpoint.url}/v2/images/{image_id}', timeout=30)
    assert r.status_code == 200, r.text
    checksum: str = r.json()['checksum']
    return checksum


def test_extending_an_attached_volume_tells_nova(cinder_clean: Cinder,
                                                 nova_events: NovaEvents) -> None:
    """Cinder's [nova] (an admin token, no Keystone) posts volume-extended
    for the server the volume is attached to, at microversion 2.51."""
    cinder = cinder_clean
    volume = cinder.create_volume(size=1, name='it-extend')
    cinder.wait_volume(volume['id'], 'available')
    server = new_uuid()
    r = cinder.api('POST', '/attachments', json={'attachment': {
        'volume_uuid': volume['id'], 'instance_uuid': server,
        'connector': CONNECTOR}})
    assert r.status_code == 200, r.text
    attachment = r.json()['attachment']
    assert cinder.api('POST', f'/attachments/{attachment["id"]}/action',
                      json={'os-complete': None}).status_code == 204
    cinder.wait_volume(volume['id'], 'in-use')
    nova_events.requests.clear()
    r = cinder.api('POST', f'/volumes/{volume["id"]}/action',
                   json={'os-extend': {'new_size': 2}}, version='3.42')
    assert r.status_code == 202, r.text
    shown = cinder.wait_volume(volume['id'], 'in-use')
    assert shown['size'] == 2
    sent = nova_events.wait()
    assert len(sent) == 1, sent
    path, headers, body = sent[0]
    assert path == '/v2.1/os-server-external-events'
    assert body == {'events': [{'name': 'volume-extended', 'server_uuid': server,
                                'tag': volume['id']}]}
    assert headers['X-Auth-Token'] == 'admin:admin'
    assert headers['X-OpenStack-Nova-API-Version'] == '2.51'
    r = cinder.api('DELETE', f'/attachments/{attachment["id"]}', service=True)
    assert r.status_code == 200, r.text
    cinder.wait_volume(volume['id'], 'available')
    cinder.delete_volume(volume['id'])
