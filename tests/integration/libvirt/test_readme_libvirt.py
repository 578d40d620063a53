"""The README's libvirt blocks, run as written: build the test image, write
minova-libvirt.conf, start the all-in-one with it, boot minova-tiny and the
test image with openstackclient, reboot, stop, start, delete.

As tests/functional/test_readme.py does for the walkthrough: only the ports
change and HOME is a directory of the test's own (traversable, since QEMU runs
as another user), holding `~/minova-state` and the README's clouds.yaml.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import cli_poll
from tests.integration.libvirt.conftest import state_dir
from tests.processes import free_port, stop_process
from tests.readme_blocks import REPO, blocks, local_ports_conf, localise


def _run(script: str, env: dict[str, str], cwd: str) -> str:
    proc = subprocess.run(['bash', '-euo', 'pipefail', '-c', script], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f'{script}\n--- stdout\n{proc.stdout}\n--- stderr\n' \
                                 f'{proc.stderr}'
    return proc.stdout


def test_readme_libvirt_blocks(conn: Any, test_image: str) -> None:
    if not shutil.which('openstack'):
        pytest.skip('python-openstackclient is not installed')
    home = state_dir()
    ports = {'8774': free_port(), '8778': free_port(), '9292': free_port()}
    conf = Path(home, 'ports.conf')
    local_ports_conf(conf, ports)
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(HOME=home, PYTHONPATH=cli_poll.pythonpath(str(REPO)), OS_CLOUD='minova')
    found = blocks()
    [clouds] = [text for tag, _, lang, text in found if tag == 'walkthrough' and lang == 'yaml']
    Path(home, '.config', 'openstack').mkdir(parents=True)
    Path(home, '.config', 'openstack', 'clouds.yaml').write_text(localise(clouds, ports))
    start, use = [text for tag, _, _, text in found if tag == 'libvirt']
    lines = start.splitlines()
    server = [line for line in lines if line.startswith('minova-all-in-one')]
    assert len(server) == 1
    # Building the image and writing the config, then the all-in-one in the background.
    setup = '\n'.join(line for line in lines if line not in server)
    _run(setup.replace('tools/build-test-image.sh', f'{REPO}/tools/build-test-image.sh'),
         env, home)
    assert Path(home, 'minova-libvirt.conf').exists()
    log = open(Path(home, 'aio.log'), 'wb')  # noqa: SIM115
    aio = subprocess.Popen(['bash', '-c', f'exec {server[0]} --config-file {conf}'], env=env,
                           cwd=home, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert aio.poll() is None, Path(home, 'aio.log').read_text()[-3000:]
            try:
                r = requests.get(f'http://127.0.0.1:{ports["8774"]}/v2.1/os-hypervisors',
                                 headers={'X-Auth-Token': 'admin:admin'}, timeout=5)
                if r.ok and r.json()['hypervisors']:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, 'the libvirt all-in-one did not come up'
            time.sleep(0.5)
        # The walkthrough made the flavor the libvirt blocks boot with.
        _run('openstack flavor create --vcpus 1 --ram 128 --disk 1 small', env, home)
        out = _run(localise(use, ports), env, home)
        assert 'minova-tiny: booted' in out and 'hostname=vm1' in out
    finally:
        stop_process(aio, timeout=60)
        log.close()
        logged = Path(home, 'aio.log').read_text(errors='replace')
        for dom in conn.listAllDomains():
            if dom.UUIDString() in logged:
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
        shutil.rmtree(home, ignore_errors=True)
