"""Volumes on libvirt guests: a connection info becomes a disk of the domain.

Only Cinder's RBD connections are supported: QEMU opens the image itself
through librbd (a network disk), so nothing is mounted or mapped on the host.
The cephx key is a libvirt secret the operator defined (Nova does not define
it); the connection info names the user and the secret, and
`[libvirt] rbd_user` / `rbd_secret_uuid` stand in when it does not, as in
Nova's libvirt volume driver.

The helpers here are plain functions over XML and dicts (the domain calls
live in VolumeMixin), so the disk a volume becomes can be checked without
libvirt.
"""
from __future__ import annotations

import contextlib
import logging
import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from minova import exception
from minova.conf import CONF

if TYPE_CHECKING:
    from minova.db.instances import Instance

LOG = logging.getLogger(__name__)

SUPPORTED = ('rbd',)
# Detaching from a running guest ([libvirt] device_detach_attempts and
# device_detach_timeout, as Nova's): each attempt asks the guest (ACPI
# unplug) and polls this often for the device to leave the live domain.
DETACH_POLL = 0.25


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


def disk_element(connection_info: dict[str, Any], target: str,
                 disk_bus: str | None = None, device_type: str | None = None) -> ET.Element:
    """The <disk> element of a volume at target (vdb), raising
    VolumeDriverNotFound for a connection type this driver cannot attach."""
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
    return disk


def disk_xml(connection_info: dict[str, Any], target: str,
             disk_bus: str | None = None, device_type: str | None = None) -> str:
    return ET.tostring(disk_element(connection_info, target, disk_bus, device_type),
                       encoding='unicode')


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


def volume_disks(block_device_info: dict[str, Any] | None) -> list[str]:
    """<disk> XML for every mapping, the root volume first (the firmware
    boots the first disk)."""
    root = root_mapping(block_device_info)
    ordered = ([root] if root else []) + [b for b in mappings(block_device_info)
                                          if b is not root]
    out = []
    for bdm in ordered:
        target = target_dev(bdm.get('mount_device') or '')
        if not target:
            continue
        out.append(disk_xml(bdm['connection_info'], target, bdm.get('disk_bus'),
                            bdm.get('device_type')))
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
    """attach_volume, detach_volume, extend_volume and get_volume_connector of
    the libvirt driver (which provides _lookup, host_name and _libvirt)."""

    host_name: str

    def _lookup(self, instance: Instance) -> Any:
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

    def attach_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Instance, mountpoint: str, disk_bus: str | None = None,
                      device_type: str | None = None,
                      encryption: dict[str, Any] | None = None) -> None:
        """Hot-plug onto a running or paused guest and persist in its
        definition; a shut-off guest's definition only."""
        lv = self._lv()
        xml = disk_xml(connection_info, target_dev(mountpoint), disk_bus, device_type)
        # (Nova's encryption metadata is {} for a plain volume)
        if (connection_info.get('data') or {}).get('encrypted') or \
                (encryption or {}).get('provider'):
            raise exception.VolumeAttachFailed(volume_id=volume_id(connection_info),
                                               reason='encrypted volumes are not supported')
        dom = self._lookup(instance)
        flags = lv.VIR_DOMAIN_AFFECT_CONFIG
        if dom.isActive():
            flags |= lv.VIR_DOMAIN_AFFECT_LIVE
        LOG.debug('Attaching %s to %s: %s', mountpoint, instance['uuid'], xml)
        try:
            dom.attachDeviceFlags(xml, flags)
        except lv.libvirtError as e:
            raise exception.VolumeAttachFailed(volume_id=volume_id(connection_info),
                                               reason=str(e)) from e
        LOG.info('Volume %s attached to %s at %s', volume_id(connection_info),
                 instance['uuid'], mountpoint)

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
