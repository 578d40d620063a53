"""A boot request's block device mappings (block_device_mapping_v2 and the legacy
block_device_mapping), checked as Nova's compute API checks them.

What comes out is the image to boot ('' when the root disk is a volume) and
the volume mappings the server's cell records (minova/db/block_devices.py):
source image, volume, snapshot or blank with destination volume. The image
disk itself (source image, destination local, boot index 0) is the imageRef
and needs no mapping. Volumes and snapshots named are looked up in Cinder
here (Nova's _validate_bdm), so a wrong id is a 400 before anything is made.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon

from minova import exception
from minova.api import errors, util, versioned

if TYPE_CHECKING:
    from minova.context import RequestContext

# tag: 2.32, lost in 2.33-2.41, back in 2.42 (Nova's bug 1658571); volume_type 2.67
_TAG_RANGES = (('2.32', '2.33'), ('2.42', None))
_VOLUME_TYPE_SINCE = '2.67'
ROOT_NAMES = ('vda', '/dev/vda', 'sda', '/dev/sda', 'xvda', '/dev/xvda')


def _bad(e: exception.MinovaException) -> errors.HTTPFault:
    return errors.bad_request(e.message)


def _tag_allowed(req: falcon.Request) -> bool:
    at = versioned.version(req)
    return any(versioned.parse(lo) <= at and (hi is None or at < versioned.parse(hi))
               for lo, hi in _TAG_RANGES)


def _boot_index(value: Any) -> int | None:
    if value is None or value == '':
        return None
    return int(value)


def _from_legacy(item: dict[str, Any], image_ref: str | None) -> dict[str, Any]:
    """A legacy mapping (volume_id or snapshot_id, device_name) as a v2 one; the
    root device's is the boot volume when no image is asked for."""
    device = item.get('device_name')
    source = 'snapshot' if item.get('snapshot_id') else 'volume'
    boot = 0 if not image_ref and (device in ROOT_NAMES or device is None) else None
    return {'source_type': source, 'destination_type': 'volume',
            'uuid': item.get('snapshot_id') or item.get('volume_id'),
            'device_name': device, 'volume_size': item.get('volume_size'),
            'delete_on_termination': item.get('delete_on_termination', False),
            'boot_index': boot, 'no_device': item.get('no_device')}


