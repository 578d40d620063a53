"""minova-all-in-one's command line: --state-path, and a state path it cannot use."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minova.cmd import all_in_one, common
from minova.conf import CONF

REPO = str(Path(__file__).resolve().parents[2])


def test_state_path_spellings() -> None:
    assert common.cli_args(['--state-path', '/x', '--state-path=/y', '--debug']) == \
        ['--state_path', '/x', '--state_path=/y', '--debug']


def test_a_state_path_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / 'file'
    blocker.write_text('')
    CONF.set_override('state_path', str(blocker / 'state'))
    try:
        problem = all_in_one.state_path_problem()
    finally:
        CONF.clear_override('state_path')
    assert problem is not None and '\n' not in problem
    assert str(blocker / 'state') in problem and '--state-path' in problem


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('setpriv'),
                    reason='needs root to run as another user')
def test_non_root_default_state_path_says_what_to_do(tmp_path: Path) -> None:
    nobody = pwd.getpwnam('nobody')
    env = dict(os.environ, PYTHONPATH=REPO, HOME=str(tmp_path))
    as_nobody = ['setpriv', f'--reuid={nobody.pw_uid}', f'--regid={nobody.pw_gid}',
                 '--clear-groups', sys.executable, '-c']
    if subprocess.run([*as_nobody, 'import minova.cmd'], env=env, capture_output=True,
                      cwd=str(tmp_path), timeout=60).returncode:
        pytest.skip("this Python's packages are not readable by user nobody")
    proc = subprocess.run(
        [*as_nobody, 'from minova.cmd.all_in_one import main; main()',
         '--state-path', '/var/lib/minova-not-writable/state'],
        env=env, capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if 'minova-all-in-one' in line]
    assert lines and 'Traceback' not in proc.stderr, proc.stderr
    assert 'Permission denied' in lines[0] and '--state-path' in lines[0]
