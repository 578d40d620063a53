"""A real Cinder on a real Ceph for the session: tools/minova-ceph brings up
(or reuses) the single-node cluster, tools/minova-cinder starts Cinder's API,
scheduler and volume service on it, and a mini-Nova image endpoint
(minova-image, in its own process) is Cinder's Glance.

The session holds /var/tmp/minova-ceph.lock (one Ceph per machine: its mon
ports are fixed) unless this very process already holds it (the ceph tier's
session fixture, when both tiers run in one pytest), and
/var/tmp/minova-cinder.lock. Outside CI a missing piece (Ceph's packages,
Cinder's venv, MariaDB, RabbitMQ, root) skips the tier; under CI (CI=true)
it fails instead.
"""
from __future__ import annotations

import contextlib
import fcntl
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import pytest
import requests

from tests.integration.libvirt import conftest as libvirt_tier

REPO = libvirt_tier.REPO
TOOL = os.path.join(REPO, 'tools', 'minova-cinder')
CEPH_TOOL = os.environ.get('MINOVA_CEPH_TOOL', os.path.join(REPO, 'tools', 'minova-ceph'))
CEPH_STATE = os.environ.get('MINOVA_CEPH_STATE', '/var/tmp/minova-ceph')
VENV = os.environ.get('MINOVA_CINDER_VENV', '/tmp/minova-cinder-venv')
CEPH_LOCK = '/var/tmp/minova-ceph.lock'
LOCK = '/var/tmp/minova-cinder.lock'
LOCK_WAIT = 1800.0
# The last run's logs are kept here (the state dir goes at the end of a run).
LOGS = '/var/tmp/minova-cinder-logs'
# Nova's microversion for the attachments API (create, update, complete, delete).
MICROVERSION = '3.44'
# Cinder's fixed-key manager (encrypted volume types); mini-Nova's clouds of
# this tier get the same [key_manager] fixed_key.
FIXED_KEY = '5d1c0e0c9a7f4b3e8a6d2f1b0c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e'


def _unavailable(reason: str) -> None:
    libvirt_tier._unavailable(reason, tier='cinder')


