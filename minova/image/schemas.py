"""JSON schemas served at /v2/schemas/image(s); clients read them to know
which fields are core and that extra properties are strings."""
from __future__ import annotations

from typing import Any

from minova.image.store import CONTAINER_FORMATS, DISK_FORMATS

_STR = {'type': ['null', 'string']}
_PROPS: dict[str, Any] = {
    'id': {'type': 'string', 'description': 'An identifier for the image',
           'pattern': '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}'
                      '-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$'},
    'name': {'type': ['null', 'string'], 'maxLength': 255},
    'status': {'type': 'string', 'readOnly': True,
               'enum': ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading',
                        'importing', 'pending_delete', 'deactivated']},
    'visibility': {'type': 'string', 'enum': ['community', 'public', 'private', 'shared']},
    'protected': {'type': 'boolean'},
    'os_hidden': {'type': 'boolean'},
    'checksum': dict(_STR, readOnly=True, maxLength=32),
    'os_hash_algo': dict(_STR, readOnly=True, maxLength=64),
    'os_hash_value': dict(_STR, readOnly=True, maxLength=128),
    'owner': dict(_STR, maxLength=255),
    'size': {'type': ['null', 'integer'], 'readOnly': True},
    'virtual_size': {'type': ['null', 'integer'], 'readOnly': True},
    'container_format': {'type': ['null', 'string'],
                         'enum': [None, *CONTAINER_FORMATS]},
    'disk_format': {'type': ['null', 'string'], 'enum': [None, *DISK_FORMATS]},
    'created_at': {'type': 'string', 'readOnly': True},
    'updated_at': {'type': 'string', 'readOnly': True},
    'tags': {'type': 'array', 'items': {'type': 'string', 'maxLength': 255}},
    'direct_url': {'type': 'string', 'readOnly': True},
    'min_ram': {'type': 'integer'},
    'min_disk': {'type': 'integer'},
    'self': {'type': 'string', 'readOnly': True},
    'file': {'type': 'string', 'readOnly': True},
    'schema': {'type': 'string', 'readOnly': True},
    'locations': {'type': 'array', 'items': {'type': 'object'}},
    'kernel_id': {'type': ['null', 'string'],
                  'description': 'ID of an image stored in the Image service that should '
                                 'be used as the kernel when booting an AMI-style image.'},
    'ramdisk_id': {'type': ['null', 'string'],
                   'description': 'ID of image stored in the Image service that should be '
                                  'used as the ramdisk when booting an AMI-style image.'},
}

IMAGE: dict[str, Any] = {
    'name': 'image',
    'properties': _PROPS,
    'additionalProperties': {'type': 'string'},
    'links': [{'rel': 'self', 'href': '{self}'}, {'rel': 'enclosure', 'href': '{file}'},
              {'rel': 'describedby', 'href': '{schema}'}],
}

IMAGES: dict[str, Any] = {
    'name': 'images',
    'properties': {'images': {'type': 'array', 'items': IMAGE},
                   'schema': {'type': 'string'}, 'first': {'type': 'string'},
                   'next': {'type': 'string'}},
    'links': [{'rel': 'first', 'href': '{first}'}, {'rel': 'next', 'href': '{next}'},
              {'rel': 'describedby', 'href': '{schema}'}],
}
