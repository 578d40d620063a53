"""The compute API's volume calls (os-volume_attachments), as Nova's compute API.

Attach: the server's host picks the device name and records the mapping
(compute RPC 1.15 call), the volume is reserved in Cinder here (an
attachment without a connector: Cinder's refusals answer the request), and
the attach is cast to the host. Detach: Cinder's volume goes 'detaching' and
the detach is cast (1.16). A server whose record is not on a host (never
built) cannot take volumes. Without [cinder]: VolumeServiceNotConfigured (501).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from minova import exception, states
from minova.compute import rpcapi as compute_rpcapi
from minova.conf import CONF
from minova.db import actions, block_devices

if TYPE_CHECKING:
    from minova.cells.mappings import CellMapping
    from minova.context import RequestContext
    from minova.db.instances import Instance

LOG = logging.getLogger(__name__)

# Nova's check_instance_state of attach_volume and detach_volume, and of swap.
ATTACH_VM_STATES = (states.ACTIVE, states.PAUSED, states.STOPPED, states.RESIZED,
                    states.SOFT_DELETED, states.SHELVED, states.SHELVED_OFFLOADED)
SWAP_VM_STATES = (states.ACTIVE, states.PAUSED, states.RESIZED)


def cinder() -> Any:
    from minova.volume import cinder as cinder_client
    return cinder_client.client()


class VolumesAPIMixin:
    """Mixed into minova.compute.api.API."""

    if TYPE_CHECKING:
        @staticmethod
        def check_lock(ctx: RequestContext, instance: Instance) -> None: ...

        @staticmethod
        def check_states(instance: Instance, action: str, vm_states: Collection[str],
                         task_states: Collection[str | None] | None = (None,)) -> None: ...

        def _on_host(self, instance: Instance) -> tuple[CellMapping, str]: ...

        def _snapshot_meta(self, ctx: RequestContext, instance: Instance, name: str,
                           image_type: str, extra: dict[str, str]) -> dict[str, Any]: ...

    @staticmethod
    def _cell_url(instance: Instance) -> str | None:
        from minova.cells import lookup
        cell_uuid = instance.get('cell_uuid')
        return lookup.get(cell_uuid)['database_connection'] if cell_uuid else None

    def volume_bdms(self, ctx: RequestContext, instance: Instance) -> list[dict[str, Any]]:
        """The server's volume mappings (none for one not yet in a cell)."""
        url = self._cell_url(instance)
        if url is None:
            return []
        return block_devices.volumes_attached(
            block_devices.get_by_instance(url, instance['uuid']))

    def volume_bdm(self, ctx: RequestContext, instance: Instance,
                   volume_id: str) -> dict[str, Any]:
        """The server's mapping of a volume; VolumeBDMNotFound if there is none."""
        for bdm in self.volume_bdms(ctx, instance):
            if bdm.get('volume_id') == volume_id:
                return bdm
        raise exception.VolumeBDMNotFound(volume_id=volume_id)

    @staticmethod
    def _check_az(instance: Instance, volume: dict[str, Any]) -> None:
        """With [cinder] cross_az_attach False a volume attaches only in its zone."""
        if CONF.cinder.cross_az_attach:
            return
        ins_zone = instance.get('availability_zone') or CONF.default_availability_zone
        vol_zone = volume.get('availability_zone')
        if vol_zone and vol_zone != ins_zone:
            raise exception.InvalidVolume(reason=(
                f"Instance {instance['uuid']} and volume {volume['id']} are not in the "
                f"same availability_zone. Instance is in {ins_zone}. Volume is in "
                f"{vol_zone}"))

    def attach_volume(self, ctx: RequestContext, instance: Instance, volume_id: str,
                      tag: str | None = None, delete_on_termination: bool = False,
                      supports_multiattach: bool = True) -> dict[str, Any]:
        """The new mapping (device name chosen by the host); the attach goes on
        there. Raises InstanceIsLocked, InstanceInvalidState (409),
        VolumeNotFound (404), InvalidVolume (400: in use, other zone; a
        multiattach volume before 2.60 (supports_multiattach False), to a
        shelved-offloaded server, or to a host whose driver cannot share it)."""
        self.check_lock(ctx, instance)
        self.check_states(instance, 'attach_volume', ATTACH_VM_STATES)
        client = cinder()
        volume = client.get(ctx, volume_id)
        if any(b.get('volume_id') == volume_id for b in self.volume_bdms(ctx, instance)):
            raise exception.InvalidVolume(reason=f'volume {volume_id} already attached')
        self._check_az(instance, dict(volume))
        multiattach = bool(volume.get('multiattach'))
        if multiattach and not supports_multiattach:
            raise exception.MultiattachNotSupportedOldMicroversion()
        if instance.get('vm_state') == states.SHELVED_OFFLOADED:
            if multiattach:     # no host to ask whether it can share the volume
                raise exception.MultiattachToShelvedNotSupported()
            return self._attach_offloaded(ctx, instance, dict(volume), tag,
                                          delete_on_termination)
        cell, host = self._on_host(instance)
        url = cell['database_connection']
        actions.action_start(url, instance['uuid'], 'attach_volume', ctx.request_id,
                             ctx.user_id, ctx.project_id)
        rpc = compute_rpcapi.for_cell(cell)
        bdm = rpc.reserve_block_device_name(ctx, host, instance, volume_id, None, None, tag,
                                            delete_on_termination, multiattach=multiattach)
        try:
            attachment = client.attachment_create(ctx, volume_id, instance['uuid'])
        except Exception:
            block_devices.destroy(url, bdm['uuid'])
            raise
        bdm = block_devices.update(url, bdm['uuid'], {'attachment_id': attachment['id'],
                                                      'volume_size': volume.get('size')})
        rpc.attach_volume(ctx, host, instance, bdm)
        return bdm

    def _attach_offloaded(self, ctx: RequestContext, instance: Instance,
                          volume: dict[str, Any], tag: str | None,
                          delete_on_termination: bool) -> dict[str, Any]:
        """A shelved-offloaded server has no host: the volume is reserved for it,
        marked in-use (the attachment completed, as Nova's
        _attach_volume_shelved_offloaded does: clients such as Tempest wait for
        in-use) and mapped without a device name; unshelve connects it."""
        url = self._cell_url(instance)
        assert url is not None
        actions.action_start(url, instance['uuid'], 'attach_volume', ctx.request_id,
                             ctx.user_id, ctx.project_id)
        client = cinder()
        attachment = client.attachment_create(ctx, volume['id'], instance['uuid'])
        try:
            client.attachment_complete(ctx, attachment['id'])
        except Exception:
            client.attachment_delete(ctx, attachment['id'])
            raise
        return block_devices.create(url, {
            'instance_uuid': instance['uuid'], 'source_type': 'volume',
            'destination_type': 'volume', 'volume_id': volume['id'],
            'attachment_id': attachment['id'], 'device_type': 'disk', 'tag': tag,
            'volume_size': volume.get('size'),
            'delete_on_termination': bool(delete_on_termination)})

    def detach_volume(self, ctx: RequestContext, instance: Instance,
                      volume_id: str) -> None:
        """Cast the detach (Cinder: detaching). Raises InstanceIsLocked,
        InstanceInvalidState (409), VolumeNotFound, VolumeBDMNotFound (404),
        InvalidVolume (400: the root volume)."""
        self.check_lock(ctx, instance)
        self.check_states(instance, 'detach_volume', ATTACH_VM_STATES)
        client = cinder()
        client.get(ctx, volume_id)
        bdm = self.volume_bdm(ctx, instance, volume_id)
        if bdm.get('boot_index') == 0:
            raise exception.InvalidVolume(reason='Cannot detach a root device volume')
        if instance.get('vm_state') == states.SHELVED_OFFLOADED:
            # No host holds it: the attachment and the mapping go here, as Nova.
            url = self._cell_url(instance)
            assert url is not None
            actions.action_start(url, instance['uuid'], 'detach_volume', ctx.request_id,
                                 ctx.user_id, ctx.project_id)
            if bdm.get('attachment_id'):
                client.attachment_delete(ctx, bdm['attachment_id'])
            block_devices.destroy(url, bdm['uuid'])
            return
        cell, host = self._on_host(instance)
        actions.action_start(cell['database_connection'], instance['uuid'],
                             'detach_volume', ctx.request_id, ctx.user_id, ctx.project_id)
        client.begin_detaching(ctx, volume_id)
        compute_rpcapi.for_cell(cell).detach_volume(ctx, host, instance, volume_id,
                                                    bdm.get('attachment_id'))

    def update_volume_attachment(self, ctx: RequestContext, instance: Instance,
                                 volume_id: str, changes: dict[str, Any]
                                 ) -> dict[str, Any]:
        """2.85: delete_on_termination (what else the body says must equal the
        mapping's: checked by the handler)."""
        self.check_lock(ctx, instance)
        bdm = self.volume_bdm(ctx, instance, volume_id)
        url = self._cell_url(instance)
        assert url is not None
        return block_devices.update(url, bdm['uuid'], changes)

    def swap_volume(self, ctx: RequestContext, instance: Instance, old_volume_id: str,
                    new_volume_id: str) -> None:
        """The admin's swap (Cinder's volume migration and retype call it): the new
        volume reserved here, the copy cast to the host. Raises VolumeBDMNotFound
        (404), InvalidVolume (400), InstanceInvalidState (409)."""
        self.check_lock(ctx, instance)
        self.check_states(instance, 'swap_volume', SWAP_VM_STATES)
        client = cinder()
        old = client.get(ctx, old_volume_id)
        new = client.get(ctx, new_volume_id)
        self.volume_bdm(ctx, instance, old_volume_id)
        if old.get('status') not in ('in-use', 'retyping', 'migrating') or \
                not old.get('attachments'):
            raise exception.InvalidVolume(reason=f'volume {old_volume_id} is not attached')
        if new.get('status') != 'available':
            raise exception.InvalidVolume(
                reason=f"volume {new_volume_id} status must be available, but the current "
                       f"status is {new.get('status')}")
        if int(new.get('size') or 0) < int(old.get('size') or 0):
            raise exception.InvalidVolume(
                reason='New volume must be the same size or larger.')
        if len(old.get('attachments') or []) > 1 and \
                self._rw_attachments(ctx, dict(old)) > 1:
            raise exception.MultiattachSwapVolumeNotSupported()
        cell, host = self._on_host(instance)
        actions.action_start(cell['database_connection'], instance['uuid'], 'swap_volume',
                             ctx.request_id, ctx.user_id, ctx.project_id)
        attachment = client.attachment_create(ctx, new_volume_id, instance['uuid'])
        compute_rpcapi.for_cell(cell).swap_volume(ctx, host, instance, old_volume_id,
                                                  new_volume_id, attachment['id'])

    @staticmethod
    def _rw_attachments(ctx: RequestContext, volume: dict[str, Any]) -> int:
        """How many of a (multiattach) volume's attachments are read/write."""
        client = cinder()
        count = 0
        for a in volume.get('attachments') or []:
            try:
                mode = client.attachment_get(ctx, a['attachment_id']).get('attach_mode')
            except exception.VolumeAttachmentNotFound:
                continue
            count += mode != 'ro'
        return count

    def release_volumes_locally(self, ctx: RequestContext, instance: Instance) -> None:
        """A server deleted by the API itself (never built, host down): its
        attachments deleted and its delete_on_termination volumes deleted, as
        Nova's local delete; Cinder's trouble is logged, never fatal here."""
        try:
            bdms = self.volume_bdms(ctx, instance)
        except Exception:   # noqa: BLE001 - no cell DB at hand: nothing to release
            return
        if not bdms:
            return
        try:
            client = cinder()
        except exception.VolumeServiceNotConfigured:
            LOG.warning('Volumes of %s left attached: no volume service', instance['uuid'])
            return
        for bdm in bdms:
            try:
                if bdm.get('attachment_id'):
                    client.attachment_delete(ctx, bdm['attachment_id'])
                if bdm.get('delete_on_termination') and bdm.get('volume_id'):
                    client.delete(ctx, bdm['volume_id'])
            except exception.VolumeNotFound:
                pass
            except Exception:
                LOG.exception('Could not release volume %s of %s', bdm.get('volume_id'),
                              instance['uuid'])

    # -- createImage of a boot-from-volume server ---------------------------------

    def root_volume(self, ctx: RequestContext, instance: Instance) -> dict[str, Any] | None:
        """The server's boot_index 0 volume mapping, if it boots from a volume."""
        return next((b for b in self.volume_bdms(ctx, instance) if b.get('boot_index') == 0),
                    None)

    def check_rebuild_volumes(self, ctx: RequestContext, instance: Instance,
                              image_ref: str, reimage_boot_volume: bool) -> bool:
        """A rebuild's checks of the server's volumes, as Nova's: a
        volume-backed server's image is the one its root volume was made from
        (Cinder's volume_image_metadata); another one is refused before 2.93
        (ImageUnacceptable, 400) and reimages the root volume from 2.93; every
        volume must be in-use (InvalidVolume, 400). True: the host reimages
        the root volume (2.93 and a volume-backed server)."""
        bdms = self.volume_bdms(ctx, instance)
        if not bdms:
            return False
        client = cinder()
        volumes = {b['volume_id']: client.get(ctx, b['volume_id'])
                   for b in bdms if b.get('volume_id')}
        root = next((b for b in bdms if b.get('boot_index') == 0), None)
        if root is not None and root.get('volume_id'):
            meta = volumes[root['volume_id']].get('volume_image_metadata') or {}
            if meta.get('image_id') != image_ref and not reimage_boot_volume:
                raise exception.ImageUnacceptable(
                    image_id=image_ref, reason='Unable to rebuild with a different image '
                                               'for a volume-backed server.')
        for volume in volumes.values():
            if volume.get('status') != 'in-use':
                raise exception.InvalidVolume(
                    reason=f"volume '{volume['id']}' status must be 'in-use'. Currently "
                           f"in '{volume.get('status')}' status")
        return root is not None and reimage_boot_volume

    def snapshot_volume_backed(self, ctx: RequestContext, instance: Instance, name: str,
                               extra: dict[str, str]) -> dict[str, Any]:
        """createImage of a server whose root is a volume, as Nova's
        snapshot_volume_backed: a Cinder snapshot of each volume (forced: they
        are in use) and an image with no data whose block_device_mapping
        property names them; booting that image makes volumes from them."""
        from minova.clients import image as image_client
        self.check_states(instance, 'createImage', states.ALLOW_SNAPSHOT)
        url = self._cell_url(instance)
        assert url is not None
        actions.action_start(url, instance['uuid'], 'createImage', ctx.request_id,
                             ctx.user_id, ctx.project_id)
        client = cinder()
        mappings = []
        for bdm in self.volume_bdms(ctx, instance):
            snap = client.create_snapshot_force(ctx, bdm['volume_id'],
                                                f'snapshot for {name}', '')
            mappings.append({
                'source_type': 'snapshot', 'destination_type': 'volume',
                'snapshot_id': snap['id'], 'volume_id': None, 'image_id': None,
                'volume_size': bdm.get('volume_size') or snap.get('size'),
                'boot_index': bdm.get('boot_index'), 'device_name': bdm.get('device_name'),
                'delete_on_termination': bool(bdm.get('delete_on_termination')),
                'disk_bus': bdm.get('disk_bus'), 'device_type': bdm.get('device_type'),
                'guest_format': bdm.get('guest_format'), 'tag': None, 'no_device': None})
        meta = self._snapshot_meta(ctx, instance, name, 'snapshot', extra)
        meta.update({'block_device_mapping': json.dumps(mappings), 'bdm_v2': 'True',
                     'root_device_name': '/dev/vda'})
        image = image_client.CallerImageClient().create(ctx, meta)
        # A zero-byte image (active), as Nova's: the data is in the snapshots.
        import tempfile
        with tempfile.NamedTemporaryFile() as empty:
            image_client.shared_client().upload(image['id'], empty.name, 'raw')
        return image

    def image_defined_bdms(self, ctx: RequestContext, request: Any,
                           image: dict[str, Any]) -> None:
        """A boot from an image that names volume snapshots (a boot-from-volume
        server's createImage): its block_device_mapping property becomes the
        request's mappings, and the root one the boot disk, as Nova's
        _get_image_defined_bdms. What the request maps itself wins."""
        raw = image.get('block_device_mapping')
        if not raw or str(image.get('bdm_v2')).lower() != 'true':
            return
        try:
            mappings = json.loads(raw) if isinstance(raw, str) else list(raw)
        except ValueError:
            return
        asked = {m.get('boot_index') for m in request.block_device_mapping}
        fields = ('source_type', 'destination_type', 'snapshot_id', 'volume_id', 'image_id',
                  'volume_size', 'boot_index', 'device_name', 'delete_on_termination',
                  'disk_bus', 'device_type', 'guest_format', 'tag', 'volume_type')
        extra = [{k: m.get(k) for k in fields} for m in mappings
                 if isinstance(m, dict) and m.get('destination_type') == 'volume'
                 and not (m.get('boot_index') == 0 and 0 in asked)]
        if not extra:
            return
        from minova.api import server_bdm
        server_bdm.validate(ctx, extra)
        request.block_device_mapping = [*request.block_device_mapping, *extra]
        if any(m.get('boot_index') == 0 for m in extra):
            request.image_ref = ''
