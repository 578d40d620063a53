"""Upstream Keystone on loopback, installed and bootstrapped as the install guides do.

Keystone comes from the package index into its own virtualenv
(`MINOVA_KEYSTONE_VENV`, default /tmp/minova-keystone-venv) so that its
dependency pins never touch mini-Nova's environment; the venv is kept between
runs and rebuilt when its marker is missing or names other requirements. It
runs under gunicorn with a SQLite database and fernet tokens.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests import processes

VENV = Path(os.environ.get('MINOVA_KEYSTONE_VENV', '/tmp/minova-keystone-venv'))
REQUIREMENTS = ('keystone>=25.0.0', 'gunicorn>=21.2')
ADMIN_PASSWORD = 'keystone-admin-secret'
REGION = 'RegionOne'

# Keystone's WSGI module parses sys.argv with oslo.config, so gunicorn is run
# from this launcher (executed by the venv's python) with a bare argv.
LAUNCHER = """
import os, sys
sys.argv = sys.argv[:1]
from gunicorn.app.base import BaseApplication

class Keystone(BaseApplication):
    def load_config(self):
        opts = {'bind': os.environ['KEYSTONE_BIND'], 'workers': 2, 'threads': 4,
                'timeout': 120, 'control_socket_disable': True,
                'accesslog': os.environ.get('KEYSTONE_ACCESS_LOG')}
        for key, value in opts.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        from keystone.wsgi.api import application
        return application

Keystone().run()
"""


def register_services(admin: Any, urls: dict[tuple[str, str], str]) -> None:
    """A service and its public/internal/admin endpoints for each
    (name, type) -> url, through an admin keystoneclient."""
    for (name, kind), url in urls.items():
        svc = admin.services.create(name, type=kind, description=f'{name} service')
        for interface in ('public', 'internal', 'admin'):
            admin.endpoints.create(svc, url, interface=interface, region=REGION)


def minova_auth_conf(keystone: Keystone, passwords: dict[str, str],
                     memcached: str | None = None) -> str:
    """The [keystone_authtoken], [placement] and [glance] sections of a
    mini-Nova that trusts `keystone`: password auth as the `nova` and
    `placement` service users (project `service`), endpoints found in the
    catalog (internal interface). `memcached`: HOST:PORT for auth_token's
    token cache (default: its in-process cache)."""
    ks = f'http://127.0.0.1:{keystone.port}'
    service_auth = f"""auth_type = password
auth_url = {ks}/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
"""
    cache = f'memcached_servers = {memcached}\n' if memcached else ''
    return f"""[keystone_authtoken]
www_authenticate_uri = {ks}/
auth_url = {ks}/
{cache}{service_auth}username = nova
password = {passwords['nova']}
[placement]
region_name = {REGION}
valid_interfaces = internal
{service_auth}username = placement
password = {passwords['placement']}
[glance]
region_name = {REGION}
valid_interfaces = internal
{service_auth}username = nova
password = {passwords['nova']}
"""


def ensure_venv() -> Path:
    """The keystone virtualenv, built once (under a lock) and reused."""
    marker = VENV / '.minova-requirements'
    wanted = '\n'.join(REQUIREMENTS)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(str(VENV) + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == wanted \
                and (VENV / 'bin' / 'keystone-manage').exists():
            return VENV
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, '-m', 'venv', str(VENV)], check=True)
        pip = subprocess.run([str(VENV / 'bin' / 'pip'), 'install', '-q',
                              '--disable-pip-version-check', *REQUIREMENTS],
                             capture_output=True, text=True, timeout=600)
        if pip.returncode:
            raise AssertionError(f'installing keystone failed:\n{pip.stdout}{pip.stderr}')
        marker.write_text(wanted)
    return VENV


class Keystone:
    """One keystone: config and keys under `root`, listening on 127.0.0.1:`port`."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.url = f'http://127.0.0.1:{port}/v3'
        self.conf = root / 'keystone.conf'
        self.log = root / 'keystone.log'
        # One line per request (gunicorn's access log): what a benchmark
        # counts to see how often mini-Nova asked Keystone.
        self.access_log = root / 'access.log'
        self.proc: subprocess.Popen | None = None

    def _manage(self, *args: str) -> None:
        subprocess.run([str(VENV / 'bin' / 'keystone-manage'), '--config-file',
                        str(self.conf), *args], check=True, capture_output=True,
                       text=True, timeout=300)

    def configure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(f"""[DEFAULT]
log_file = {self.log}
[database]
connection = sqlite:///{self.root}/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = {self.root}/fernet-keys
[fernet_receipts]
key_repository = {self.root}/fernet-receipts
[credential]
key_repository = {self.root}/credential-keys
[identity]
# Fewer bcrypt rounds: test passwords need no brute-force resistance.
password_hash_rounds = 4
""")

    def bootstrap(self) -> None:
        """db_sync, fernet_setup, credential_setup and bootstrap, as in the guide."""
        user = os.environ.get('USER') or 'root'
        ids = ('--keystone-user', user, '--keystone-group', user) \
            if os.geteuid() == 0 else ()
        self._manage('db_sync')
        self._manage('fernet_setup', *ids)
        self._manage('credential_setup', *ids)
        self._manage('bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
                     '--bootstrap-admin-url', self.url,
                     '--bootstrap-internal-url', self.url,
                     '--bootstrap-public-url', self.url,
                     '--bootstrap-region-id', REGION)

    def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=str(self.conf),
                   KEYSTONE_BIND=f'127.0.0.1:{self.port}',
                   KEYSTONE_ACCESS_LOG=str(self.access_log))
        launcher = self.root / 'keystone_gunicorn.py'
        launcher.write_text(LAUNCHER)
        out = open(self.root / 'gunicorn.out', 'ab')  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(VENV / 'bin' / 'python'), str(launcher)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError('keystone exited:\n' + self.tail())
            try:
                if requests.get(self.url, timeout=10).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.3)
        raise AssertionError('keystone did not come up:\n' + self.tail())

    def stop(self) -> None:
        processes.stop_process(self.proc, timeout=20)
        self.proc = None

    def tail(self, lines: int = 40) -> str:
        text = ''
        for path in (self.root / 'gunicorn.out', self.log):
            if path.exists():
                text += '\n'.join(path.read_text(errors='replace').splitlines()[-lines:])
        return text
