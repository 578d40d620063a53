"""minova-manage on databases that are not there yet: one line, no empty file left."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[2])


def _manage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / 'minova.conf'
    conf.write_text(f'[DEFAULT]\nstate_path = {tmp_path}/state\n')
    (tmp_path / 'state').mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, '-c', 'import sys; from minova.cmd.manage import main; sys.exit(main())',
         '--config-file', str(conf), *args],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=REPO))


def test_no_api_database_is_one_line_and_no_file(tmp_path: Path) -> None:
    for args in (('cell_v2', 'list_cells'), ('service', 'list'), ('cell_v2', 'map_cell0')):
        proc = _manage(tmp_path, *args)
        assert proc.returncode == 1, proc.stderr
        assert 'Traceback' not in proc.stderr
        assert "there is no API database yet" in proc.stderr
        assert "run 'minova-manage api_db sync' first" in proc.stderr
        assert list((tmp_path / 'state').iterdir()) == []


def test_db_sync_alone_does_not_create_the_api_database(tmp_path: Path) -> None:
    assert _manage(tmp_path, 'db', 'sync').returncode == 0
    assert [p.name for p in (tmp_path / 'state').iterdir()] == ['nova.sqlite']


def test_a_database_without_schema_is_one_line(tmp_path: Path) -> None:
    (tmp_path / 'state').mkdir()
    (tmp_path / 'state' / 'nova_api.sqlite').write_bytes(b'')
    proc = _manage(tmp_path, 'cell_v2', 'list_cells')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'the database is not ready (no such table: cell_mappings)' in proc.stderr
