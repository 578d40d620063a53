"""The key manager of encrypted volumes ([key_manager], as Nova's castellan).

Nova fetches a volume's key from its key manager by the `encryption_key_id`
Cinder gives, and QEMU decrypts the volume with the hex form of that key as
the LUKS passphrase. Cinder must use the same keys: with the fixed-key
manager on both sides, the same `fixed_key`.
"""
from __future__ import annotations

import binascii
import logging
from typing import Any

from minova import exception
from minova.conf import CONF

LOG = logging.getLogger(__name__)

# The fixed-key manager's one key id (Nova's and Cinder's ConfKeyManager).
FIXED_KEY_ID = '00000000-0000-0000-0000-000000000000'
FIXED_KEY_BACKENDS = ('nova.keymgr.conf_key_mgr.ConfKeyManager',
                      'minova.keymgr.ConfKeyManager')


class ConfKeyManager:
    """One key, [key_manager] fixed_key (hex), under one id, as Nova's:
    insecure (every volume shares the key), for tests and small clouds."""

    def __init__(self) -> None:
        hex_key = CONF.key_manager.fixed_key
        if not hex_key:
            raise exception.KeyManagerError(reason='keymgr.fixed_key not defined')
        try:
            self._key = binascii.unhexlify(hex_key)
        except (binascii.Error, ValueError) as e:
            raise exception.KeyManagerError(
                reason=f'[key_manager] fixed_key is not hex: {e}') from e

    def get(self, context: Any, key_id: str) -> bytes:
        """The key's bytes; an id that is not the fixed key's is an error."""
        if context is None:
            raise exception.Forbidden()
        if key_id != FIXED_KEY_ID:
            raise exception.KeyManagerError(
                reason=f'key {key_id} is not the fixed key ({FIXED_KEY_ID})')
        return self._key


def API() -> ConfKeyManager:  # noqa: N802 - castellan's name
    """The configured key manager, or KeyManagerError saying why there is none."""
    backend = CONF.key_manager.backend or ''
    if backend in FIXED_KEY_BACKENDS:
        return ConfKeyManager()
    raise exception.KeyManagerError(
        reason=f"the key manager backend '{backend}' is not supported: set [key_manager] "
               f"backend = nova.keymgr.conf_key_mgr.ConfKeyManager and fixed_key")


def passphrase(context: Any, key_id: str | None) -> str:
    """The LUKS passphrase of a volume whose key is key_id: the key in hex,
    as Nova's libvirt driver and Cinder's RBD driver derive it."""
    if not key_id:
        raise exception.KeyManagerError(reason='the volume has no encryption key id')
    return binascii.hexlify(API().get(context, key_id)).decode('ascii')
