"""The all-in-one's built-in image: registered once, a real boot sector."""
from __future__ import annotations

from pathlib import Path

import pytest

from minova.image import builtin
from minova.image.store import ImageStore, NotFound


def test_registered_once_and_a_deleted_one_stays_deleted(tmp_path: Path) -> None:
    store = ImageStore(str(tmp_path))
    image = builtin.ensure(store)
    assert image is not None
    assert (image['id'], image['name'], image['status'], image['visibility']) == (
        builtin.TINY_IMAGE_ID, 'minova-tiny', 'active', 'public')
    assert image['size'] == builtin.SIZE and image['owner'] is None
    assert builtin.ensure(store) is None
    store.delete(builtin.TINY_IMAGE_ID)
    assert builtin.ensure(ImageStore(str(tmp_path))) is None
    with pytest.raises(NotFound):
        store.get(builtin.TINY_IMAGE_ID)


def test_the_disk_is_a_bootable_sector_that_prints_and_halts() -> None:
    disk = builtin.disk()
    assert len(disk) == builtin.SIZE
    assert disk[510:512] == b'\x55\xaa'
    assert builtin.CONSOLE_LINE in disk[:512]