def block_devices(req: falcon.Request, server: dict[str, Any], max_count: int
                  ) -> tuple[str | None, list[dict[str, Any]]]:
    """(image_ref, volume mappings) of the body; image_ref None: no image and
    no boot volume (the caller's 400 'Can not find requested image')."""
    image_ref = server.get('imageRef') or None
    legacy = server.get('block_device_mapping') or []
    v2 = server.get('block_device_mapping_v2') or []
    if legacy and v2:
        raise errors.bad_request('Using different block_device_mapping syntaxes is not '
                                 'allowed in the same request.')
    items = [_from_legacy(i, image_ref) for i in legacy if not i.get('no_device')] or \
        [dict(i) for i in v2 if not i.get('no_device')]
    out: list[dict[str, Any]] = []
    boot_volume = False
    for item in items:
        if 'tag' in item and not _tag_allowed(req):
            raise errors.bad_request("Additional properties are not allowed ('tag' was "
                                     'unexpected)')
        if 'volume_type' in item and versioned.version(req) < versioned.parse(
                _VOLUME_TYPE_SINCE):
            raise errors.bad_request("Additional properties are not allowed ('volume_type' "
                                     'was unexpected)')
        source = item.get('source_type')
        dest = item.get('destination_type') or ('local' if source in ('image', 'blank')
                                                else 'volume')
        boot_index = _boot_index(item.get('boot_index'))
        if source == 'image' and dest == 'local':
            if boot_index != 0 or not item.get('uuid'):
                raise _bad(exception.InvalidBDMFormat(
                    details='Mapping image to local is not supported.'))
            if image_ref is not None and item['uuid'] != image_ref:
                raise errors.bad_request('The image of the boot block device mapping must '
                                         'be the imageRef.')
            image_ref = item['uuid']
            continue
        if dest != 'volume':
            raise _bad(exception.InvalidBDMFormat(
                details='Local (ephemeral and swap) disks are not supported by this '
                        'deployment.'))
        size = item.get('volume_size')
        if source in ('image', 'blank') and not size:
            raise _bad(exception.InvalidBDMFormat(
                details='Images with destination_type \'volume\' need to have a non-zero '
                        'size specified' if source == 'image'
                        else 'Blank volumes need a size (volume_size)'))
        if source in ('volume', 'snapshot', 'image') and not item.get('uuid'):
            raise _bad(exception.InvalidBDMFormat(details=f'Missing uuid of the {source}'))
        if boot_index == 0:
            boot_volume = True
        mapping = {
            'source_type': source, 'destination_type': 'volume',
            'boot_index': boot_index, 'volume_size': int(size) if size else None,
            'delete_on_termination': util.to_bool(item.get('delete_on_termination', False)),
            'device_name': None if boot_index != 0 else '/dev/vda',
            'guest_format': item.get('guest_format'), 'disk_bus': item.get('disk_bus'),
            'device_type': item.get('device_type') or 'disk', 'tag': item.get('tag'),
            'volume_type': item.get('volume_type'),
            'volume_id': item['uuid'] if source == 'volume' else None,
            'snapshot_id': item['uuid'] if source == 'snapshot' else None,
            'image_id': item['uuid'] if source == 'image' else None}
        out.append(mapping)
    if sum(1 for m in out if m['boot_index'] == 0) > 1 or (boot_volume and server.get(
            'imageRef') and any(m['boot_index'] == 0 and m['source_type'] != 'image'
                                for m in out)):
        raise _bad(exception.InvalidBDMBootSequence())
    if boot_volume:
        image_ref = ''
    if any(m['source_type'] == 'volume' for m in out) and max_count > 1:
        raise errors.bad_request('Cannot attach one or more volumes to multiple instances')
    return image_ref, out


def validate(ctx: RequestContext, mappings: list[dict[str, Any]],
             supports_multiattach: bool = True) -> None:
    """Each volume, snapshot and image named exists (Nova's 400s otherwise); a
    volume must be available (a multiattach one may be in-use), and a
    multiattach one needs 2.60 (supports_multiattach). Without [cinder]: 501
    (no volume service)."""
    if not mappings:
        return
    from minova.volume import cinder as cinder_client
    client = cinder_client.client()
    for m in mappings:
        source = m['source_type']
        if source == 'volume':
            try:
                volume = client.get(ctx, m['volume_id'])
            except exception.VolumeNotFound:
                raise _bad(exception.InvalidBDMVolume(id=m['volume_id'])) from None
            if volume.get('multiattach') and not supports_multiattach:
                raise _bad(exception.MultiattachNotSupportedOldMicroversion())
            if volume.get('multiattach'):
                # For the scheduler: only a host whose driver can share it
                # (request_filter); the mapping's row does not keep it.
                m['multiattach'] = True
            if volume.get('status') != 'available' and not (
                    volume.get('multiattach') and volume.get('status') == 'in-use'):
                raise errors.bad_request(
                    f"Invalid volume: volume '{m['volume_id']}' status must be 'available'. "
                    f"Currently in '{volume.get('status')}'")
        elif source == 'snapshot':
            try:
                client.get_snapshot(ctx, m['snapshot_id'])
            except exception.SnapshotNotFound:
                raise _bad(exception.InvalidBDMSnapshot(id=m['snapshot_id'])) from None
        elif source == 'image':
            from minova.clients import image as image_client
            if not image_client.configured():
                continue
            try:
                image_client.shared_client().show(ctx, m['image_id'])
            except image_client.ImageNotFound:
                raise _bad(exception.InvalidBDMImage(id=m['image_id'])) from None
