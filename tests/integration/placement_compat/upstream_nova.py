"""Upstream OpenStack Nova 34 (API, conductor, scheduler, fake-driver computes)
as separate processes on loopback, pointed at a placement of our choosing.

The venv lives at $MINOVA_UPSTREAM_NOVA_VENV (default
/tmp/minova-upstream-nova-venv) and is built on first use (nova from the
package index: about a minute and 400 MB), so a fresh machine needs nothing
but network access to the package index; upstream's dependencies never enter
mini-Nova's own environment.

Nova needs more than placement: the API GETs every boot's image from Glance
and the compute asks Neutron for the ports of a server it deletes. Both are
answered by a small in-process stand-in (`FakeImageAndNetwork`). Nova 34 has
no noauth strategy of its own any more, so the API's paste pipeline gets a
filter that reads `X-Auth-Token: user[:project]` as the old noauth2 did.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from tests.integration.placement_compat.upstream import free_port

VENV = Path(os.environ.get('MINOVA_UPSTREAM_NOVA_VENV', '/tmp/minova-upstream-nova-venv'))
REQUIREMENTS = ['nova>=34,<35', 'pymysql', 'gunicorn']
RABBIT = os.environ.get('MINOVA_TEST_RABBIT', 'rabbit://guest:guest@127.0.0.1:5672')


def ensure_venv() -> Path:
    """The venv's bin directory, installing upstream Nova there if missing."""
    bindir = VENV / 'bin'
    ready = VENV / '.minova-ready'
    if ready.exists() and ready.read_text() == ' '.join(REQUIREMENTS):
        return bindir
    print(f'building {VENV} ({" ".join(REQUIREMENTS)}), about a minute', flush=True)
    start = time.monotonic()
    subprocess.run([sys.executable, '-m', 'venv', str(VENV)], check=True)
    subprocess.run([str(bindir / 'python'), '-m', 'pip', 'install', '-q',
                    '--disable-pip-version-check', *REQUIREMENTS], check=True)
    ready.write_text(' '.join(REQUIREMENTS))
    print(f'built {VENV} in {time.monotonic() - start:.0f} s', flush=True)
    return bindir


# -- Glance and Neutron, as much as Nova asks of them for boot and delete ----

def _image(image_id: str) -> dict[str, Any]:
    return {'id': image_id, 'name': 'compat-image', 'status': 'active',
            'visibility': 'public', 'protected': False, 'os_hidden': False,
            'owner': 'admin', 'size': 1048576, 'virtual_size': 1048576,
            'container_format': 'bare', 'disk_format': 'qcow2', 'min_ram': 0,
            'min_disk': 0, 'tags': [], 'checksum': None, 'os_hash_algo': None,
            'os_hash_value': None, 'created_at': '2026-01-01T00:00:00Z',
            'updated_at': '2026-01-01T00:00:00Z', 'self': f'/v2/images/{image_id}',
            'file': f'/v2/images/{image_id}/file', 'schema': '/v2/schemas/image'}


_IMAGE_SCHEMA = {'name': 'image', 'additionalProperties': {'type': 'string'},
                 'properties': {k: {} for k in _image('x')}, 'links': []}
