"""A multi-process mini-Nova on the machine's RabbitMQ and MariaDB/PostgreSQL.

Each service runs as its own process from its console script, configured by
files written here; two fake compute agents have their own host names and no
database credentials, as an operator would deploy them.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

RABBIT = os.environ.get('MINOVA_TEST_RABBIT', 'rabbit://guest:guest@127.0.0.1:5672')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _mysql(sql: str) -> None:
    subprocess.run(['mysql', '-h127.0.0.1', '-uroot', '-e', sql], check=True)


def _psql(sql: str) -> None:
    subprocess.run(['psql', '-h', '127.0.0.1', '-U', 'postgres', '-q', '-c', sql], check=True,
                   stdout=subprocess.DEVNULL)


class Deployment:
    """Config files, databases, a RabbitMQ vhost and the service processes."""

    def __init__(self, root: Path, engine: str) -> None:
        self.root = root
        self.engine = engine
        self.tag = 'minova_it_' + uuid.uuid4().hex[:8]
        self.vhost = self.tag
        self.api_port = _free_port()
        self.placement_port = _free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.dbs = {k: f'{self.tag}_{k}' for k in ('api', 'cell0', 'cell1', 'placement')}

    # -- set-up ----------------------------------------------------------------

    def db_url(self, name: str) -> str:
        if self.engine == 'mysql':
            return f'mysql+pymysql://root@127.0.0.1/{name}'
        return f'postgresql+psycopg2://postgres@127.0.0.1/{name}'

    def create_databases(self, vhost: bool = True) -> None:
        """The databases, and the RabbitMQ vhost unless `vhost` is False (a
        bus that is not ready yet: create_vhost() later)."""
        for name in self.dbs.values():
            if self.engine == 'mysql':
                _mysql(f'CREATE DATABASE {name} CHARACTER SET utf8mb4')
            else:
                _psql(f'CREATE DATABASE {name}')
        if vhost:
            self.create_vhost()

    def create_vhost(self) -> None:
        subprocess.run(['rabbitmqctl', '-q', 'add_vhost', self.vhost], check=True)
        subprocess.run(['rabbitmqctl', '-q', 'set_permissions', '-p', self.vhost, 'guest',
                        '.*', '.*', '.*'], check=True)

    def drop_databases(self) -> None:
        for name in self.dbs.values():
            try:
                if self.engine == 'mysql':
                    _mysql(f'DROP DATABASE IF EXISTS {name}')
                else:
                    _psql(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')
            except subprocess.CalledProcessError:
                pass
        subprocess.run(['rabbitmqctl', '-q', 'delete_vhost', self.vhost], check=False)

    def write_config(self) -> None:
        common = f"""[DEFAULT]
transport_url = {RABBIT}/{self.vhost}
state_path = {self.root}/state
report_interval = 1
service_down_time = 10
debug = True
log_dir = {self.root}/logs

[placement]
endpoint_override = http://127.0.0.1:{self.placement_port}

[fake_driver]
spawn_delay = 0.2
"""
        controller = common + f"""
[api_database]
connection = {self.db_url(self.dbs['api'])}

[database]
connection = {self.db_url(self.dbs['cell1'])}

[placement_database]
connection = {self.db_url(self.dbs['placement'])}

[api]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {self.api_port}

[placement_api]
bind_host = 127.0.0.1
bind_port = {self.placement_port}
"""
        (self.root / 'logs').mkdir(exist_ok=True)
        (self.root / 'minova.conf').write_text(controller)
        (self.root / 'compute-common.conf').write_text(common)

    def compute_config(self, host: str, extra: str = '') -> Path:
        """The host's own file; `extra` lines go into its [DEFAULT]."""
        path = self.root / f'{host}.conf'
        path.write_text(f'[DEFAULT]\nhost = {host}\n{extra}')
        return path

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([_script('minova-manage'), '--config-file',
                               str(self.root / 'minova.conf'), *args],
                              check=True, capture_output=True, text=True, timeout=120)

    def start(self, name: str, script: str, *config: Path) -> None:
        files = config or (self.root / 'minova.conf',)
        cmd = [_script(script)]
        for f in files:
            cmd += ['--config-file', str(f)]
        log = open(self.root / 'logs' / f'{name}.out', 'ab')  # noqa: SIM115
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def start_compute(self, host: str, extra: str = '') -> None:
        self.start(host, 'minova-compute', self.root / 'compute-common.conf',
                   self.compute_config(host, extra))

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def wait_http(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise AssertionError(f'{name} exited: {self.log_tail(name)}')
            try:
                requests.get(url, timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f'{url} did not come up')

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def log(self, binary: str) -> str:
        """What `binary` (e.g. minova-compute) wrote to its log in log_dir."""
        path = self.root / 'logs' / f'{binary}.log'
        return path.read_text(errors='replace') if path.exists() else ''

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.root / 'logs' / f'{name}.out'
        return '\n'.join(path.read_text(errors='replace').splitlines()[-lines:]) \
            if path.exists() else ''


def _script(name: str) -> str:
    path = shutil.which(name)
    assert path, f'{name} is not installed (pip install -e .)'
    return path


def _deployment(tmp_path_factory: Any, engine: str) -> Iterator[Deployment]:
    dep = Deployment(tmp_path_factory.mktemp(f'deploy-{engine}'), engine)
    dep.create_databases()
    try:
        dep.write_config()
        dep.manage('api_db', 'sync')
        dep.manage('placement_db', 'sync')
        dep.manage('cell_v2', 'map_cell0', '--database_connection',
                   dep.db_url(dep.dbs['cell0']))
        dep.manage('db', 'sync')
        dep.manage('cell_v2', 'create_cell', '--name', 'cell1')
        dep.start('placement', 'minova-placement')
        dep.wait_http(f'http://127.0.0.1:{dep.placement_port}/')
        dep.start('conductor', 'minova-conductor')
        dep.start('scheduler', 'minova-scheduler')
        dep.start('api', 'minova-api')
        dep.wait_http(f'http://127.0.0.1:{dep.api_port}/')
        yield dep
    finally:
        dep.stop_all()
        dep.drop_databases()


@pytest.fixture(scope='module', params=['mysql', 'postgresql'])
def deployment(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from _deployment(tmp_path_factory, request.param)
