"""imageRef is checked against the Image service with every driver (here the fake
one), as Nova does, and the all-in-one comes with a built-in image."""
from __future__ import annotations

from typing import Any

import requests

from minova.cmd.all_in_one import AllInOne
from minova.image import builtin
from tests.functional.conftest import Client


def _boot(admin: Client, image_ref: str) -> requests.Response:
    return admin.post('/servers', {'server': {'name': 'img', 'flavorRef': 'tiny',
                                              'imageRef': image_ref, 'networks': 'none'}})


def test_the_built_in_image_is_listed_active_and_boots(
        aio: AllInOne, admin: Client, tiny_flavor: dict[str, Any]) -> None:
    images = requests.get(f'http://127.0.0.1:{aio.image_port}/v2/images',
                          params={'name': builtin.TINY_IMAGE_NAME},
                          headers={'X-Auth-Token': 'someone:else'}, timeout=10).json()
    [image] = images['images']
    assert image['id'] == builtin.TINY_IMAGE_ID
    assert (image['status'], image['visibility'], image['size']) == ('active', 'public',
                                                                     builtin.SIZE)
    r = _boot(admin, builtin.TINY_IMAGE_ID)
    assert r.status_code == 202, r.text
    server = admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})
    assert server['status'] == 'ACTIVE'
    assert server['image']['id'] == builtin.TINY_IMAGE_ID
    admin.delete(f'/servers/{server["id"]}')
    admin.wait_gone(server['id'])


def test_unknown_and_inactive_images_are_refused(
        aio: AllInOne, admin: Client, tiny_flavor: dict[str, Any]) -> None:
    r = _boot(admin, '7b0a5c55-7a8e-4d9d-9d6f-3b1b8f1f0c11')
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == 'Can not find requested image'
    queued = requests.post(f'http://127.0.0.1:{aio.image_port}/v2/images',
                           headers={'X-Auth-Token': 'admin:admin'}, timeout=10,
                           json={'name': 'empty', 'disk_format': 'raw',
                                 'container_format': 'bare'}).json()
    r = _boot(admin, queued['id'])
    assert r.status_code == 400
    assert r.json()['badRequest']['message'] == f'Image {queued["id"]} is not active.'