def until(predicate: Any, what: str, timeout: float = 120.0, interval: float = 0.5) -> Any:
    """predicate()'s first true value, asked every `interval` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(interval)


# --- Cinder's REST API --------------------------------------------------------

@dataclass
class Cinder:
    """The running stack, with the REST calls the tests make; what they
    create is recorded so that every test can be checked to leave nothing."""

    info: dict[str, Any]
    ceph: dict[str, Any]
    image_url: str
    volumes: list[str] = field(default_factory=list)
    made: list[str] = field(default_factory=list)     # every volume of the test

    @property
    def project(self) -> str:
        return str(self.info['project'])

    def api(self, method: str, path: str, service: bool = False,
            version: str = MICROVERSION, **kw: Any) -> requests.Response:
        headers = {'X-Auth-Token': self.info['token'],
                   'OpenStack-API-Version': f'volume {version}'}
        if service:     # what keystonemiddleware sets for Nova's service token
            headers['X-Service-Roles'] = 'service'
        return requests.request(method, f'{self.info["url"]}/{self.project}{path}',
                                headers=headers, timeout=60, **kw)

    def create_volume(self, size: int = 1, **attrs: Any) -> dict[str, Any]:
        r = self.api('POST', '/volumes', json={'volume': dict(attrs, size=size)})
        assert r.status_code == 202, r.text
        volume: dict[str, Any] = r.json()['volume']
        self.volumes.append(volume['id'])
        self.made.append(volume['id'])
        return volume

    def volume(self, volume_id: str) -> requests.Response:
        return self.api('GET', f'/volumes/{volume_id}')

    def wait_volume(self, volume_id: str, status: str,
                    timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            r = self.volume(volume_id)
            assert r.status_code == 200, r.text
            volume: dict[str, Any] = r.json()['volume']
            if volume['status'] == status:
                return volume
            assert volume['status'] not in ('error', 'error_deleting'), (
                volume, self.log_tail('cinder-volume'))
            assert time.monotonic() < deadline, (volume, self.log_tail('cinder-volume'))
            time.sleep(0.5)

    def delete_volume(self, volume_id: str, timeout: float = 120.0) -> None:
        r = self.api('DELETE', f'/volumes/{volume_id}')
        assert r.status_code in (202, 404), r.text
        deadline = time.monotonic() + timeout
        while self.volume(volume_id).status_code != 404:
            assert time.monotonic() < deadline, self.volume(volume_id).text
            time.sleep(0.5)
        with contextlib.suppress(ValueError):
            self.volumes.remove(volume_id)

    def attachments(self) -> list[dict[str, Any]]:
        r = self.api('GET', '/attachments/detail?all_tenants=1')
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()['attachments']
        return found

    def all_volumes(self) -> list[dict[str, Any]]:
        r = self.api('GET', '/volumes/detail?all_tenants=1')
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()['volumes']
        return found

    def cleanup(self) -> None:
        """Delete what a test left: attachments (as Nova would, with the
        service role), then its volumes."""
        for attachment in self.attachments():
            self.api('DELETE', f'/attachments/{attachment["id"]}', service=True)
        for volume_id in list(self.volumes):
            self.delete_volume(volume_id)

    def _librbd(self, body: str, *args: str, data: bytes | None = None) -> bytes:
        """Run `body` in Cinder's venv (it has librados/librbd's Python
        bindings) as client.cinder: `c` is the cluster, `io` the pool's
        I/O context, sys.argv[1:] are `args`, stdin is `data`; its stdout."""
        code = ('import sys, json, rados, rbd\n'
                'conf, user, pool = sys.argv[1:4]\n'
                'del sys.argv[1:4]\n'
                'with rados.Rados(conffile=conf, rados_id=user) as c:\n'
                '    with c.open_ioctx(pool) as io:\n'
                + ''.join(f'        {line}\n' for line in body.splitlines()))
        done = subprocess.run(
            [os.path.join(VENV, 'bin', 'python'), '-c', code, self.info['ceph']['conf'],
             self.ceph['user'], self.ceph['pool'], *args],
            input=data, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode(errors='replace')
        return done.stdout

    def rbd_read(self, volume_id: str, length: int) -> bytes:
        """The first `length` bytes of the volume's RBD image, read with librbd."""
        return self._librbd(
            'with rbd.Image(io, sys.argv[1], read_only=True) as img:\n'
            '    sys.stdout.buffer.write(img.read(0, int(sys.argv[2])))',
            f'volume-{volume_id}', str(length))

    def rbd_write(self, volume_id: str, data: bytes) -> None:
        """`data` at the start of the volume's RBD image, written with librbd."""
        self._librbd('with rbd.Image(io, sys.argv[1]) as img:\n'
                     '    img.write(sys.stdin.buffer.read(), 0)',
                     f'volume-{volume_id}', data=data)

    def rbd_state(self, volume_id: str) -> dict[str, Any]:
        """The volume's RBD image as librbd sees it: its feature bits and the
        clients that have it open (watchers)."""
        state: dict[str, Any] = json.loads(self._librbd(
            'with rbd.Image(io, sys.argv[1], read_only=True) as img:\n'
            '    print(json.dumps({"features": img.features(),\n'
            '                      "watchers": list(img.watchers_list())}))',
            f'volume-{volume_id}'))
        return state

    def rbd_images(self) -> list[str]:
        """The RBD images in Cinder's pool."""
        names: list[str] = json.loads(self._librbd('print(json.dumps(rbd.RBD().list(io)))'))
        return names

    def log_tail(self, service: str, lines: int = 40) -> str:
        with open(self.info['logs'][service], errors='replace') as f:
            return ''.join(line for line in f.readlines()[-4 * lines:]
                           if ' DEBUG ' not in line)[-6000:]


# --- session fixtures ---------------------------------------------------------

def _lock(path: str) -> IO[str] | None:
    """Hold `path` (flock), waiting for another run; None when this process
    already holds it (another tier's session fixture in this pytest)."""
    handle = open(path, 'w')   # noqa: SIM115 - held for the session
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if _held_by_me(path):
                handle.close()
                return None
            if time.monotonic() > deadline:
                handle.close()
                _unavailable(f'another run holds {path}')
            time.sleep(2)


def _held_by_me(path: str) -> bool:
    inode = os.stat(path).st_ino
    with open('/proc/locks') as f:
        for line in f:
            parts = line.split()
            # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
            if len(parts) > 5 and parts[1] == 'FLOCK' and \
                    parts[5].rsplit(':', 1)[-1] == str(inode):
                return parts[4] == str(os.getpid())
    return False


