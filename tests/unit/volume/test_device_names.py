"""The compute host's device names and block_device_info (minova/compute/volumes.py)."""
from __future__ import annotations

from typing import Any

import pytest

from minova.compute import volumes


def _bdm(device: str | None, boot_index: int | None = None, **kw: Any) -> dict[str, Any]:
    return {'uuid': f'u-{device}', 'volume_id': f'v-{device}', 'device_name': device,
            'destination_type': 'volume', 'boot_index': boot_index,
            'connection_info': {'driver_volume_type': 'rbd', 'serial': f'v-{device}'},
            'attachment_id': f'a-{device}', **kw}


@pytest.mark.parametrize(('instance', 'bdms', 'expected'), [
    ({}, [], '/dev/vdb'),                                   # after the root vda
    ({'ephemeral_gb': 1}, [], '/dev/vdc'),                  # vdb: the ephemeral disk
    ({'config_drive': 'True'}, [], '/dev/vdc'),             # vdb: the config drive
    ({'ephemeral_gb': 1, 'config_drive': 'True'}, [], '/dev/vdd'),
    ({}, [_bdm('/dev/vdb')], '/dev/vdc'),
    ({}, [_bdm('/dev/vdc')], '/dev/vdb'),                   # a gap is reused
    ({}, [_bdm('/dev/vda', 0)], '/dev/vdb'),                # boot from volume
])
def test_next_device_name_clears_local_disks_and_volumes(
        instance: dict[str, Any], bdms: list[dict[str, Any]], expected: str) -> None:
    assert volumes.next_device_name(instance, bdms) == expected


def test_block_device_info_has_novas_shape() -> None:
    root, data = _bdm('/dev/vda', 0, delete_on_termination=True), _bdm('/dev/vdb')
    unconnected = dict(_bdm('/dev/vdc'), connection_info=None)
    info = volumes.block_device_info([root, data, unconnected])
    assert info is not None
    assert info['root_device_name'] == '/dev/vda'
    assert info['ephemerals'] == [] and info['swap'] is None
    assert [m['mount_device'] for m in info['block_device_mapping']] == ['/dev/vda',
                                                                       '/dev/vdb']
    first = info['block_device_mapping'][0]
    assert first == {'connection_info': root['connection_info'], 'mount_device': '/dev/vda',
                     'boot_index': 0, 'disk_bus': None, 'device_type': None,
                     'delete_on_termination': True, 'attachment_id': 'a-/dev/vda',
                     'volume_id': 'v-/dev/vda', 'guest_format': None}
    assert volumes.block_device_info([]) is None


def test_cinders_events_read_the_volume_as_the_servers_project() -> None:
    """volume-extended comes in Cinder's own context; a Cinder without
    Keystone is asked as an admin of the server's project (its URLs and
    tokens name the project), with Keystone the caller's context is kept."""
    from minova.compute.volumes import _owner_context
    from minova.context import RequestContext
    cinders = RequestContext(user_id='admin', project_id='admin', roles=['admin'])
    instance: Any = {'uuid': 'u1', 'project_id': 'abc123'}
    owner = _owner_context(cinders, instance)
    assert (owner.project_id, owner.is_admin) == ('abc123', True)
    assert cinders.project_id == 'admin'            # the event's own is untouched
    from minova.conf import CONF
    CONF.set_override('auth_type', 'password', group='cinder')
    try:
        assert _owner_context(cinders, instance) is cinders
    finally:
        CONF.clear_override('auth_type', group='cinder')
