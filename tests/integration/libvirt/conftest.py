"""Real guests: the all-in-one in a subprocess with the libvirt driver and its
image service, the test image uploaded through the image API.

Needs libvirtd (qemu:///system), QEMU and the test image that
tools/build-test-image.sh builds. Outside CI a missing piece skips the tier;
under CI (CI=true) it fails instead.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
IMAGE = os.environ.get('MINOVA_TEST_IMAGE',
                       '/var/cache/minova-test-image/minova-test.qcow2')
MARKER = 'MINOVA-TEST-IMAGE-BOOTED'
URI = 'qemu:///system'


def _unavailable(reason: str, tier: str = 'libvirt') -> None:
    """Skip a tier whose parts are missing; under CI (CI=true) fail instead."""
    if os.environ.get('CI') == 'true':
        pytest.fail(f'{tier} tier cannot run under CI: {reason}')
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@dataclass
class Cloud:
    compute: str
    placement: str
    image: str
    state: str
    proc: subprocess.Popen
    log: str

    def _s(self) -> requests.Session:
        s = requests.Session()
        s.headers.update({'X-Auth-Token': 'admin:admin',
                          'OpenStack-API-Version': 'compute latest'})
        return s

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self._s().request(method, self.compute + path, timeout=60, **kw)

    def server(self, uuid: str) -> dict[str, Any]:
        r = self.api('GET', f'/servers/{uuid}')
        assert r.status_code == 200, r.text
        return r.json()['server']

    def wait(self, uuid: str, status: str, timeout: float = 120.0,
             task_state: bool = True) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        server: dict[str, Any] = {}
        while time.monotonic() < deadline:
            server = self.server(uuid)
            if server['status'] == status and (
                    not task_state or server.get('OS-EXT-STS:task_state') is None):
                return server
            if server['status'] == 'ERROR' and status != 'ERROR':
                raise AssertionError(f'server {uuid} went ERROR: {server.get("fault")}')
            time.sleep(0.3)
        raise AssertionError(f'server {uuid} is {server.get("status")}, not {status}')

    def console(self, uuid: str, length: int | None = None) -> str:
        body: dict[str, Any] = {'os-getConsoleOutput': {}}
        if length is not None:
            body['os-getConsoleOutput']['length'] = length
        r = self.api('POST', f'/servers/{uuid}/action', json=body)
        assert r.status_code == 200, r.text
        return r.json()['output']

    def wait_console(self, uuid: str, text: str, count: int = 1,
                     timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        out = ''
        while time.monotonic() < deadline:
            out = self.console(uuid)
            if out.count(text) >= count:
                return out
            time.sleep(0.5)
        raise AssertionError(f'{text!r} x{count} not on the console of {uuid}:\n{out[-2000:]}')

    def wait_gone(self, uuid: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api('GET', f'/servers/{uuid}').status_code == 404:
                return
            time.sleep(0.3)
        raise AssertionError(f'server {uuid} was not deleted')


def import_libvirt() -> Any:
    """libvirt-python, for a test module: without it the module is skipped
    (under CI the ImportError stands)."""
    try:
        import libvirt
    except ImportError:
        if os.environ.get('CI') == 'true':
            raise
        pytest.skip('libvirt-python is not installed', allow_module_level=True)
    return libvirt


def libvirt_conn() -> Any:
    try:
        import libvirt
    except ImportError:
        _unavailable('libvirt-python is not installed')
    try:
        return libvirt.open(URI)
    except libvirt.libvirtError as e:
        _unavailable(f'libvirtd is not reachable at {URI}: {e}')


@pytest.fixture(scope='session')
def conn() -> Iterator[Any]:
    c = libvirt_conn()
    yield c
    c.close()


@pytest.fixture(scope='session')
def test_image() -> str:
    if not os.path.exists(IMAGE):
        if os.environ.get('CI') == 'true':
            subprocess.run([os.path.join(REPO, 'tools', 'build-test-image.sh'), IMAGE],
                           check=True)
        else:
            _unavailable(f'no test image at {IMAGE} (run tools/build-test-image.sh)')
    return IMAGE


def start_cloud(state: str, host: str, extra_conf: str = '',
                api_port: int | None = None) -> Cloud:
    """An all-in-one with the libvirt driver, its state (SQLite files,
    instances, image cache) under state, on ephemeral ports (the compute API
    on api_port when given)."""
    ports = {k: _free_port() for k in ('api', 'placement', 'image', 'novnc', 'metadata')}
    if api_port:
        ports['api'] = api_port
    conf = os.path.join(state, 'minova.conf')
    with open(conf, 'w') as f:
        f.write(f"""[DEFAULT]