def _check_available() -> None:
    if os.geteuid() != 0:
        _unavailable('the cinder tier needs root (Ceph daemons, RabbitMQ vhosts)')
    if not os.path.exists(CEPH_TOOL):
        _unavailable(f'no {CEPH_TOOL}')
    for cmd in ('ceph-mon', 'ceph-osd', 'ceph-mgr', 'rbd', 'qemu-img', 'mysql',
                'rabbitmqctl'):
        if shutil.which(cmd) is None:
            _unavailable(f'{cmd} is missing (tools/minova-ceph install, '
                         'tools/minova-cinder install)')
    if not os.path.exists(os.path.join(VENV, 'bin', 'cinder-manage')):
        if os.environ.get('CI') == 'true':
            subprocess.run([TOOL, 'install'], check=True)
        else:
            _unavailable(f'no Cinder venv at {VENV} (tools/minova-cinder install)')
    if subprocess.run(['mysqladmin', '-h127.0.0.1', '-uroot', 'ping'],
                      capture_output=True).returncode:
        _unavailable('MariaDB is not reachable at 127.0.0.1 as root')
    if subprocess.run(['rabbitmqctl', '-q', 'status'], capture_output=True).returncode:
        _unavailable('RabbitMQ is not running')


@pytest.fixture(scope='session')
def ceph() -> Iterator[dict[str, Any]]:
    """tools/minova-ceph's JSON (conf, user, keyring, pool, secret_uuid)."""
    _check_available()
    lock = _lock(CEPH_LOCK)

    def tool(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([CEPH_TOOL, *args, '--state-dir', CEPH_STATE],
                              capture_output=True, text=True, timeout=300)
    try:
        was_up = tool('status').returncode == 0
        up = tool('up')
        if up.returncode:
            pytest.fail(f'tools/minova-ceph up failed:\n{up.stderr[-3000:]}')
        yield json.loads(up.stdout)
        if lock is not None and not was_up:
            tool('down')
    finally:
        if lock is not None:
            lock.close()


@dataclass
class ImageEndpoint:
    url: str
    proc: subprocess.Popen

    def create(self, project: str, data: bytes, **attrs: Any) -> dict[str, Any]:
        """An active image owned by `project`, holding `data`."""
        headers = {'X-Auth-Token': f'demo:{project}'}
        body = dict({'disk_format': 'raw', 'container_format': 'bare'}, **attrs)
        r = requests.post(f'{self.url}/v2/images', json=body, headers=headers, timeout=30)
        assert r.status_code == 201, r.text
        image: dict[str, Any] = r.json()
        r = requests.put(f'{self.url}/v2/images/{image["id"]}/file', data=data, timeout=60,
                         headers=dict(headers, **{'Content-Type': 'application/octet-stream'}))
        assert r.status_code == 204, r.text
        return image

    def delete(self, project: str, image_id: str) -> None:
        requests.delete(f'{self.url}/v2/images/{image_id}', timeout=30,
                        headers={'X-Auth-Token': f'demo:{project}'})


@pytest.fixture(scope='session')
def image_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageEndpoint]:
    """mini-Nova's image endpoint alone (minova-image, noauth), Cinder's Glance."""
    root = tmp_path_factory.mktemp('minova-image')
    port = libvirt_tier._free_port()
    conf = root / 'minova.conf'
    conf.write_text(f'[DEFAULT]\nstate_path = {root}\n[image_api]\nbind_host = 127.0.0.1\n'
                    f'bind_port = {port}\nimages_path = {root / "images"}\n')
    with open(root / 'minova-image.log', 'wb') as out:
        proc = subprocess.Popen([sys.executable, '-m', 'minova.cmd.image',
                                 '--config-file', str(conf)], stdout=out,
                                stderr=subprocess.STDOUT, cwd=REPO,
                                env=dict(os.environ, PYTHONPATH=REPO))
    url = f'http://127.0.0.1:{port}'
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f'{url}/versions', timeout=2).status_code == 200:
                break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail('minova-image did not start: '
                        + (root / 'minova-image.log').read_text()[-3000:])
        time.sleep(0.3)
    try:
        yield ImageEndpoint(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


class NovaEvents:
    """Where Cinder's [nova] points: records os-server-external-events
    requests and answers each event as Nova's API does (code 200), or, while
    `forward` names a mini-Nova compute API (.../v2.1), passes them on to it
    with Cinder's token and microversion and answers what it answered."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.forward: str | None = None
        events = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._answer(200, {'version': {
                    'id': 'v2.1', 'status': 'CURRENT', 'version': '2.96',
                    'min_version': '2.1', 'links': []}})

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get('Content-Length') or 0)
                body = json.loads(self.rfile.read(length) or b'null')
                events.requests.append((self.path, dict(self.headers), body))
                if not self.path.endswith('/os-server-external-events'):
                    self._answer(404, {'itemNotFound': {'code': 404, 'message': 'x'}})
                    return
                if events.forward:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() in ('x-auth-token', 'openstack-api-version',
                                                'x-openstack-nova-api-version')}
                    r = requests.post(events.forward + '/os-server-external-events',
                                      json=body, headers=headers, timeout=60)
                    self._answer(r.status_code, r.json())
                    return
                self._answer(200, {'events': [dict(e, code=200, status='completed')
                                              for e in body['events']]})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}/v2.1'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, timeout: float = 60.0) -> list[tuple[str, dict[str, str], Any]]:
        deadline = time.monotonic() + timeout
        while not self.requests and time.monotonic() < deadline:
            time.sleep(0.3)
        return list(self.requests)


@pytest.fixture(scope='session')
def nova_events() -> Iterator[NovaEvents]:
    nova = NovaEvents()
    yield nova
    nova.server.shutdown()
    nova.server.server_close()


@pytest.fixture(scope='session')
def cinder(ceph: dict[str, Any], image_endpoint: ImageEndpoint,
           nova_events: NovaEvents) -> Iterator[Cinder]:
    lock = _lock(LOCK)
    state = tempfile.mkdtemp(prefix='minova-cinder-', dir='/var/tmp')
    args = ['--state-dir', state, '--ceph-state', CEPH_STATE, '--ceph-tool', CEPH_TOOL,
            '--port', str(libvirt_tier._free_port()), '--database', 'minova_cinder_it',
            '--nova-url', nova_events.url,
            '--glance-url', image_endpoint.url, '--fixed-key', FIXED_KEY]
    try:
        up = subprocess.run([TOOL, 'up', *args], capture_output=True, text=True, timeout=600)
        if up.returncode:
            subprocess.run([TOOL, 'down', *args], capture_output=True)
            pytest.fail(f'tools/minova-cinder up failed:\n{up.stdout}{up.stderr[-4000:]}')
        info = json.loads(up.stdout)
        try:
            yield Cinder(info, ceph, image_endpoint.url)
        finally:
            subprocess.run([TOOL, 'down', *args], capture_output=True)
            os.makedirs(LOGS, exist_ok=True)
            for path in info['logs'].values():
                with contextlib.suppress(OSError):
                    shutil.copy(path, LOGS)
    finally:
        shutil.rmtree(state, ignore_errors=True)
        if lock is not None:
            lock.close()


@pytest.fixture
def cinder_clean(cinder: Cinder) -> Iterator[Cinder]:
    """The stack for one test, which must leave no volume and no attachment
    (the test's own are deleted first, and that must succeed)."""
    cinder.volumes.clear()
    cinder.made.clear()
    yield cinder
    cinder.cleanup()
    assert cinder.attachments() == []
    assert cinder.all_volumes() == []
    left = set(cinder.rbd_images()) & {f'volume-{v}' for v in cinder.made}
    assert not left, f'RBD images left in the pool: {left}'


@pytest.fixture
def multiattach_type(cinder: Cinder) -> Iterator[str]:
    """A volume type whose volumes Cinder makes multiattach (on the RBD backend)."""
    r = cinder.api('POST', '/types', json={'volume_type': {
        'name': 'minova-multiattach', 'extra_specs': {
            'multiattach': '<is> True', 'volume_backend_name': 'ceph'}}})
    assert r.status_code == 200, r.text
    type_id = r.json()['volume_type']['id']
    yield 'minova-multiattach'
    # Torn down before cinder_clean: the type goes only once its volumes are gone.
    cinder.cleanup()
    r = cinder.api('DELETE', f'/types/{type_id}')
    assert r.status_code == 202, r.text


def new_uuid() -> str:
    return str(uuid.uuid4())
