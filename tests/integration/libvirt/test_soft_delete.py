"""Soft delete on a real guest ([DEFAULT] reclaim_instance_interval > 0):
DELETE powers the guest off and keeps its domain, disk and allocation;
restore boots it again; forceDelete removes it for good (issue 17)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.libvirt.conftest import (
    MARKER,
    Cloud,
    create_flavor,
    import_libvirt,
    own_cloud,
    upload_image,
)
from tests.integration.libvirt.test_guests import _action, _boot, _wait_dom

libvirt = import_libvirt()

PH = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.28'}


@pytest.fixture(scope='module')
def soft_cloud(conn: Any, test_image: str) -> Iterator[Cloud]:
    """An all-in-one whose DELETE is a soft delete (reclaimed after an hour)."""
    with own_cloud(conn, f'libvirt-soft-{os.getpid()}',
                   '[DEFAULT]\nreclaim_instance_interval = 3600\n') as c:
        yield c


def _allocated(cloud: Cloud, uuid: str) -> bool:
    r = requests.get(f'{cloud.placement}/allocations/{uuid}', headers=PH, timeout=10)
    assert r.status_code == 200, r.text
    return bool(r.json()['allocations'])


def test_soft_delete_restore_and_force_delete(soft_cloud: Cloud, conn: Any,
                                              test_image: str) -> None:
    cloud = soft_cloud
    image, flavor = upload_image(cloud, test_image), create_flavor(cloud)
    uuid = _boot(cloud, image, flavor, 'lv-soft')
    disk = os.path.join(cloud.state, 'instances', uuid, 'disk')
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-READY')

        # DELETE: powered off, still defined, its disk and allocation kept.
        assert cloud.api('DELETE', f'/servers/{uuid}').status_code == 204
        server = cloud.wait(uuid, 'SOFT_DELETED')
        assert server['OS-EXT-STS:power_state'] == 4
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_SHUTOFF)
        assert os.path.exists(disk)
        assert _allocated(cloud, uuid)

        # restore: the same guest boots again from its own disk.
        assert _action(cloud, uuid, {'restore': None}).status_code == 202
        cloud.wait(uuid, 'ACTIVE')
        _wait_dom(conn, uuid, libvirt.VIR_DOMAIN_RUNNING)
        cloud.wait_console(uuid, MARKER, count=2)

        # forceDelete of a soft-deleted server: the domain and disk go at once.
        assert cloud.api('DELETE', f'/servers/{uuid}').status_code == 204
        cloud.wait(uuid, 'SOFT_DELETED')
        assert _action(cloud, uuid, {'forceDelete': None}).status_code == 202
        cloud.wait_gone(uuid)
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByUUIDString(uuid)
        assert not os.path.exists(disk)
        assert not _allocated(cloud, uuid)
    finally:
        r = cloud.api('GET', f'/servers/{uuid}')
        if r.status_code == 200:
            if r.json()['server']['status'] == 'SOFT_DELETED':
                _action(cloud, uuid, {'forceDelete': None})
            else:
                cloud.api('DELETE', f'/servers/{uuid}')
