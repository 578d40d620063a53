"""Encrypted volumes on the libvirt driver without a hypervisor: the LUKS
<encryption> of the disk, the passphrase secret's lifecycle (made on attach
from the key manager's key, reused when the domain is defined again, removed
on detach, on a failed attach and on destroy), and the refusals (no key
manager, a provider QEMU cannot decrypt, swap)."""
from __future__ import annotations

import binascii
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from minova import exception, keymgr
from minova.conf import CONF
from minova.context import get_admin_context
from minova.virt.libvirt import volume
from tests.unit.virt.test_libvirt_volume import INSTANCE, VOL, FakeDomain, _driver, bdi, rbd_info

libvirt = pytest.importorskip('libvirt')

KEY = '0123456789abcdef' * 4            # 256 bits, hex
LUKS = {'provider': 'luks', 'cipher': 'aes-xts-plain64', 'key_size': 256,
        'control_location': 'front-end', 'encryption_key_id': keymgr.FIXED_KEY_ID}
CTX = get_admin_context()


class FakeSecret:
    def __init__(self, conn: FakeConn, xml: str) -> None:
        self.conn, self.xml, self.value = conn, xml, None
        self.uuid = str(uuid.uuid4())

    def UUIDString(self) -> str:  # noqa: N802 - libvirt's name
        return self.uuid

    def setValue(self, value: bytes) -> None:  # noqa: N802
        self.value = value

    def undefine(self) -> None:
        self.conn.secrets.remove(self)


class FakeConn:
    """libvirt's secret calls: secrets looked up by their volume usage."""

    def __init__(self) -> None:
        self.secrets: list[FakeSecret] = []

    def secretDefineXML(self, xml: str) -> FakeSecret:  # noqa: N802
        secret = FakeSecret(self, xml)
        self.secrets.append(secret)
        return secret

    def secretLookupByUsage(self, usage: int, usage_id: str) -> FakeSecret:  # noqa: N802
        assert usage == libvirt.VIR_SECRET_USAGE_TYPE_VOLUME
        for s in self.secrets:
            if ET.fromstring(s.xml).findtext('./usage/volume') == usage_id:
                return s
        err = libvirt.libvirtError('no secret')
        err.err = (libvirt.VIR_ERR_NO_SECRET,)  # what get_error_code() reads
        raise err


@pytest.fixture
def fixed_key() -> Iterator[None]:
    CONF.set_override('backend', 'nova.keymgr.conf_key_mgr.ConfKeyManager',
                      group='key_manager')
    CONF.set_override('fixed_key', KEY, group='key_manager')
    yield
    CONF.clear_override('backend', group='key_manager')
    CONF.clear_override('fixed_key', group='key_manager')


def _encrypted() -> dict[str, Any]:
    return rbd_info(encrypted=True)


def _with_conn(dom: FakeDomain | None, conn: FakeConn) -> Any:
    d = _driver(dom)
    d._conn = lambda: conn  # type: ignore[method-assign]
    return d


def _no_cinder(*a: Any) -> Any:
    raise AssertionError('Cinder must not be asked')


def test_the_disk_of_an_encrypted_volume_names_its_passphrase_secret() -> None:
    disk = ET.fromstring(volume.disk_xml(_encrypted(), 'vdb', secret_uuid='s-1'))
    enc = disk.find('encryption')
    assert enc is not None and enc.get('format') == 'luks'
    assert [(s.get('type'), s.get('uuid')) for s in enc.findall('secret')] == \
        [('passphrase', 's-1')]
    assert disk.find('auth/secret').get('type') == 'ceph'  # type: ignore[union-attr]
    assert ET.fromstring(volume.disk_xml(_encrypted(), 'vdb')).find('encryption') is None


def test_the_secret_is_a_persistent_volume_usage_secret() -> None:
    secret = ET.fromstring(volume.secret_xml(VOL))
    assert (secret.get('ephemeral'), secret.get('private')) == ('no', 'no')
    usage = secret.find('usage')
    assert usage is not None and usage.get('type') == 'volume'
    assert usage.findtext('volume') == VOL


def test_attach_defines_the_secret_from_the_fixed_key(fixed_key: None) -> None:
    dom, conn = FakeDomain(), FakeConn()
    _with_conn(dom, conn).attach_volume(CTX, _encrypted(), INSTANCE, '/dev/vdb',
                                        encryption=dict(LUKS))
    [secret] = conn.secrets
    # The passphrase is the key in hex, as Nova and Cinder's RBD driver derive it.
    assert secret.value == KEY.encode()
    assert secret.value == binascii.hexlify(binascii.unhexlify(KEY))
    [(_, xml, _)] = dom.calls
    assert ET.fromstring(xml).find('encryption/secret').get('uuid') == \
        secret.uuid  # type: ignore[union-attr]


def test_a_legacy_luks_provider_name_is_native_luks(fixed_key: None) -> None:
    conn = FakeConn()
    _with_conn(FakeDomain(), conn).attach_volume(
        CTX, _encrypted(), INSTANCE, '/dev/vdb',
        encryption=dict(LUKS, provider='nova.volume.encryptors.luks.LuksEncryptor'))
    assert len(conn.secrets) == 1


