"""Placements to compare, each a server process on loopback: upstream OpenStack
Placement (openstack-placement from the package index)
in a virtualenv of its own, and mini-Nova's minova-placement; used by the
compatibility tier and bench/placement_perfload.py.

The venv lives at $MINOVA_UPSTREAM_PLACEMENT_VENV (default
/tmp/minova-upstream-placement-venv) and is created on first use, so a fresh
machine needs nothing but network access to the package index; upstream's
dependencies never enter mini-Nova's own environment.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

VENV = Path(os.environ.get('MINOVA_UPSTREAM_PLACEMENT_VENV',
                           '/tmp/minova-upstream-placement-venv'))
REQUIREMENT = 'openstack-placement>=16,<17'


def ensure_venv() -> Path:
    """The venv's python, installing upstream placement there if missing."""
    python = VENV / 'bin' / 'python'
    if (VENV / 'bin' / 'placement-manage').exists() and (VENV / 'bin' / 'gunicorn').exists():
        return python
    subprocess.run([sys.executable, '-m', 'venv', str(VENV)], check=True)
    subprocess.run([str(python), '-m', 'pip', 'install', '-q', '--disable-pip-version-check',
                    REQUIREMENT, 'pymysql', 'gunicorn'], check=True)
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class UpstreamPlacement:
    """placement-manage db sync, then gunicorn serving placement.wsgi.api."""

    def __init__(self, db_url: str, workers: int = 2) -> None:
        self.db_url = db_url
        self.workers = workers
        self.port = free_port()
        self.base = f'http://127.0.0.1:{self.port}'
        self.confdir = Path(tempfile.mkdtemp(prefix='upstream-placement-'))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> UpstreamPlacement:
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> UpstreamPlacement:
        ensure_venv()
        (self.confdir / 'placement.conf').write_text(
            '[DEFAULT]\ndebug = False\n'
            '[api]\nauth_strategy = noauth2\n'
            f'[placement_database]\nconnection = {self.db_url}\n')
        env = dict(os.environ, OS_PLACEMENT_CONFIG_DIR=str(self.confdir))
        subprocess.run([str(VENV / 'bin' / 'placement-manage'), '--config-dir',
                        str(self.confdir), 'db', 'sync'], check=True, env=env,
                       capture_output=True)
        log = open(self.confdir / 'gunicorn.log', 'wb')  # noqa: SIM115 (lives with the process)
        self.proc = subprocess.Popen(
            [str(VENV / 'bin' / 'gunicorn'), '-w', str(self.workers), '-k', 'gthread',
             '--threads', '4', '-b', f'127.0.0.1:{self.port}', 'placement.wsgi.api:application'],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(self.confdir))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('upstream placement exited: ' +
                                   (self.confdir / 'gunicorn.log').read_text()[-2000:])
            try:
                if requests.get(self.base + '/', timeout=10).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError('upstream placement did not answer in time')

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


class MinovaPlacement:
    """minova-placement as a separate process, like upstream's gunicorn."""

    def __init__(self, db_url: str, log: Path | None = None) -> None:
        self.db_url = db_url
        self.log = log
        self.port = free_port()
        self.base = f'http://127.0.0.1:{self.port}'
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MinovaPlacement:
        conf = Path(tempfile.mkdtemp(prefix='minova-perfload-')) / 'minova.conf'
        conf.write_text(f'[placement_database]\nconnection = {self.db_url}\n'
                        f'[placement_api]\nbind_host = 127.0.0.1\nbind_port = {self.port}\n')
        subprocess.run([sys.executable, '-m', 'minova.cmd.manage', '--config-file',
                        str(conf), 'placement_db', 'sync'], check=True, capture_output=True)
        out = open(self.log, 'wb') if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, '-m', 'minova.cmd.placement',
                                      '--config-file', str(conf)],
                                     stdout=out, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                if requests.get(self.base + '/', timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError('minova-placement did not start')

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
