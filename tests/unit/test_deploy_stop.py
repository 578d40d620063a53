"""minova-deploy stops services under one deadline: services that ignore
SIGTERM cost the timeout once between them, and none survives."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from minova.deploy import procs
from minova.deploy.layout import Settings


def _service(s: Settings, name: str, ignore_term: bool) -> int:
    """A process group leader with a pid file, as procs.start leaves one,
    returned once its shell has set its trap (a TERM sent before that, on a
    loaded machine, would stop a service meant to ignore it)."""
    trap = "trap '' TERM; " if ignore_term else ''
    (s.root / 'run').mkdir(parents=True, exist_ok=True)
    ready = s.root / 'run' / f'{name}.ready'
    proc = subprocess.Popen(['bash', '-c', f'{trap}: > {ready}; while :; do sleep 0.05; done'],
                            start_new_session=True)
    deadline = time.monotonic() + 10
    while not ready.exists():
        assert time.monotonic() < deadline, f'{name} did not start'
        time.sleep(0.01)
    procs.pid_file(s, name).write_text(f'{proc.pid}\n')
    return proc.pid


def test_stubborn_services_cost_the_timeout_once(tmp_path: Path) -> None:
    s = Settings(state_dir=str(tmp_path))
    pids = {name: _service(s, name, ignore_term=name != 'polite')
            for name in ('stubborn-1', 'stubborn-2', 'polite')}
    start = time.monotonic()
    stopped = procs.stop_all(s, [*pids, 'never-started'], timeout=2.0)
    took = time.monotonic() - start
    assert stopped == ['stubborn-1', 'stubborn-2', 'polite']
    assert 2.0 <= took < 4.0, took   # one deadline (one per stubborn service: 4 s)
    assert not [name for name, pid in pids.items() if procs._alive(pid)]
    assert not list((tmp_path / 'run').glob('*.pid'))
    assert procs.stop_all(s, list(pids)) == []   # nothing left to stop


def test_stop_of_one_service_says_whether_it_ran(tmp_path: Path) -> None:
    s = Settings(state_dir=str(tmp_path))
    pid = _service(s, 'polite', ignore_term=False)
    assert procs.stop(s, 'polite', timeout=5) is True
    assert not procs._alive(pid)
    assert procs.stop(s, 'polite') is False
