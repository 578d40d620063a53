"""Volumes on libvirt guests: a connection info becomes a disk of the domain.

Only Cinder's RBD connections are supported: QEMU opens the image itself
through librbd (a network disk), so nothing is mounted or mapped on the host.
The cephx key is a libvirt secret the operator defined (Nova does not define
it); the connection info names the user and the secret, and
`[libvirt] rbd_user` / `rbd_secret_uuid` stand in when it does not, as in
Nova's libvirt volume driver.

Encrypted volumes (a Cinder volume type with an encryption spec): QEMU
decrypts LUKS itself, as Nova's libvirt driver does for RBD (no dm-crypt on
the host). The volume's key comes from the key manager ([key_manager]) by the
`encryption_key_id` Cinder gives; its hex form, the LUKS passphrase, becomes
a libvirt secret of usage type `volume` named by the volume id, and the disk
gets `<encryption format='luks'>` pointing at it. The secret lives as long
as the volume is attached to a guest of this host: found again when the
domain is defined afresh (hard reboot, power on), deleted on detach and when
the guest is destroyed.

The helpers here are plain functions over XML and dicts (the domain calls
live in VolumeMixin), so the disk a volume becomes can be checked without
libvirt.
"""
from __future__ import annotations

import contextlib
import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from minova import exception, keymgr
from minova.conf import CONF

if TYPE_CHECKING:
    from minova.db.instances import Instance

LOG = logging.getLogger(__name__)

SUPPORTED = ('rbd',)
# Detaching from a running guest ([libvirt] device_detach_attempts and
# device_detach_timeout, as Nova's): each attempt asks the guest (ACPI
# unplug) and polls this often for the device to leave the live domain.
DETACH_POLL = 0.25
# Providers QEMU decrypts natively: LUKS (v1), under its name or the legacy
# encryptor class names Cinder's volume types may still carry (os-brick's
# LEGACY_PROVIDER_CLASS_TO_FORMAT_MAP).
LUKS_PROVIDERS = frozenset({
    'luks', 'LuksEncryptor', 'nova.volume.encryptors.luks.LuksEncryptor',
    'os_brick.encryptors.luks.LuksEncryptor'})


# -- disk XML -------------------------------------------------------------------

def target_dev(mountpoint: str) -> str:
    """'/dev/vdb' -> 'vdb' (a bare name is kept)."""
    return mountpoint.rsplit('/', 1)[-1]


def volume_id(connection_info: dict[str, Any]) -> str | None:
    return connection_info.get('serial') or (connection_info.get('data') or {}).get(
        'volume_id')


def check_supported(connection_info: dict[str, Any]) -> None:
    kind = connection_info.get('driver_volume_type')
    if kind not in SUPPORTED:
        raise exception.VolumeDriverNotFound(driver_type=kind)


