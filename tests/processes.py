"""Ports and process groups for the tests and benchmarks that start services
as subprocesses (each in a session of its own: start_new_session=True)."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen | None, timeout: float = 30) -> None:
    """SIGTERM the process group `proc` leads (its workers and children go
    too, even when the leader has already exited), SIGKILL it after
    `timeout` seconds, and reap the leader."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except ProcessLookupError:      # the whole group is gone already
        proc.wait()
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
