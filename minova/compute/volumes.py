"""The compute host's side of volumes (Cinder attachments, block device mappings).

As Nova's compute manager:

- attach (compute RPC 1.15): the API has the mapping made here
  (reserve_block_device_name: the next free /dev/vdX), reserves the volume in
  Cinder (attachment_create) and casts attach_volume: the attachment is
  updated with this host's connector (Cinder answers the connection info),
  the driver attaches the disk, the attachment is completed (volume in-use).
  Any failure rolls back: attachment deleted (volume available), mapping
  removed, the instance action's event Error.
- detach (1.16): driver detach, attachment deleted, mapping removed; a detach
  the guest refuses leaves the volume attached (in-use) and the server as it
  was, with the event Error.
- build: volumes from an image, a snapshot or blank are created and waited
  for (bounded by [DEFAULT] block_device_allocate_retries), every volume is connected
  and handed to spawn in block_device_info; completed after the spawn.
- delete: every volume is detached and the delete_on_termination ones deleted.
- volume-extended (1.17, an external event): the driver grows the guest's disk.
- rebuild of a volume-backed server (1.18, 2.93): the guest removed, every
  volume left reserved by a connector-less attachment, Cinder asked to
  reimage the root volume (os-reimage) and its volume-reimaged event waited
  for; the rebuild then connects the volumes again and remakes the guest.
"""
from __future__ import annotations

import contextlib
import logging
import string
import time
from typing import TYPE_CHECKING, Any

from minova import exception
from minova.conf import CONF
from minova.virt import configdrive

if TYPE_CHECKING:
    from minova.conductor.rpcapi import ConductorAPI
    from minova.context import RequestContext
    from minova.db.instances import Instance
    from minova.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)

BDM = dict[str, Any]
ROOT_DEVICE = '/dev/vda'


def cinder() -> Any:
    from minova.volume import cinder as cinder_client
    return cinder_client.client()


def is_volume(bdm: BDM) -> bool:
    return bdm.get('destination_type') == 'volume'


def is_root(bdm: BDM) -> bool:
    return bdm.get('boot_index') == 0


def local_disk_count(instance: Instance, boot_from_volume: bool) -> int:
    """How many /dev/vdX names the libvirt driver's own disks take, in order:
    the root (a volume when booted from one), the flavor's ephemeral disk, the
    config drive (see minova/virt/libvirt/driver.py _prepare_disks)."""
    del boot_from_volume    # the root takes vda either way
    return 1 + (1 if instance.get('ephemeral_gb') else 0) \
        + (1 if configdrive.required(instance) else 0)


def next_device_name(instance: Instance, bdms: list[BDM]) -> str:
    """The first /dev/vdX clear of the local disks and the mapped volumes."""
    bfv = any(is_root(b) and is_volume(b) for b in bdms)
    taken = {f'vd{c}' for c in string.ascii_lowercase[:local_disk_count(instance, bfv)]}
    taken |= {str(b['device_name']).rsplit('/', 1)[-1] for b in bdms if b.get('device_name')}
    for c in string.ascii_lowercase:
        if f'vd{c}' not in taken:
            return f'/dev/vd{c}'
    raise exception.InvalidVolume(reason='no free device name left on the server')


def block_device_info(bdms: list[BDM]) -> dict[str, Any] | None:
    """Nova's block_device_info of the connected volumes (None: no volume)."""
    mappings = []
    root = ROOT_DEVICE
    for b in bdms:
        if not is_volume(b) or not b.get('connection_info'):
            continue
        if is_root(b) and b.get('device_name'):
            root = b['device_name']
        mappings.append({
            'connection_info': b['connection_info'], 'mount_device': b.get('device_name'),
            'boot_index': b.get('boot_index'), 'disk_bus': b.get('disk_bus'),
            'device_type': b.get('device_type'),
            'delete_on_termination': bool(b.get('delete_on_termination')),
            'attachment_id': b.get('attachment_id'), 'volume_id': b.get('volume_id'),
            'guest_format': b.get('guest_format')})
    if not mappings:
        return None
    return {'root_device_name': root, 'ephemerals': [], 'swap': None,
            'block_device_mapping': mappings}


