"""Encrypted volumes through the all-in-one (fake driver) and the fake Cinder:
the host reads Cinder's encryption metadata of a volume whose connection info
says `encrypted` and hands it to the driver, which needs the volume's key
from [key_manager]. Without a key manager the attach fails as Nova's does
(the action's event Error with the key manager's error, the attachment
deleted, the volume available again); with the fixed key the guest has it
and detach clears it."""
# ruff: noqa: F811  (the fake Cinder fixtures come from test_volumes)
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from minova import keymgr
from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from tests.functional.conftest import Client
from tests.functional.test_volumes import (  # noqa: F401
    _at,
    _attach,
    _driver,
    _events,
    _wait,
    cinder,
    clean,
    server,
)
from tests.unit.volume.fake_cinder import FakeCinder

LUKS = {'provider': 'luks', 'cipher': 'aes-xts-plain64', 'key_size': 256,
        'control_location': 'front-end'}


@pytest.fixture
def fixed_key() -> Iterator[None]:
    CONF.set_override('backend', 'nova.keymgr.conf_key_mgr.ConfKeyManager',
                      group='key_manager')
    CONF.set_override('fixed_key', '00' * 32, group='key_manager')
    yield
    CONF.clear_override('backend', group='key_manager')
    CONF.clear_override('fixed_key', group='key_manager')


def test_without_a_key_manager_an_encrypted_attach_is_rolled_back(
        admin: Client, aio: AllInOne, server: dict[str, Any], clean: FakeCinder) -> None:
    sid = server['id']
    vol = clean.add_volume(name='secret-data', encryption=LUKS)
    assert _attach(admin, sid, vol['id']).status_code == 200
    _wait(lambda: any(e['result'] == 'Error' for e in _events(admin, sid, 'attach_volume')))
    _wait(lambda: clean.status(vol['id']) == 'available')
    assert clean.live_attachments(vol['id']) == []
    assert admin.get(f'/servers/{sid}/os-volume_attachments').json()[
        'volumeAttachments'] == []
    [event] = _events(_at(admin, '2.84'), sid, 'attach_volume')
    assert event['details'].startswith('Key manager error'), event
    assert _driver(aio).guest_volumes(sid) == {}
    assert admin.get(f'/servers/{sid}').json()['server']['status'] == 'ACTIVE'


def test_with_the_fixed_key_the_guest_gets_the_encrypted_volume(
        admin: Client, aio: AllInOne, server: dict[str, Any], clean: FakeCinder,
        fixed_key: None) -> None:
    sid = server['id']
    start = len(clean.requests)
    plain = clean.add_volume(name='plain')
    vol = clean.add_volume(name='secret-data', encryption=LUKS)
    for v in (plain, vol):
        assert _attach(admin, sid, v['id']).status_code == 200
        _wait(lambda v=v: clean.status(v['id']) == 'in-use')
    disks = _driver(aio).guest_volumes(sid)
    [mount] = [m for m, info in disks.items() if info['serial'] == vol['id']]
    assert disks[mount]['data']['encrypted'] is True
    # The driver got Cinder's metadata (the plain volume none).
    assert _driver(aio).guest_volume_encryption(sid) == {
        mount: dict(LUKS, encryption_key_id=keymgr.FIXED_KEY_ID)}
    assert admin.delete(f"/servers/{sid}/os-volume_attachments/{vol['id']}"
                        ).status_code == 202
    _wait(lambda: clean.status(vol['id']) == 'available')
    assert _driver(aio).guest_volume_encryption(sid) == {}
    # Cinder was asked for the encrypted volume's metadata only.
    asked = [p for _, p, _ in clean.requests[start:] if p.endswith('/encryption')]
    assert asked and all(vol['id'] in p for p in asked)
