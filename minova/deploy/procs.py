"""Service processes: each a process-group leader with <state>/run/<name>.pid
and its output in <state>/log/<name>.log."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from minova.deploy.layout import Settings


def pid_file(s: Settings, name: str) -> Path:
    return s.root / 'run' / f'{name}.pid'


def log_file(s: Settings, name: str) -> Path:
    return s.root / 'log' / f'{name}.log'


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie nobody reaped yet is not running
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
        return state != 'Z'
    except (OSError, IndexError):
        return True


def running_pid(s: Settings, name: str) -> int | None:
    path = pid_file(s, name)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _script(name: str) -> str:
    # Beside this interpreter first (a virtualenv), then on PATH.
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def start(s: Settings, svc: dict[str, Any]) -> int:
    """Start one service unless it runs already; returns its pid."""
    pid = running_pid(s, svc['name'])
    if pid is not None:
        return pid
    for d in ('run', 'log'):
        (s.root / d).mkdir(parents=True, exist_ok=True)
    cmd = [_script(svc['script'])]
    for conf in svc['conf']:
        cmd += ['--config-file', conf]
    # glibc gives each thread that allocates its own malloc arena (up to 8
    # per core), and the RPC and WSGI thread pools make that tens of MiB of
    # RSS per service; two arenas cost them no measurable speed.
    env = dict(os.environ)
    env.setdefault('MALLOC_ARENA_MAX', '2')
    with open(log_file(s, svc['name']), 'ab') as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                close_fds=True, env=env)
    pid_file(s, svc['name']).write_text(f'{proc.pid}\n')
    return proc.pid


def stop(s: Settings, name: str, timeout: float = 20.0, sig: int = signal.SIGTERM) -> bool:
    """Signal the service's process group, wait, then SIGKILL. True if it ran."""
    return bool(stop_all(s, [name], timeout, sig))


def stop_all(s: Settings, names: list[str], timeout: float = 20.0,
             sig: int = signal.SIGTERM) -> list[str]:
    """Signal each named service's process group in the order given, then
    wait for all of them under one deadline and SIGKILL what is left; the
    names of those that ran. One deadline: a service slow to stop (one
    stuck closing a broker connection after a broker restart) costs the
    timeout once, not once per service."""
    signalled: dict[str, int] = {}
    for name in names:
        pid = running_pid(s, name)
        pid_file(s, name).unlink(missing_ok=True)
        if pid is None:
            continue
        signalled[name] = pid
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(pid) for pid in signalled.values()):
        for pid in signalled.values():
            _reap(pid)
        time.sleep(0.1)
    killed = [pid for pid in signalled.values() if _alive(pid)]
    for pid in killed:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5.0   # SIGKILL is not refused, only delivered later
    while time.monotonic() < deadline and any(_alive(pid) for pid in killed):
        time.sleep(0.05)
    for pid in signalled.values():
        _reap(pid)
    return list(signalled)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_http(s: Settings, name: str, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running_pid(s, name) is None:
            raise SystemExit(f'{name} exited; see {log_file(s, name)}:\n'
                             + tail(s, name))
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f'{name} did not answer on :{port} within {timeout}s')


def tail(s: Settings, name: str, lines: int = 30) -> str:
    path = log_file(s, name)
    if not path.exists():
        return ''
    return '\n'.join(path.read_text(errors='replace').splitlines()[-lines:])