def rbd_auth(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """(username, secret uuid) for an RBD connection: the connection info's
    when Cinder says auth is on and names a secret; [libvirt] rbd_user and
    rbd_secret_uuid when it names none (a Cinder without rbd_secret_uuid), or
    when auth is off but this host has a secret configured. (None, None): no
    auth element."""
    conf_user, conf_uuid = CONF.libvirt.rbd_user, CONF.libvirt.rbd_secret_uuid
    if data.get('auth_enabled'):
        if data.get('secret_uuid'):
            return data.get('auth_username') or conf_user, data['secret_uuid']
        # The user goes with the secret: both from this host's config.
        return conf_user or data.get('auth_username'), conf_uuid
    if conf_uuid:
        return conf_user, conf_uuid
    return None, None


def is_encrypted(connection_info: dict[str, Any]) -> bool:
    """Cinder's connection info says the volume is encrypted (its type has an
    encryption spec)."""
    return bool((connection_info.get('data') or {}).get('encrypted'))


def native_luks(encryption: dict[str, Any] | None) -> bool:
    """The encryption metadata names a provider QEMU decrypts itself."""
    return (encryption or {}).get('provider') in LUKS_PROVIDERS


def disk_element(connection_info: dict[str, Any], target: str,
                 disk_bus: str | None = None, device_type: str | None = None,
                 secret_uuid: str | None = None) -> ET.Element:
    """The <disk> element of a volume at target (vdb), raising
    VolumeDriverNotFound for a connection type this driver cannot attach.
    secret_uuid: the libvirt secret holding the LUKS passphrase of an
    encrypted volume (QEMU decrypts it)."""
    check_supported(connection_info)
    data = connection_info.get('data') or {}
    disk = ET.Element('disk', type='network', device=device_type or 'disk')
    driver = ET.SubElement(disk, 'driver', name='qemu', type='raw', cache='none')
    if data.get('discard'):
        driver.set('discard', 'unmap')
    source = ET.SubElement(disk, 'source', protocol='rbd', name=data['name'])
    ports = list(data.get('ports') or [])
    for i, host in enumerate(data.get('hosts') or []):
        attrs = {'name': str(host)}
        if i < len(ports) and ports[i]:
            attrs['port'] = str(ports[i])
        ET.SubElement(source, 'host', attrs)
    user, secret = rbd_auth(data)
    if secret:
        auth = ET.SubElement(disk, 'auth')
        if user:
            auth.set('username', user)
        ET.SubElement(auth, 'secret', type=data.get('secret_type') or 'ceph', uuid=secret)
    ET.SubElement(disk, 'target', dev=target, bus=disk_bus or 'virtio')
    serial = volume_id(connection_info)
    if serial:
        ET.SubElement(disk, 'serial').text = serial
    if data.get('access_mode') == 'ro':
        ET.SubElement(disk, 'readonly')
    if connection_info.get('multiattach'):
        # Other guests write to it too: QEMU must neither cache it nor lock
        # it for itself (the driver's cache is 'none' for every volume).
        ET.SubElement(disk, 'shareable')
    if secret_uuid:
        encryption = ET.SubElement(disk, 'encryption', format='luks')
        ET.SubElement(encryption, 'secret', type='passphrase', uuid=secret_uuid)
    return disk


def disk_xml(connection_info: dict[str, Any], target: str,
             disk_bus: str | None = None, device_type: str | None = None,
             secret_uuid: str | None = None) -> str:
    return ET.tostring(disk_element(connection_info, target, disk_bus, device_type,
                                    secret_uuid), encoding='unicode')


def secret_xml(volume_id: str) -> str:
    """A persistent, readable libvirt secret of usage type volume for the
    volume's passphrase (as Nova's create_secret('volume', volume_id))."""
    secret = ET.Element('secret', ephemeral='no', private='no')
    ET.SubElement(secret, 'description').text = f'LUKS passphrase of volume {volume_id}'
    usage = ET.SubElement(secret, 'usage', type='volume')
    ET.SubElement(usage, 'volume').text = volume_id
    return ET.tostring(secret, encoding='unicode')


# -- block_device_info ------------------------------------------------------------

def mappings(block_device_info: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((block_device_info or {}).get('block_device_mapping') or [])


def root_mapping(block_device_info: dict[str, Any] | None) -> dict[str, Any] | None:
    """The mapping that is the root disk (boot from volume): boot_index 0 at
    the root device name."""
    root = (block_device_info or {}).get('root_device_name') or '/dev/vda'
    for bdm in mappings(block_device_info):
        if bdm.get('boot_index') in (0, '0') and \
                target_dev(bdm.get('mount_device') or root) == target_dev(root):
            return bdm
    return None


def volume_disks(block_device_info: dict[str, Any] | None,
                 secret_for: Callable[[dict[str, Any]], str | None] | None = None
                 ) -> list[str]:
    """<disk> XML for every mapping, the root volume first (the firmware
    boots the first disk). secret_for(connection_info): the passphrase
    secret of an encrypted volume (None: a plain one)."""
    root = root_mapping(block_device_info)
    ordered = ([root] if root else []) + [b for b in mappings(block_device_info)
                                          if b is not root]
    out = []
    for bdm in ordered:
        target = target_dev(bdm.get('mount_device') or '')
        if not target:
            continue
        info = bdm['connection_info']
        out.append(disk_xml(info, target, bdm.get('disk_bus'), bdm.get('device_type'),
                            secret_for(info) if secret_for else None))
    return out


def volume_targets(block_device_info: dict[str, Any] | None) -> set[str]:
    return {target_dev(b['mount_device']) for b in mappings(block_device_info)
            if b.get('mount_device')}


def find_disk(domain_xml: str, target: str) -> ET.Element | None:
    for disk in ET.fromstring(domain_xml).findall('./devices/disk'):
        el = disk.find('target')
        if el is not None and el.get('dev') == target:
            return disk
    return None


def find_rbd_target(domain_xml: str, name: str) -> str | None:
    """The target dev of the disk whose RBD source is pool/image name."""
    for disk in ET.fromstring(domain_xml).findall("./devices/disk[@type='network']"):
        source, target = disk.find('source'), disk.find('target')
        if source is not None and target is not None and source.get('name') == name:
            return target.get('dev')
    return None


# -- the domain operations ------------------------------------------------------------

class VolumeMixin:
    """attach_volume, detach_volume, extend_volume, swap_volume,
    get_volume_connector and the secrets of encrypted volumes for the libvirt
    driver (which provides _lookup, _conn and host_name)."""

    host_name: str

    def _lookup(self, instance: Instance) -> Any:
        raise NotImplementedError

    def _conn(self) -> Any:
        raise NotImplementedError

    @staticmethod
    def _lv() -> Any:
        import libvirt
        return libvirt

    def get_volume_connector(self, instance: Instance) -> dict[str, Any]:
        """What Cinder's initialize_connection gets from this host (os-brick's
        connector properties for a host that attaches RBD through QEMU)."""
        return {'ip': CONF.my_ip, 'host': self.host_name, 'multipath': False,
                'enforce_multipath': False, 'platform': 'x86_64', 'os_type': 'linux',
                'do_local_attach': False}

    # -- encrypted volumes: the passphrase as a libvirt secret -----------------------

    def _volume_secret(self, vol_id: str) -> Any:
        """This host's passphrase secret of the volume (usage type volume), or None."""
        lv = self._lv()
        try:
            return self._conn().secretLookupByUsage(lv.VIR_SECRET_USAGE_TYPE_VOLUME, vol_id)
        except lv.libvirtError as e:
            if e.get_error_code() == lv.VIR_ERR_NO_SECRET:
                return None
            raise

    def _get_volume_encryption(self, context: Any,
                               connection_info: dict[str, Any]) -> dict[str, Any]:
        """Cinder's encryption metadata of an encrypted volume ({} for a plain
        one, without asking), as os-brick's get_encryption_metadata."""
        vol_id = volume_id(connection_info)
        if not vol_id or not is_encrypted(connection_info):
            return {}
        from minova.volume import cinder as cinder_client
        return dict(cinder_client.client().get_encryption_metadata(context, vol_id))

    def _attach_encryptor(self, context: Any, connection_info: dict[str, Any],
                          encryption: dict[str, Any] | None) -> str | None:
        """The uuid of the secret QEMU decrypts the volume with (None: a plain
        volume). A secret already here is reused without asking Cinder or the
        key manager (a domain defined again: hard reboot, power on); else the
        key is fetched by Cinder's encryption_key_id and its hex form stored
        as the secret's value, as Nova's _attach_encryptor."""
        vol_id = volume_id(connection_info)
        if not vol_id or not (is_encrypted(connection_info) or native_luks(encryption)):
            return None     # a plain volume: no secret to look for
        found = self._volume_secret(vol_id)
        if found is not None:
            return str(found.UUIDString())
        if encryption is None:
            encryption = self._get_volume_encryption(context, connection_info)
        if not (encryption or {}).get('encryption_key_id') and \
                not (encryption or {}).get('provider'):
            return None     # not encrypted ({} or Cinder's key-less answer)
        if not native_luks(encryption):
            # Any other provider needs os-brick's dm-crypt encryptors on a
            # host block device: an RBD volume attached by QEMU has none.
            raise exception.VolumeEncryptionNotSupported(
                volume_type=f"{encryption.get('provider')}-encrypted "
                            f"{connection_info.get('driver_volume_type')}",
                volume_id=vol_id)
        passphrase = keymgr.passphrase(context, encryption.get('encryption_key_id'))
        lv = self._lv()
        secret = self._conn().secretDefineXML(secret_xml(vol_id))
        try:
            secret.setValue(passphrase.encode())
        except lv.libvirtError:
            with contextlib.suppress(lv.libvirtError):
                secret.undefine()
            raise
        LOG.info('Passphrase secret %s defined for encrypted volume %s',
                 secret.UUIDString(), vol_id)
        return str(secret.UUIDString())

    def _detach_encryptor(self, connection_info: dict[str, Any]) -> None:
        """The volume's passphrase secret removed from this host (if any)."""
        vol_id = volume_id(connection_info)
        secret = self._volume_secret(vol_id) if vol_id and is_encrypted(connection_info) \
            else None
        if secret is not None:
            secret.undefine()
            LOG.info('Passphrase secret of volume %s removed', vol_id)

    def _volume_disks(self, context: Any,
                      block_device_info: dict[str, Any] | None) -> list[str]:
        """volume_disks() with the passphrase secrets of encrypted volumes made
        (or found) here: what defines a domain with its volumes."""
        return volume_disks(block_device_info,
                            lambda info: self._attach_encryptor(context, info, None))

    def _detach_encryptors(self, block_device_info: dict[str, Any] | None) -> None:
        """The guest is gone: its volumes' passphrase secrets go too."""
        for bdm in mappings(block_device_info):
            try:
                self._detach_encryptor(bdm.get('connection_info') or {})
            except Exception:   # noqa: BLE001 - a destroy goes on
                LOG.exception('Could not remove the secret of volume %s',
                              bdm.get('volume_id'))

    def attach_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Instance, mountpoint: str, disk_bus: str | None = None,
                      device_type: str | None = None,
                      encryption: dict[str, Any] | None = None) -> None:
        """Hot-plug onto a running or paused guest and persist in its
        definition; a shut-off guest's definition only. An encrypted volume's
        passphrase secret is made first and removed again if the attach fails."""
        lv = self._lv()
        check_supported(connection_info)
        secret = self._attach_encryptor(context, connection_info, encryption)
        xml = disk_xml(connection_info, target_dev(mountpoint), disk_bus, device_type, secret)
        try:
            dom = self._lookup(instance)
            flags = lv.VIR_DOMAIN_AFFECT_CONFIG
            if dom.isActive():
                flags |= lv.VIR_DOMAIN_AFFECT_LIVE
            LOG.debug('Attaching %s to %s: %s', mountpoint, instance['uuid'], xml)
            dom.attachDeviceFlags(xml, flags)
        except Exception as e:
            with contextlib.suppress(Exception):
                self._detach_encryptor(connection_info)
            if isinstance(e, lv.libvirtError):
                raise exception.VolumeAttachFailed(volume_id=volume_id(connection_info),
                                                   reason=str(e)) from e
            raise
        LOG.info('Volume %s attached to %s at %s%s', volume_id(connection_info),
                 instance['uuid'], mountpoint, ' (LUKS, decrypted by QEMU)' if secret else '')

    def detach_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Instance, mountpoint: str,
                      encryption: dict[str, Any] | None = None) -> None:
        """Out of the definition, then out of the running guest: asked again
        (ACPI unplug) until the device leaves the live domain, at most
        [libvirt] device_detach_attempts times device_detach_timeout seconds. A device that is not
        there (or a guest that is gone) counts as detached."""
        lv = self._lv()
        target = target_dev(mountpoint)
        try:
            dom = self._lookup(instance)
        except exception.InstanceNotFound:
            self._detach_encryptor(connection_info)
            return
        persistent = find_disk(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE), target)
        if persistent is not None:
            try:
                dom.detachDeviceFlags(ET.tostring(persistent, encoding='unicode'),
                                      lv.VIR_DOMAIN_AFFECT_CONFIG)
            except lv.libvirtError as e:
                raise exception.DeviceDetachFailed(device=target, reason=str(e)) from e
        if dom.isActive():
            self._detach_live(dom, target)
        self._detach_encryptor(connection_info)
        LOG.info('Volume %s detached from %s (%s)', volume_id(connection_info),
                 instance['uuid'], mountpoint)

    def _detach_live(self, dom: Any, target: str) -> None:
        lv = self._lv()
        attempts = CONF.libvirt.device_detach_attempts
        timeout = CONF.libvirt.device_detach_timeout
        # A request while the guest still handles the last one fails with
        # these: wait on, ask again.
        retry = (lv.VIR_ERR_OPERATION_FAILED, lv.VIR_ERR_INTERNAL_ERROR,
                 lv.VIR_ERR_OPERATION_TIMEOUT)
        for attempt in range(1, attempts + 1):
            live = find_disk(dom.XMLDesc(0), target)
            if live is None:
                return
            try:
                dom.detachDeviceFlags(ET.tostring(live, encoding='unicode'),
                                      lv.VIR_DOMAIN_AFFECT_LIVE)
            except lv.libvirtError as e:
                if not dom.isActive() or find_disk(dom.XMLDesc(0), target) is None:
                    return      # stopped or gone meanwhile: nothing live to detach
                if e.get_error_code() not in retry:
                    raise exception.DeviceDetachFailed(device=target, reason=str(e)) from e
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(lv.libvirtError):
                    if not dom.isActive() or find_disk(dom.XMLDesc(0), target) is None:
                        return
                time.sleep(DETACH_POLL)
            LOG.warning('Guest did not release %s (attempt %d of %d)', target, attempt,
                        attempts)
        raise exception.DeviceDetachFailed(
            device=target, reason=f'the guest did not release it after {attempts} '
                                  f'attempts of {timeout} s')

    def extend_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Instance, requested_size: int) -> None:
        """The running guest's disk grown to requested_size bytes (QEMU's
        block_resize); a stopped guest reads the new size when it starts."""
        check_supported(connection_info)
        lv = self._lv()
        dom = self._lookup(instance)
        if not dom.isActive():
            return
        name = (connection_info.get('data') or {}).get('name') or ''
        target = find_rbd_target(dom.XMLDesc(0), name)
        if target is None:
            raise exception.DiskNotFound(location=name)
        dom.blockResize(target, int(requested_size), lv.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
        LOG.info('Volume %s of %s (%s) extended to %d bytes', volume_id(connection_info),
                 instance['uuid'], target, requested_size)

    def swap_volume(self, context: Any, old_connection_info: dict[str, Any],
                    new_connection_info: dict[str, Any], instance: Instance,
                    mountpoint: str, resize_to: int) -> None:
        """The guest's disk at mountpoint moved onto the new volume (Cinder's
        volume migration and retype): on a running guest QEMU mirrors the
        old volume into the new one (a block copy into the existing image),
        then pivots to it; the definition then names the new volume. A
        stopped guest's definition changes only. resize_to (GiB, 0: no
        change) grows the disk afterwards, as Nova's."""
        check_supported(old_connection_info)
        check_supported(new_connection_info)
        if is_encrypted(old_connection_info) or is_encrypted(new_connection_info):
            # As Nova's: QEMU cannot mirror between LUKS volumes here.
            raise exception.NotSupported('Swap volume is not supported for encrypted '
                                         'volumes when native LUKS decryption is enabled.')
        lv = self._lv()
        target = target_dev(mountpoint)
        dom = self._lookup(instance)
        persistent = find_disk(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE), target)
        current = find_disk(dom.XMLDesc(0), target) if dom.isActive() else persistent
        if current is None:
            raise exception.DiskNotFound(location=mountpoint)
        bus_el = current.find('target')
        bus = bus_el.get('bus') if bus_el is not None else None
        new_xml = disk_xml(new_connection_info, target, bus)
        if dom.isActive():
            self._mirror_and_pivot(dom, target, new_xml,
                                   (new_connection_info.get('data') or {}).get('name') or '')
            if resize_to:
                dom.blockResize(target, int(resize_to) << 30, lv.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
        if persistent is not None:
            dom.detachDeviceFlags(ET.tostring(persistent, encoding='unicode'),
                                  lv.VIR_DOMAIN_AFFECT_CONFIG)
        dom.attachDeviceFlags(new_xml, lv.VIR_DOMAIN_AFFECT_CONFIG)
        LOG.info('Volume %s of %s (%s) swapped for %s', volume_id(old_connection_info),
                 instance['uuid'], target, volume_id(new_connection_info))

    def _mirror_and_pivot(self, dom: Any, target: str, new_xml: str, new_name: str,
                          timeout: float = 600.0) -> None:
        lv = self._lv()
        flags = lv.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT | lv.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB
        try:
            dom.blockCopy(target, new_xml, None, flags)
        except lv.libvirtError as e:
            raise exception.VolumeAttachFailed(volume_id=new_name, reason=str(e)) from e
        deadline = time.monotonic() + timeout
        try:
            while True:   # mirrored: the job is ready to pivot
                info = dom.blockJobInfo(target, 0)
                if info and info.get('end') and info.get('cur') == info.get('end'):
                    break
                if time.monotonic() > deadline:
                    raise exception.VolumeAttachFailed(
                        volume_id=new_name, reason=f'copy not done in {timeout:.0f} s')
                time.sleep(DETACH_POLL)
            while True:   # (QEMU may report the copy synced a moment before it is ready)
                try:
                    dom.blockJobAbort(target, lv.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
                    break
                except lv.libvirtError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(DETACH_POLL)
        except BaseException:
            with contextlib.suppress(lv.libvirtError):
                dom.blockJobAbort(target, 0)     # back on the old volume
            raise
        while find_rbd_target(dom.XMLDesc(0), new_name) != target:
            if time.monotonic() > deadline:
                raise exception.VolumeAttachFailed(volume_id=new_name,
                                                   reason='the pivot did not finish')
            time.sleep(DETACH_POLL)