_NETWORK_COLLECTIONS = ('ports', 'networks', 'subnets', 'floatingips', 'security-groups',
                        'extensions', 'qos_policies')


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    service = ''

    def log_message(self, fmt: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split('?', 1)[0].rstrip('/')
        if self.service == 'image':
            if path == '/v2/schemas/image':
                return self._send(200, _IMAGE_SCHEMA)
            if path.startswith('/v2/images/'):
                return self._send(200, _image(path.rsplit('/', 1)[1]))
        else:
            collection = path.rsplit('/', 1)[-1]
            if collection in _NETWORK_COLLECTIONS:
                return self._send(200, {collection.replace('-', '_'): []})
        if path in ('', '/versions'):
            version = 'v2.16' if self.service == 'image' else 'v2.0'
            return self._send(200, {'versions': [{'id': version, 'status': 'CURRENT',
                                                  'links': []}]})
        return self._send(404, {'message': f'not served here: {path}'})


class FakeImageAndNetwork:
    """Image (Glance v2) and network (Neutron v2.0) endpoints on loopback."""

    def __init__(self) -> None:
        self.servers = {}
        for service in ('image', 'network'):
            handler = type(f'{service}Handler', (_Handler,), {'service': service})
            server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers[service] = server

    def url(self, service: str) -> str:
        return f'http://127.0.0.1:{self.servers[service].server_address[1]}'

    def stop(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()


# -- the API's noauth filter ---------------------------------------------------

NOAUTH_FILTER = '''"""X-Auth-Token: user[:project]; user admin is an admin (as noauth2 was)."""
import webob.dec
import webob.exc


class NoAuth:
    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        token = req.headers.get('X-Auth-Token')
        if not token:
            return webob.exc.HTTPUnauthorized()
        user, _, project = token.partition(':')
        project = project or req.headers.get('X-Auth-Project-Id') or user
        roles = 'admin,member,reader' if user == 'admin' else 'member,reader'
        req.headers.update({'X-User-Id': user, 'X-User-Name': user,
                            'X-Project-Id': project, 'X-Project-Name': project,
                            'X-Roles': req.headers.get('X-Roles', roles),
                            'X-Identity-Status': 'Confirmed'})
        return self.application


def filter_factory(global_conf, **local_conf):
    return NoAuth
'''

WSGI_APP = '''import sys

sys.argv = ['nova-api-os-compute']  # Nova hands argv to oslo.config

from nova.wsgi.osapi_compute import application  # noqa: E402,F401
'''


def _db(name: str) -> str:
    return f'mysql+pymysql://root@127.0.0.1/{name}?charset=utf8'


class UpstreamNova:
    """nova-api (gunicorn), nova-conductor, nova-scheduler and `computes`
    nova-compute agents with the fake driver, on their own databases and
    RabbitMQ vhost, using the placement at `placement_url`."""

    def __init__(self, workdir: Path, placement_url: str, computes: int = 2) -> None:
        self.dir = workdir
        self.placement_url = placement_url
        self.hosts = [f'compat-nova-{i}' for i in range(1, computes + 1)]
        self.tag = 'compat_nova_' + uuid.uuid4().hex[:8]
        self.dbs = {k: f'{self.tag}_{k}' for k in ('api', 'cell0', 'cell1')}
        self.api_port = free_port()
        self.api = f'http://127.0.0.1:{self.api_port}/v2.1'
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.fakes: FakeImageAndNetwork | None = None
        self.bin = VENV / 'bin'

    # -- set-up -------------------------------------------------------------

    def _write_config(self) -> None:
        assert self.fakes is not None
        paste = (VENV / 'etc' / 'nova' / 'api-paste.ini').read_text()
        paste = paste.replace(' authtoken keystonecontext ', ' minova_noauth keystonecontext ')
        paste += ('\n[filter:minova_noauth]\n'
                  'paste.filter_factory = minova_noauth:filter_factory\n')
        (self.dir / 'api-paste.ini').write_text(paste)
        (self.dir / 'minova_noauth.py').write_text(NOAUTH_FILTER)
        (self.dir / 'wsgi_nova_api.py').write_text(WSGI_APP)
        admin_token = (f'auth_type = admin_token\nendpoint = {self.placement_url}\n'
                       'token = admin\n')
        (self.dir / 'nova.conf').write_text(f"""[DEFAULT]
transport_url = {RABBIT}/{self.tag}
compute_driver = fake.FakeDriver
my_ip = 127.0.0.1
state_path = {self.dir}/state
debug = True
use_stderr = True
report_interval = 2

[wsgi]
api_paste_config = api-paste.ini

[oslo_concurrency]
lock_path = {self.dir}/lock

[scheduler]
discover_hosts_in_cells_interval = -1
workers = 1

[conductor]
workers = 1

[placement]
{admin_token}endpoint_override = {self.placement_url}
region_name = RegionOne
valid_interfaces = public

[service_user]
send_service_user_token = True
{admin_token}
[glance]
api_servers = {self.fakes.url('image')}
num_retries = 0

[neutron]
auth_type = admin_token
endpoint = {self.fakes.url('network')}
token = admin
endpoint_override = {self.fakes.url('network')}
region_name = RegionOne
valid_interfaces = public

[vnc]
enabled = False

[serial_console]
enabled = False

[oslo_messaging_notifications]
driver = noop
""")
        # Only the control plane has database credentials, as upstream advises.
        (self.dir / 'controller.conf').write_text(
            f"[api_database]\nconnection = {_db(self.dbs['api'])}\n"
            f"[database]\nconnection = {_db(self.dbs['cell1'])}\n")
        for host in self.hosts:
            (self.dir / host).mkdir(exist_ok=True)
            (self.dir / f'{host}.conf').write_text(
                f'[DEFAULT]\nhost = {host}\nstate_path = {self.dir}/{host}\n'
                f'instances_path = {self.dir}/{host}/instances\n')

    def _conf(self, *extra: str) -> list[str]:
        files = [self.dir / 'nova.conf', *(self.dir / e for e in extra)]
        return [a for f in files for a in ('--config-file', str(f))]

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run('nova-manage', *self._conf('controller.conf'), *args)

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        print('$', tool, *args[-3:], flush=True)
        return subprocess.run([str(self.bin / tool), *args], capture_output=True, text=True,
                              cwd=self.dir, timeout=300)

    def _start(self, name: str, cmd: list[str], **env: str) -> None:
        log = open(self.dir / f'{name}.log', 'wb')  # noqa: SIM115 (lives with the process)
        self.procs[name] = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
            env={**os.environ, **env}, start_new_session=True)

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.dir / f'{name}.log'
        return path.read_text(errors='replace')[-tail:] if path.exists() else ''

    def start(self, timeout: float = 240.0) -> UpstreamNova:
        try:
            return self._start_all(timeout)
        except BaseException:
            self.stop()
            raise

    def _start_all(self, timeout: float) -> UpstreamNova:
        t0 = time.monotonic()

        def step(what: str) -> None:
            print(f'[{time.monotonic() - t0:5.1f}s] upstream nova: {what}', flush=True)

        ensure_venv()
        self.fakes = FakeImageAndNetwork()
        self._write_config()
        step('databases and RabbitMQ vhost')
        for name in self.dbs.values():
            _mysql(f'CREATE DATABASE {name} CHARACTER SET utf8')
        subprocess.run(['rabbitmqctl', '-q', 'add_vhost', self.tag], check=True)
        subprocess.run(['rabbitmqctl', '-q', 'set_permissions', '-p', self.tag, 'guest',
                        '.*', '.*', '.*'], check=True)
        step('nova-manage api_db sync, cell_v2 map_cell0/create_cell, db sync')
        for args in (['api_db', 'sync'],
                     ['cell_v2', 'map_cell0', '--database_connection',
                      _db(self.dbs['cell0'])],
                     ['cell_v2', 'create_cell', '--name', 'cell1'],
                     ['db', 'sync']):
            done = self.manage(*args)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        step('nova-conductor, nova-scheduler, nova-api, nova-compute')
        self._start('conductor', [str(self.bin / 'nova-conductor'),
                                  *self._conf('controller.conf')])
        self._start('scheduler', [str(self.bin / 'nova-scheduler'),
                                  *self._conf('controller.conf')])
        self._start('api', [str(self.bin / 'gunicorn'), '--bind',
                            f'127.0.0.1:{self.api_port}', '--workers', '1', '--threads', '4',
                            '--worker-class', 'gthread', '--timeout', '120',
                            '--keep-alive', '0', '--pythonpath', str(self.dir),
                            'wsgi_nova_api:application'],
                    OS_NOVA_CONFIG_DIR=str(self.dir),
                    OS_NOVA_CONFIG_FILES='api-paste.ini;nova.conf;controller.conf')
        for host in self.hosts:
            self._start(host, [str(self.bin / 'nova-compute'), *self._conf(f'{host}.conf')])
        deadline = time.monotonic() + timeout
        step(f'waiting for {len(self.hosts)} nova-compute services to be up')
        while True:
            self._check_alive()
            try:
                services = self.get('/os-services?binary=nova-compute').json()['services']
                if sum(s['state'] == 'up' for s in services) >= len(self.hosts):
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            assert time.monotonic() < deadline, 'nova-compute services did not come up'
            time.sleep(1)
        step('nova-manage cell_v2 discover_hosts')
        done = self.manage('cell_v2', 'discover_hosts', '--verbose')
        assert done.returncode == 0, done.stdout + done.stderr
        step('ready')
        return self

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f'{name} exited:\n{self.log(name)}'

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for name, proc in self.procs.items():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            print(f'stopped {name} ({proc.pid})', flush=True)
        self.procs.clear()
        if self.fakes is not None:
            self.fakes.stop()
            self.fakes = None
        for name in self.dbs.values():
            _mysql(f'DROP DATABASE IF EXISTS {name}', check=False)
        subprocess.run(['rabbitmqctl', '-q', 'delete_vhost', self.tag], check=False,
                       capture_output=True)

    # -- the compute API as the admin -------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, self.api + path, json=body, timeout=60, headers={
            'X-Auth-Token': 'admin:admin', 'OpenStack-API-Version': 'compute 2.37'})

    def get(self, path: str) -> requests.Response:
        return self.request('GET', path)


def _mysql(sql: str, check: bool = True) -> None:
    subprocess.run(['mysql', '-h127.0.0.1', '-uroot', '-e', sql], check=check)
