"""A server's image, as recorded in its system metadata at boot (as Nova does).

The API copies the image's record fields and properties into the server's
system_metadata as image_<key>: the 2.98 server view shows the properties
from there, and a compute host can define a vanished guest again (hard
reboot, start) without asking the image service.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minova.db.instances import Instance

# Image record fields kept (as image_<field>); the rest of a v2 record
# (id, status, checksums, dates, links) is not what the server was made of.
RECORD_KEYS = ('min_disk', 'min_ram', 'disk_format', 'container_format')
# Image API v2 fields that are not properties.
_NOT_PROPERTIES = frozenset((
    'id', 'name', 'status', 'visibility', 'protected', 'checksum', 'os_hash_algo',
    'os_hash_value', 'owner', 'size', 'virtual_size', 'created_at', 'updated_at',
    'tags', 'self', 'file', 'schema', 'locations', 'direct_url', 'os_hidden',
    'stores', 'properties') + RECORD_KEYS)
MAX_VALUE = 255   # Nova's system_metadata values are VARCHAR(255)


def to_system_metadata(image: dict[str, Any]) -> dict[str, str]:
    """image_<key> entries for a server booted from image (a v2 record)."""
    out = {'image_base_image_ref': str(image['id'])}
    for key in RECORD_KEYS:
        if image.get(key) is not None:
            out[f'image_{key}'] = str(image[key])
    for key, value in image.items():
        if key not in _NOT_PROPERTIES and value is not None:
            out[f'image_{key}'] = str(value)[:MAX_VALUE]
    return out


def from_system_metadata(instance: Instance) -> dict[str, Any] | None:
    """The image record a server was booted from, as far as it was recorded
    (None when it was not: a server from before this was kept)."""
    sysmeta = instance.get('system_metadata') or {}
    if 'image_disk_format' not in sysmeta:
        return None
    image: dict[str, Any] = {k[len('image_'):]: v for k, v in sysmeta.items()
                             if k.startswith('image_')}
    image['id'] = image.pop('base_image_ref', None) or instance.get('image_ref')
    for key in ('min_disk', 'min_ram'):
        if key in image:
            image[key] = int(image[key])
    return image
