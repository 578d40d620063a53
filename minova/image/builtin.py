"""The all-in-one's built-in image, so that its first server boots without preparation.

`minova-tiny` is a 1 MiB raw disk whose boot sector prints one line on the
first serial port and halts: a guest the libvirt driver really boots (its
console log says ``minova-tiny: booted``) and any driver accepts as an
active image. It is registered once, at the first start of an all-in-one
(public, owned by nobody); a deleted one stays deleted.
"""
from __future__ import annotations

import io
import logging
import os
from typing import Any

from minova.image.store import ImageStore, NotFound

LOG = logging.getLogger(__name__)

TINY_IMAGE_ID = 'a1f5b7e2-6d3c-4e0b-9c1a-7e5d2b4f8c10'
TINY_IMAGE_NAME = 'minova-tiny'
CONSOLE_LINE = b'minova-tiny: booted\r\n'
SIZE = 1024 * 1024
_MARKER = '.builtin-minova-tiny'


def boot_sector() -> bytes:
    """16-bit code loaded at 0x7c00: print CONSOLE_LINE on COM1 (0x3f8), then halt."""
    msg_at = 0x7C00 + 22
    code = bytes([
        0xFA,                                 # cli
        0x31, 0xC0,                           # xor ax, ax
        0x8E, 0xD8,                           # mov ds, ax
        0xBE, msg_at & 0xFF, msg_at >> 8,     # mov si, msg
        0xBA, 0xF8, 0x03,                     # mov dx, 0x3f8
        0xAC,                                 # next: lodsb
        0x84, 0xC0,                           # test al, al
        0x74, 0x03,                           # jz halt
        0xEE,                                 # out dx, al
        0xEB, 0xF8,                           # jmp next
        0xF4,                                 # halt: hlt
        0xEB, 0xFD,                           # jmp halt
    ]) + CONSOLE_LINE + b'\0'
    assert len(code) - len(CONSOLE_LINE) - 1 == 22
    return code + bytes(510 - len(code)) + b'\x55\xaa'


def disk() -> bytes:
    return boot_sector() + bytes(SIZE - 512)


def ensure(store: ImageStore) -> dict[str, Any] | None:
    """Register minova-tiny unless this store has had it before; the image, if made."""
    marker = os.path.join(store.root, _MARKER)
    if os.path.exists(marker):
        return None
    try:
        image = store.get(TINY_IMAGE_ID)
    except NotFound:
        image = store.create({'id': TINY_IMAGE_ID, 'name': TINY_IMAGE_NAME,
                              'visibility': 'public', 'disk_format': 'raw',
                              'container_format': 'bare'}, owner=None)
    if image['status'] == 'queued':
        image = store.upload(TINY_IMAGE_ID, io.BytesIO(disk()))
    with open(marker, 'w') as f:
        f.write(TINY_IMAGE_ID + '\n')
    LOG.info('Registered the built-in image %s (%s)', TINY_IMAGE_NAME, TINY_IMAGE_ID)
    return image