def encryption_metadata(ctx: RequestContext, connection_info: dict[str, Any] | None,
                        volume_id: str) -> dict[str, Any]:
    """Cinder's encryption metadata of an encrypted volume (its connection
    info says `encrypted`), {} for a plain one without asking Cinder, as
    os-brick's get_encryption_metadata that Nova's attach and detach use."""
    if not ((connection_info or {}).get('data') or {}).get('encrypted'):
        return {}
    return dict(cinder().get_encryption_metadata(ctx, volume_id))


def _connection_info(attachment: dict[str, Any], volume_id: str) -> dict[str, Any]:
    """What Cinder answered, with serial = the volume id, as Nova stores it."""
    info = dict(attachment.get('connection_info') or {})
    info['serial'] = volume_id
    return info


class VolumesMixin:
    """Mixed into ComputeManager."""

    if TYPE_CHECKING:
        host: str
        driver: ComputeDriver
        conductor: ConductorAPI

        def _instance_lock(self, uuid: str) -> contextlib.AbstractContextManager[None]: ...

        def _event(self, ctx: RequestContext, uuid: str, event: str,
                   by_body: bool = False) -> contextlib.AbstractContextManager[None]: ...

    # -- helpers -----------------------------------------------------------------

    def _bdms(self, ctx: RequestContext, instance: Instance) -> list[BDM]:
        return list(self.conductor.bdm_get_by_instance(ctx, instance['uuid']))

    def _block_device_info(self, ctx: RequestContext, instance: Instance,
                           ) -> dict[str, Any] | None:
        """The server's block_device_info, for the driver calls that remake or
        start a guest (None: no volume)."""
        return block_device_info(self._volume_bdms(ctx, instance))

    def _bdi_kwargs(self, ctx: RequestContext, instance: Instance) -> dict[str, Any]:
        """block_device_info=... for a driver call, only when there are volumes
        (drivers that predate volumes take no such argument)."""
        info = self._block_device_info(ctx, instance)
        return {'block_device_info': info} if info else {}

    def _check_multiattach(self, volume_id: str) -> None:
        if not self.driver.capabilities.get('supports_multiattach'):
            raise exception.MultiattachNotSupportedByVirtDriver(volume_id=volume_id)

    def _connect(self, ctx: RequestContext, instance: Instance, bdm: BDM) -> BDM:
        """The volume reserved (if it is not yet) and connected to this host: the
        mapping holds the attachment id and Cinder's connection info (marked
        multiattach for a volume other servers may share, as Nova does, so the
        driver makes the disk shareable)."""
        client = cinder()
        volume_id = bdm['volume_id']
        multiattach = bool(client.get(ctx, volume_id).get('multiattach'))
        if multiattach:
            self._check_multiattach(volume_id)
        attachment_id = bdm.get('attachment_id')
        if not attachment_id:
            attachment_id = client.attachment_create(ctx, volume_id, instance['uuid'])['id']
            bdm = self.conductor.bdm_update(ctx, bdm['uuid'], {'attachment_id': attachment_id})
        connector = self.driver.get_volume_connector(instance)
        attachment = client.attachment_update(ctx, attachment_id, connector,
                                              bdm.get('device_name'))
        info = _connection_info(attachment, volume_id)
        if multiattach:
            info['multiattach'] = True
        return self.conductor.bdm_update(ctx, bdm['uuid'], {'connection_info': info})

    def _release(self, ctx: RequestContext, bdm: BDM) -> None:
        """The volume's attachment deleted (Cinder: available again)."""
        if bdm.get('attachment_id'):
            cinder().attachment_delete(ctx, bdm['attachment_id'])

    # -- attach (rpc 1.15) ---------------------------------------------------------

    def reserve_block_device_name(self, context: RequestContext, instance: Instance,
                                  volume_id: str, disk_bus: str | None = None,
                                  device_type: str | None = None, tag: str | None = None,
                                  delete_on_termination: bool = False,
                                  multiattach: bool = False) -> BDM:
        """A call: the new volume mapping with this host's choice of device name
        (as Nova's libvirt driver, a name the user asked for is not used). A
        multiattach volume needs a driver that supports_multiattach (1.18)."""
        if multiattach:
            self._check_multiattach(volume_id)
        with self._instance_lock(instance['uuid']):
            bdms = self._bdms(context, instance)
            if any(b.get('volume_id') == volume_id for b in bdms):
                raise exception.InvalidVolume(reason=f'volume {volume_id} already attached')
            return self.conductor.bdm_create(context, {
                'instance_uuid': instance['uuid'], 'source_type': 'volume',
                'destination_type': 'volume', 'volume_id': volume_id,
                'device_name': next_device_name(instance, bdms), 'disk_bus': disk_bus,
                'device_type': device_type or 'disk', 'tag': tag, 'boot_index': None,
                'delete_on_termination': bool(delete_on_termination)})

    def attach_volume(self, context: RequestContext, instance: Instance, bdm: BDM) -> None:
        """A cast: connect, attach in the guest, complete; or roll all of it back."""
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            try:
                with self._event(context, uuid, 'compute_attach_volume'):
                    bdm = self._connect(context, instance, bdm)
                    encryption = encryption_metadata(context, bdm['connection_info'],
                                                     bdm['volume_id'])
                    try:
                        self.driver.attach_volume(
                            context, bdm['connection_info'], instance, bdm['device_name'],
                            disk_bus=bdm.get('disk_bus'), device_type=bdm.get('device_type'),
                            encryption=encryption)
                    except NotImplementedError:
                        raise exception.VolumeAttachFailed(
                            volume_id=bdm['volume_id'],
                            reason='the hypervisor cannot attach volumes') from None
                    cinder().attachment_complete(context, bdm['attachment_id'])
            except Exception as e:
                LOG.error('Attach of volume %s to %s failed: %s', bdm.get('volume_id'), uuid, e)
                with contextlib.suppress(Exception):
                    self._release(context, self._current_bdm(context, instance, bdm))
                with contextlib.suppress(Exception):
                    self.conductor.bdm_destroy(context, bdm['uuid'])

    def _current_bdm(self, ctx: RequestContext, instance: Instance, bdm: BDM) -> BDM:
        """The mapping as the DB has it now (its attachment id may be newer)."""
        for b in self._bdms(ctx, instance):
            if b['uuid'] == bdm['uuid']:
                return b
        return bdm

    # -- detach and swap (rpc 1.16) ------------------------------------------------

    def detach_volume(self, context: RequestContext, instance: Instance, volume_id: str,
                      attachment_id: str | None = None) -> None:
        """A cast: the guest lets go of the disk, the attachment goes, the mapping
        goes. A guest that does not let go: the volume stays in-use (Cinder's
        detaching rolled back), the event says Error."""
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            bdm = next((b for b in self._bdms(context, instance)
                        if b.get('volume_id') == volume_id), None)
            if bdm is None:
                LOG.info('Volume %s is not attached to %s any more', volume_id, uuid)
                return
            try:
                with self._event(context, uuid, 'compute_detach_volume'):
                    self._detach(context, instance, bdm)
            except Exception as e:
                LOG.error('Detach of volume %s from %s failed: %s', volume_id, uuid, e)
                with contextlib.suppress(Exception):
                    cinder().roll_detaching(context, volume_id)

    def _detach(self, ctx: RequestContext, instance: Instance, bdm: BDM) -> None:
        if bdm.get('connection_info'):
            try:
                self.driver.detach_volume(
                    ctx, bdm['connection_info'], instance, bdm.get('device_name') or '',
                    encryption=encryption_metadata(ctx, bdm['connection_info'],
                                                   bdm['volume_id']))
            except exception.InstanceNotFound:
                pass    # no guest, no disk to release
        self._release(ctx, bdm)
        self.conductor.bdm_destroy(ctx, bdm['uuid'])

    def swap_volume(self, context: RequestContext, instance: Instance,
                    old_volume_id: str, new_volume_id: str,
                    new_attachment_id: str) -> None:
        """A cast: the guest's disk copied onto the new volume (driver.swap_volume),
        the new attachment completed, the old one deleted, Cinder told the
        migration is complete; the mapping then names the new volume."""
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            bdm = next((b for b in self._bdms(context, instance)
                        if b.get('volume_id') == old_volume_id), None)
            client = cinder()
            try:
                with self._event(context, uuid, 'compute_swap_volume'):
                    if bdm is None:
                        raise exception.VolumeBDMNotFound(volume_id=old_volume_id)
                    connector = self.driver.get_volume_connector(instance)
                    new = client.attachment_update(context, new_attachment_id, connector,
                                                   bdm.get('device_name'))
                    new_info = _connection_info(new, new_volume_id)
                    new_volume = client.get(context, new_volume_id)
                    if new_volume.get('multiattach'):
                        self._check_multiattach(new_volume_id)
                        new_info['multiattach'] = True
                    size = int(new_volume.get('size') or 0)
                    try:
                        self.driver.swap_volume(context, bdm.get('connection_info') or {},
                                                new_info, instance, bdm['device_name'],
                                                size * 1024 ** 3)
                    except NotImplementedError:
                        raise exception.NotSupported(
                            'Swapping volumes is not supported by this hypervisor'
                        ) from None
                    client.attachment_complete(context, new_attachment_id)
                    self._release(context, bdm)
                    client.migrate_volume_completion(context, old_volume_id, new_volume_id)
                    self.conductor.bdm_update(context, bdm['uuid'], {
                        'volume_id': new_volume_id, 'attachment_id': new_attachment_id,
                        'connection_info': new_info, 'volume_size': size})
            except Exception as e:
                LOG.error('Swap of volume %s on %s failed: %s', old_volume_id, uuid, e)
                with contextlib.suppress(Exception):
                    client.attachment_delete(context, new_attachment_id)
                with contextlib.suppress(Exception):
                    client.migrate_volume_completion(context, old_volume_id, new_volume_id,
                                                     error=True)

    # -- volume-extended (rpc 1.17) ------------------------------------------------

    def _handle_volume_event(self, context: RequestContext, instance: Instance,
                             name: str, tag: str | None) -> None:
        """volume-extended (tag: the volume id): the guest's disk grows to the
        volume's new size, as Nova's extend_volume."""
        if name != 'volume-extended' or not tag:
            return
        bdm = next((b for b in self._bdms(context, instance)
                    if b.get('volume_id') == tag), None)
        if bdm is None or not bdm.get('connection_info'):
            LOG.info('volume-extended for %s, not attached to %s', tag, instance['uuid'])
            return
        with self._event(context, instance['uuid'], 'compute_extend_volume'):
            size = int(cinder().get(_owner_context(context, instance), tag)['size'])
            self.conductor.bdm_update(context, bdm['uuid'], {'volume_size': size})
            self.driver.extend_volume(context, bdm['connection_info'], instance,
                                      size * 1024 ** 3)

    # -- rebuild of a volume-backed server (rpc 1.18, 2.93) ------------------------

    def _reimage_root_volume(self, ctx: RequestContext, instance: Instance,
                             image: dict[str, Any]) -> None:
        """As Nova's _rebuild_volume_backed_instance: nothing may use the volumes
        while Cinder rewrites the root one, so the guest goes (its files stay),
        each volume's attachment is replaced by a connector-less one (the volume
        stays the server's, 'reserved'), and Cinder reimages the root volume
        from the image; its volume-reimaged event is waited for
        ([DEFAULT] reimage_timeout_per_gb per GiB of the image). A failure,
        a failed event or none in time: BuildAbortException (the server ERROR)."""
        bdms = self._volume_bdms(ctx, instance)
        root = next((b for b in bdms if is_root(b)), None)
        if root is None or not root.get('volume_id'):
            raise exception.BuildAbortException(
                instance_uuid=instance['uuid'],
                reason='Unable to find root block device mapping for volume-backed '
                       'instance.')
        volume_id = root['volume_id']
        image_id = str(image.get('id') or '')
        size_gb = max(1, -(-int(image.get('size') or 0) // 1024 ** 3))
        deadline = CONF.reimage_timeout_per_gb * size_gb

        def failed(event: str, inst: Instance) -> None:
            raise exception.ReimageException(
                f'Cinder reported failure during reimaging with {event} for instance '
                f"{inst['uuid']}")

        try:
            self.driver.destroy(ctx, instance, instance.get('network_info') or [],
                                block_device_info=block_device_info(bdms),
                                destroy_disks=False)
            self._disconnect_volumes(ctx, instance, bdms)
            with self.driver.virtapi.wait_for_instance_event(
                    instance, [('volume-reimaged', volume_id)], deadline=deadline,
                    error_callback=failed):
                cinder().reimage(ctx, volume_id, image_id, reimage_reserved=True)
        except Exception as e:
            LOG.error('Failed to rebuild volume backed instance %s: %s',
                      instance['uuid'], e)
            raise exception.BuildAbortException(
                instance_uuid=instance['uuid'],
                reason='Failed to rebuild volume backed instance.') from e
        LOG.info('Root volume %s of %s reimaged from image %s', volume_id,
                 instance['uuid'], image_id)

    # -- build and delete ------------------------------------------------------------

    def _prepare_block_devices(self, ctx: RequestContext,
                               instance: Instance) -> dict[str, Any] | None:
        """The build's volumes made (image, snapshot, blank sources) and
        connected; None when the server has none."""
        bdms = [b for b in self._bdms(ctx, instance) if is_volume(b)]
        if not bdms:
            return None
        connected: list[BDM] = []
        for bdm in bdms:
            if not bdm.get('volume_id'):
                bdm = self._create_volume(ctx, instance, bdm)
            if not bdm.get('device_name'):
                name = ROOT_DEVICE if is_root(bdm) else next_device_name(
                    instance, connected + [b for b in bdms if b.get('device_name')])
                bdm = self.conductor.bdm_update(ctx, bdm['uuid'], {'device_name': name})
            connected.append(self._connect(ctx, instance, bdm))
        return block_device_info(connected)

    def _create_volume(self, ctx: RequestContext, instance: Instance, bdm: BDM) -> BDM:
        """A volume from the mapping's image, snapshot or nothing (blank), in the
        server's zone unless cross_az_attach; waited for until available."""
        client = cinder()
        size = int(bdm.get('volume_size') or (instance.get('root_gb') or 1))
        zone = None if CONF.cinder.cross_az_attach else instance.get('availability_zone')
        source = bdm.get('source_type')
        volume = client.create(
            ctx, size, f"{instance['uuid']}-{'blank' if source == 'blank' else source}-vol",
            '', snapshot_id=bdm.get('snapshot_id') if source == 'snapshot' else None,
            image_id=bdm.get('image_id') if source == 'image' else None,
            volume_type=bdm.get('volume_type'), availability_zone=zone)
        bdm = self.conductor.bdm_update(ctx, bdm['uuid'], {'volume_id': volume['id'],
                                                            'volume_size': size})
        self._await_volume(ctx, volume['id'])
        return bdm

    def _await_volume(self, ctx: RequestContext, volume_id: str) -> None:
        """As Nova's _await_block_device_map_created: [DEFAULT]
        block_device_allocate_retries more looks, ..._interval seconds apart."""
        interval = CONF.block_device_allocate_retries_interval
        attempts = CONF.block_device_allocate_retries + 1
        start = time.monotonic()
        status = 'creating'
        for attempt in range(1, attempts + 1):
            status = cinder().get(ctx, volume_id).get('status') or ''
            if status == 'available':
                return
            if status == 'error':
                break
            if attempt < attempts:
                time.sleep(interval)
        raise exception.VolumeNotCreated(volume_id=volume_id,
                                         seconds=int(time.monotonic() - start),
                                         attempts=attempt, volume_status=status)

    def _complete_attachments(self, ctx: RequestContext,
                              info: dict[str, Any] | None) -> None:
        for m in (info or {}).get('block_device_mapping') or []:
            cinder().attachment_complete(ctx, m['attachment_id'])

    def _teardown_volumes(self, ctx: RequestContext, instance: Instance,
                          delete: bool) -> None:
        """A server's volumes detached from Cinder (the guest is gone); with
        `delete`, those with delete_on_termination deleted and the mappings
        removed. Raises on Cinder's failure; what is done stays done, so the
        next try finishes it."""
        for bdm in self._bdms(ctx, instance):
            if not is_volume(bdm):
                continue
            if bdm.get('attachment_id'):
                self._release(ctx, bdm)
                bdm = self.conductor.bdm_update(ctx, bdm['uuid'], {
                    'attachment_id': None, 'connection_info': None})
            if delete and bdm.get('delete_on_termination') and bdm.get('volume_id'):
                with contextlib.suppress(exception.VolumeNotFound):
                    cinder().delete(ctx, bdm['volume_id'])
            if delete:
                self.conductor.bdm_destroy(ctx, bdm['uuid'])

    def _disconnect_volumes(self, ctx: RequestContext, instance: Instance,
                            bdms: list[BDM]) -> None:
        """The guest left this host for good (shelve offload): each volume keeps
        a connector-less attachment (still the server's) and the old one, with
        this host's connection, goes, as Nova's _terminate_volume_connections.
        The next host connects them again (_prepare_block_devices)."""
        client = cinder()
        for bdm in bdms:
            if not bdm.get('attachment_id'):
                continue
            new = client.attachment_create(ctx, bdm['volume_id'], instance['uuid'])
            client.attachment_delete(ctx, bdm['attachment_id'])
            self.conductor.bdm_update(ctx, bdm['uuid'], {'attachment_id': new['id'],
                                                          'connection_info': None})

    # -- live migration: the destination's attachments made beside the source's --

    def _volumes_pre_live_migration(self, ctx: RequestContext, instance: Instance,
                                    migrate_data: dict[str, Any]) -> dict[str, Any]:
        """Destination: each volume gets a second attachment, connected to this
        host (the source's stays until the guest has moved), as Nova's
        pre_live_migration. migrate_data carries them ('volumes': bdm uuid ->
        new attachment id and connection info) and the destination's
        block_device_info ('block_device_info') for the driver."""
        bdms = self._volume_bdms(ctx, instance)
        if not bdms:
            return migrate_data
        client = cinder()
        connector = self.driver.get_volume_connector(instance)
        moved: dict[str, dict[str, Any]] = {}
        connected = []
        try:
            for bdm in bdms:
                # Created with the connector at once, as Nova does: Cinder
                # refuses to update a second attachment of a volume that is
                # not multiattach while another one is connected.
                new = client.attachment_create(ctx, bdm['volume_id'], instance['uuid'],
                                               connector, bdm.get('device_name'))
                moved[bdm['uuid']] = {'attachment_id': new['id']}
                info = _connection_info(new, bdm['volume_id'])
                if (bdm.get('connection_info') or {}).get('multiattach'):
                    info['multiattach'] = True
                moved[bdm['uuid']]['connection_info'] = info
                connected.append(dict(bdm, attachment_id=new['id'], connection_info=info))
        except Exception:
            self._volumes_rollback_live_migration(ctx, {'volumes': moved})
            raise
        return dict(migrate_data, volumes=moved,
                    block_device_info=block_device_info(connected))

    def _volumes_post_live_migration_at_source(self, ctx: RequestContext,
                                               instance: Instance,
                                               migrate_data: dict[str, Any]) -> None:
        """Source, the guest gone: the source's attachments deleted, the
        mappings now name the destination's."""
        moved = migrate_data.get('volumes') or {}
        for bdm in self._volume_bdms(ctx, instance):
            new = moved.get(bdm['uuid'])
            if new is None:
                continue
            with contextlib.suppress(exception.VolumeAttachmentNotFound):
                self._release(ctx, bdm)
            self.conductor.bdm_update(ctx, bdm['uuid'], new)

    def _volumes_post_live_migration_at_destination(self, ctx: RequestContext,
                                                    migrate_data: dict[str, Any]) -> None:
        for new in (migrate_data.get('volumes') or {}).values():
            cinder().attachment_complete(ctx, new['attachment_id'])

    def _volumes_rollback_live_migration(self, ctx: RequestContext,
                                         migrate_data: dict[str, Any]) -> None:
        """The move failed: the destination's attachments deleted (the
        source's were never touched)."""
        for new in (migrate_data.get('volumes') or {}).values():
            try:
                cinder().attachment_delete(ctx, new['attachment_id'])
            except Exception:
                LOG.exception('Could not delete attachment %s', new['attachment_id'])

    def _volume_bdms(self, ctx: RequestContext, instance: Instance) -> list[BDM]:
        """The server's volume mappings ([] from a conductor that has none)."""
        try:
            return [b for b in self._bdms(ctx, instance) if is_volume(b)]
        except Exception:   # noqa: BLE001 - an older conductor: none known
            LOG.debug('No block device mappings for %s', instance['uuid'], exc_info=True)
            return []

    def _build_volumes_cleanup(self, ctx: RequestContext, instance: Instance,
                               spec: Any, delete: bool) -> None:
        """After a failed build: the volumes released (attachments deleted);
        with `delete` (the build ends here) the delete_on_termination ones
        deleted, as Nova's build failure does. Never raises."""
        if not spec.get('block_device_mapping'):
            return
        try:
            self._teardown_volumes(ctx, instance, delete=delete)
        except Exception:
            LOG.exception('Could not release the volumes of %s', instance['uuid'])


def _owner_context(context: RequestContext, instance: Instance) -> RequestContext:
    """Cinder's events arrive in its own user's context; against a Cinder
    without Keystone, whose URLs and tokens name a project, the volume is read
    as an admin of the server's project (with Keystone the caller's token and
    catalog already reach it)."""
    if CONF.cinder.auth_type:
        return context
    owner = context.elevated()
    owner.project_id = instance['project_id']
    return owner
