"""The all-in-one boots and deletes a server under each concurrency backend.

Each runs as its own process (eventlet must monkey patch before anything is
imported), configured only through a config file, as an operator would.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from minova.image.builtin import TINY_IMAGE_ID
from tests.processes import stop_process

IMAGE = TINY_IMAGE_ID   # the all-in-one's built-in image (minova-tiny)


def _port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('backend', ['eventlet', 'threading'])
def test_all_in_one_process_boots_a_server(tmp_path: Path, backend: str) -> None:
    api_port, placement_port = _port(), _port()
    conf = tmp_path / 'minova.conf'
    conf.write_text(f"""[DEFAULT]
concurrency_backend = {backend}
state_path = {tmp_path}/state
host = backend-host

[api]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {api_port}

[placement_api]
bind_host = 127.0.0.1
bind_port = {placement_port}
""")
    log = open(tmp_path / 'aio.log', 'wb')  # noqa: SIM115
    proc = subprocess.Popen([shutil.which('minova-all-in-one'), '--config-file', str(conf)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={k: v for k, v in os.environ.items()
                                 if k != 'MINOVA_CONCURRENCY_BACKEND'})
    base = f'http://127.0.0.1:{api_port}/v2.1'
    h = {'X-Auth-Token': 'admin:admin', 'OpenStack-API-Version': 'compute latest'}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / 'aio.log').read_text()[-3000:]
            try:
                if requests.get(base + '/os-services', headers=h, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, 'all-in-one did not start'
            time.sleep(0.2)
        r = requests.post(base + '/flavors', headers=h, timeout=10, json={'flavor': {
            'name': 'tiny', 'id': 'tiny', 'vcpus': 1, 'ram': 64, 'disk': 1}})
        assert r.status_code == 200, r.text
        r = requests.post(base + '/servers', headers=h, timeout=10, json={'server': {
            'name': 'vm', 'flavorRef': 'tiny', 'imageRef': IMAGE, 'networks': 'none'}})
        assert r.status_code == 202, r.text
        sid = r.json()['server']['id']
        deadline = time.monotonic() + 30
        while True:
            server = requests.get(f'{base}/servers/{sid}', headers=h, timeout=10).json()['server']
            if server['status'] in ('ACTIVE', 'ERROR'):
                break
            assert time.monotonic() < deadline, server
            time.sleep(0.1)
        assert server['status'] == 'ACTIVE'
        assert server['OS-EXT-SRV-ATTR:host'] == 'backend-host'
        assert requests.delete(f'{base}/servers/{sid}', headers=h, timeout=10).status_code == 204
        deadline = time.monotonic() + 30
        while requests.get(f'{base}/servers/{sid}', headers=h, timeout=10).status_code != 404:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        log_text = (tmp_path / 'aio.log').read_text()
        assert f'concurrency backend: {backend}' in log_text
    finally:
        stop_process(proc, timeout=20)
