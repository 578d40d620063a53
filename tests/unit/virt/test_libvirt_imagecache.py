"""The image cache inspects a base once: a later boot of the image runs no
qemu-img on it, unless the file was replaced; a qcow2 with a backing file
is refused every time."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from minova.clients.image import ImageUnusable
from minova.conf import CONF
from minova.virt.libvirt import imagecache
from minova.virt.libvirt.imagecache import ImageCache

pytestmark = pytest.mark.skipif(not shutil.which('qemu-img'), reason='needs qemu-img')


@pytest.fixture(autouse=True)
def _state(tmp_path: Path) -> Any:
    CONF.set_override('state_path', str(tmp_path))
    yield
    CONF.clear_override('state_path')


class _Client:
    def __init__(self, source: Path) -> None:
        self.source, self.downloads = source, 0

    def download(self, ctx: Any, image: dict[str, Any], dest: str) -> None:
        self.downloads += 1
        shutil.copy(self.source, dest)


def _qcow2(path: Path, size: str = '64M', backing: str | None = None) -> Path:
    cmd = ['qemu-img', 'create', '-q', '-f', 'qcow2']
    if backing:
        cmd += ['-b', backing, '-F', 'qcow2']
    subprocess.run(cmd + [str(path), size], check=True)
    return path


def test_a_base_is_inspected_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _Client(_qcow2(tmp_path / 'src.qcow2'))
    cache = ImageCache(client)  # type: ignore[arg-type]
    runs: list[str] = []
    real = imagecache.qemu_img_info

    def counted(path: str, fmt: str | None = None) -> dict[str, Any]:
        runs.append(path)
        return real(path, fmt)
    monkeypatch.setattr(imagecache, 'qemu_img_info', counted)
    image = {'id': 'img-1', 'disk_format': 'qcow2', 'status': 'active'}
    assert not cache.cached('img-1')
    first = cache.fetch(None, image)  # type: ignore[arg-type]
    assert first[0].startswith(str(tmp_path / '_base'))
    assert first[1:] == ('qcow2', 64 * 1024 * 1024) and cache.cached('img-1')
    assert cache.fetch(None, image) == first  # type: ignore[arg-type]
    assert (client.downloads, len(runs)) == (1, 1)
    # The file replaced (another size): inspected again.
    Path(first[0]).unlink()
    _qcow2(Path(first[0]), '128M')
    assert cache.fetch(None, image)[2] == 128 * 1024 * 1024  # type: ignore[arg-type]
    assert len(runs) == 2


def test_a_backed_qcow2_is_refused_each_time(tmp_path: Path) -> None:
    _qcow2(tmp_path / 'secret.qcow2')
    cache = ImageCache(_Client(_qcow2(tmp_path / 'src.qcow2',  # type: ignore[arg-type]
                                      backing=str(tmp_path / 'secret.qcow2'))))
    image = {'id': 'img-2', 'disk_format': 'qcow2', 'status': 'active'}
    for _ in range(2):
        with pytest.raises(ImageUnusable, match='backing file is refused'):
            cache.fetch(None, image)  # type: ignore[arg-type]
