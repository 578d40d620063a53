"""The README, run: every shell block is marked with the test tier that runs it,
and the walkthrough blocks run here, in order, against a fresh all-in-one
started as the README starts it (console scripts, curl, jq, openstack, nova).

Only the ports change (the README's 8774/8778/9292 become free ones) and HOME
is a temporary directory, so that `~/minova-state` and the `clouds.yaml` the
README writes are this test's own.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests import cli_poll
from tests.processes import free_port, stop_process
from tests.readme_blocks import REPO, TAGS, blocks, local_ports_conf, localise


def test_every_block_names_the_test_that_runs_it() -> None:
    found = blocks()
    assert found
    for tag, note, _lang, text in found:
        assert tag in TAGS, (tag, text[:80])
        for path in re.findall(r'(?:tests|\.ci)/[\w/.]+', note or ''):
            assert (REPO / path).exists(), f'{path} (named for a {tag} block) is missing'
        if tag not in ('setup', 'walkthrough'):
            assert note, f'a {tag} block must say which test runs it: {text[:80]}'


@pytest.fixture
def walk_env(tmp_path: Path) -> dict[str, str]:
    for tool in ('curl', 'jq', 'openstack', 'nova', 'minova-all-in-one', 'minova-manage'):
        if not shutil.which(tool):
            pytest.skip(f'{tool} is not installed')
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(HOME=str(tmp_path), PYTHONPATH=cli_poll.pythonpath(str(REPO)))
    return env


def test_walkthrough(walk_env: dict[str, str], tmp_path: Path) -> None:
    ports = {'8774': free_port(), '8778': free_port(), '9292': free_port()}

    def local(text: str) -> str:
        return localise(text, ports)

    conf = tmp_path / 'ports.conf'
    local_ports_conf(conf, ports)
    found = blocks()
    [(_, _, _, setup)] = [b for b in found if b[0] == 'setup']
    start = [line for line in setup.splitlines() if line.startswith('minova-all-in-one')]
    assert len(start) == 1 and 'pip install -e .' in setup
    log = open(tmp_path / 'aio.log', 'wb')  # noqa: SIM115
    aio = subprocess.Popen(['bash', '-c', f'exec {start[0]} --config-file {conf}'],
                           env=walk_env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert aio.poll() is None, (tmp_path / 'aio.log').read_text()[-3000:]
            try:
                if requests.get(f'http://127.0.0.1:{ports["8774"]}/v2.1', timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, 'the all-in-one did not come up'
            time.sleep(0.3)
        transcript = []
        for tag, _note, lang, text in found:
            if tag != 'walkthrough':
                continue
            if lang == 'yaml':
                clouds = Path(walk_env['HOME'], '.config', 'openstack', 'clouds.yaml')
                clouds.parent.mkdir(parents=True, exist_ok=True)
                clouds.write_text(local(text))
                continue
            assert lang == 'sh'
            proc = subprocess.run(['bash', '-euo', 'pipefail', '-c', local(text)],
                                  env=walk_env, cwd=REPO, capture_output=True, text=True,
                                  timeout=600)
            assert proc.returncode == 0, f'{text}\n--- stdout\n{proc.stdout}\n--- stderr\n' \
                                         f'{proc.stderr}'
            assert 'Traceback' not in proc.stderr, proc.stderr
            transcript.append(proc.stdout)
        out = '\n'.join(transcript)
        assert '"VCPU": 1' in out.replace('"VCPU":1', '"VCPU": 1')   # the server's usage
        assert 'minova-tiny' in out and 'vm3' in out and 'boots' in out.lower()
    finally:
        stop_process(aio, timeout=30)
        log.close()