state_path = {state}
host = {host}
# domain names of their own: another run's guests on this libvirtd keep theirs
instance_name_template = {host}-%08x
compute_driver = libvirt.LibvirtDriver
report_interval = 1
sync_power_state_interval = 2
shutdown_timeout = 30
reserved_host_memory_mb = 0
# the metadata service the guests' metadata sockets relay to (docs/metadata.md)
metadata_listen = 127.0.0.1
metadata_listen_port = {ports['metadata']}
# resize (test_resize.py): one host is both source and destination
allow_resize_to_same_host = True
[libvirt]
wait_soft_reboot_seconds = 30
[api]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {ports['api']}
[placement_api]
bind_host = 127.0.0.1
bind_port = {ports['placement']}
[image_api]
bind_host = 127.0.0.1
bind_port = {ports['image']}
[vnc]
novncproxy_host = 127.0.0.1
novncproxy_port = {ports['novnc']}
novncproxy_base_url = http://127.0.0.1:{ports['novnc']}/vnc_auto.html
""" + extra_conf)
    log = os.path.join(state, 'aio.log')
    with open(log, 'a') as out:
        proc = subprocess.Popen(
            [sys.executable, '-c', 'from minova.cmd.all_in_one import main; main()',
             '--config-file', conf], stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    c = Cloud(f'http://127.0.0.1:{ports["api"]}/v2.1', f'http://127.0.0.1:{ports["placement"]}',
              f'http://127.0.0.1:{ports["image"]}', state, proc, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            if c.api('GET', '/os-hypervisors').json().get('hypervisors'):
                return c
        except (requests.RequestException, ValueError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            with open(log) as f:
                raise AssertionError(f'all-in-one did not start:\n{f.read()[-4000:]}')
        time.sleep(0.3)


def stop_cloud(c: Cloud) -> None:
    c.proc.terminate()
    try:
        c.proc.wait(30)
    except subprocess.TimeoutExpired:
        c.proc.kill()
        c.proc.wait()


def state_dir() -> str:
    # QEMU runs as another user: the state directory must be traversable.
    state = tempfile.mkdtemp(prefix='minova-libvirt-', dir='/var/tmp')
    os.chmod(state, 0o755)
    return state


@contextlib.contextmanager
def own_cloud(conn: Any, host: str, extra_conf: str = '') -> Iterator[Cloud]:
    """start_cloud on a state directory of its own; on the way out the
    all-in-one is stopped, its guests are removed from libvirtd and its
    state is deleted."""
    c = start_cloud(state_dir(), host, extra_conf)
    try:
        yield c
    finally:
        stop_cloud(c)
        remove_guests(conn, c)
        shutil.rmtree(c.state, ignore_errors=True)


@pytest.fixture(scope='session')
def cloud(conn: Any, test_image: str) -> Iterator[Cloud]:
    with own_cloud(conn, f'libvirt-it-{os.getpid()}') as c:
        yield c


def upload_image(c: Cloud, path: str) -> str:
    """The test image, uploaded through c's image API; its id."""
    h = {'X-Auth-Token': 'admin:admin'}
    r = requests.post(c.image + '/v2/images', headers=h, timeout=30, json={
        'name': 'minova-test', 'disk_format': 'qcow2', 'container_format': 'bare',
        'visibility': 'public'})
    assert r.status_code == 201, r.text
    image = r.json()
    with open(path, 'rb') as f:
        r = requests.put(f'{c.image}/v2/images/{image["id"]}/file', data=f, timeout=60,
                         headers=dict(h, **{'Content-Type': 'application/octet-stream'}))
    assert r.status_code == 204, r.text
    return image['id']


def create_flavor(c: Cloud) -> str:
    r = c.api('POST', '/flavors', json={'flavor': {
        'name': 'lv-tiny', 'id': 'lv-tiny', 'vcpus': 1, 'ram': 128, 'disk': 1}})
    assert r.status_code == 200, r.text
    return 'lv-tiny'


def remove_guests(conn: Any, c: Cloud) -> None:
    """Leave no guest of c behind, even when a test failed half way."""
    with open(c.log) as f:
        logged = f.read()
    for dom in conn.listAllDomains():
        if dom.UUIDString() in logged:
            if dom.isActive():
                dom.destroy()
            dom.undefine()


@pytest.fixture(scope='session')
def image_id(cloud: Cloud, test_image: str) -> str:
    return upload_image(cloud, test_image)


@pytest.fixture(scope='session')
def flavor(cloud: Cloud) -> str:
    return create_flavor(cloud)