def test_without_a_key_manager_the_attach_fails_and_leaves_nothing() -> None:
    dom, conn = FakeDomain(), FakeConn()
    with pytest.raises(exception.KeyManagerError,
                       match="Key manager error: the key manager backend 'barbican' is not "
                             "supported"):
        _with_conn(dom, conn).attach_volume(CTX, _encrypted(), INSTANCE, '/dev/vdb',
                                            encryption=dict(LUKS))
    assert conn.secrets == [] and dom.calls == []


def test_the_fixed_key_manager_without_a_key(fixed_key: None) -> None:
    CONF.set_override('fixed_key', None, group='key_manager')
    with pytest.raises(exception.KeyManagerError, match='keymgr.fixed_key not defined'):
        keymgr.passphrase(CTX, keymgr.FIXED_KEY_ID)
    CONF.set_override('fixed_key', 'not hex', group='key_manager')
    with pytest.raises(exception.KeyManagerError, match='not hex'):
        keymgr.passphrase(CTX, keymgr.FIXED_KEY_ID)


def test_another_key_id_is_not_the_fixed_key(fixed_key: None) -> None:
    with pytest.raises(exception.KeyManagerError, match='is not the fixed key'):
        keymgr.passphrase(CTX, str(uuid.uuid4()))


def test_a_provider_qemu_cannot_decrypt_is_refused(fixed_key: None) -> None:
    dom, conn = FakeDomain(), FakeConn()
    with pytest.raises(exception.VolumeEncryptionNotSupported,
                       match=f'Volume encryption is not supported for plain-encrypted rbd '
                             f'volume {VOL}'):
        _with_conn(dom, conn).attach_volume(CTX, _encrypted(), INSTANCE, '/dev/vdb',
                                            encryption=dict(LUKS, provider='plain'))
    assert conn.secrets == [] and dom.calls == []


def test_a_refused_attach_removes_the_secret(fixed_key: None) -> None:
    conn = FakeConn()
    with pytest.raises(exception.VolumeAttachFailed):
        _with_conn(FakeDomain(), conn).attach_volume(
            CTX, rbd_info(encrypted=True, name='volumes/fail'), INSTANCE, '/dev/vdb',
            encryption=dict(LUKS))
    assert conn.secrets == []


def test_detach_removes_the_secret(fixed_key: None) -> None:
    dom, conn = FakeDomain(), FakeConn()
    d = _with_conn(dom, conn)
    d.attach_volume(CTX, _encrypted(), INSTANCE, '/dev/vdb', encryption=dict(LUKS))
    d.detach_volume(CTX, _encrypted(), INSTANCE, '/dev/vdb', encryption=dict(LUKS))
    assert dom.live == [] and dom.config == [] and conn.secrets == []


def test_a_redefined_domain_reuses_the_secret_and_asks_no_one(
        fixed_key: None, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = FakeConn()
    d = _with_conn(None, conn)
    info = bdi({'connection_info': _encrypted(), 'mount_device': '/dev/vdb',
                'boot_index': None, 'volume_id': VOL})
    # First definition (a boot): the metadata comes from Cinder.
    asked: list[str] = []

    def metadata(ctx: Any, connection_info: dict[str, Any]) -> dict[str, Any]:
        asked.append(volume.volume_id(connection_info) or '')
        return dict(LUKS)
    monkeypatch.setattr(d, '_get_volume_encryption', metadata)
    [xml] = d._volume_disks(CTX, info)
    [secret] = conn.secrets
    assert asked == [VOL]
    assert ET.fromstring(xml).find('encryption/secret').get('uuid') == \
        secret.uuid  # type: ignore[union-attr]
    # Defined again (hard reboot, power on): same secret, no Cinder, no key manager.
    monkeypatch.setattr(d, '_get_volume_encryption', _no_cinder)
    CONF.set_override('backend', 'barbican', group='key_manager')
    [again] = d._volume_disks(CTX, info)
    assert again == xml and conn.secrets == [secret]
    # The guest destroyed: the secret goes.
    d._detach_encryptors(info)
    assert conn.secrets == []


def test_the_metadata_comes_from_cinder_only_for_an_encrypted_volume(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from minova.volume import cinder as cinder_client

    class Client:
        def get_encryption_metadata(self, ctx: Any, volume_id: str) -> dict[str, Any]:
            return dict(LUKS, volume=volume_id)
    monkeypatch.setattr(cinder_client, 'client', Client)
    d = _with_conn(None, FakeConn())
    assert d._get_volume_encryption(CTX, rbd_info()) == {}
    assert d._get_volume_encryption(CTX, _encrypted())['volume'] == VOL


def test_swapping_an_encrypted_volume_is_not_supported() -> None:
    with pytest.raises(exception.NotSupported,
                       match='Swap volume is not supported for encrypted volumes when '
                             'native LUKS decryption is enabled.'):
        _driver(None).swap_volume(CTX, _encrypted(), rbd_info(), INSTANCE, '/dev/vdb', 0)
