"""Files on another compute host, as Nova's libvirt remote filesystem drivers:
a cold migration or resize to a host without shared instance storage copies
the guest's disks there ([libvirt] remote_filesystem_transport).

- ssh (Nova's default): directories and files made and removed with commands
  over ssh, files copied with scp;
- rsync: everything through rsync (over ssh as its remote shell), so the
  destination can be restricted to rsync; directories made and removed by
  syncing an empty one.

The destination is an address (the migration's dest_host, the destination's
[DEFAULT] my_ip). Authentication is ssh's own: the compute user's keys and
client configuration (docs/live-migration.md, "Cold migration and resize").
"""
from __future__ import annotations

import logging
import os
import shlex
import subprocess
import tempfile
from typing import Protocol

from minova import exception
from minova.conf import CONF

LOG = logging.getLogger(__name__)

TIMEOUT = 3600   # a disk copy; the commands that only make or remove finish fast
SSH = ['ssh', '-o', 'BatchMode=yes']


def remote_path(host: str, path: str) -> str:
    """host:path as scp and rsync name it (an IPv6 address in brackets)."""
    return f'[{host}]:{path}' if ':' in host else f'{host}:{path}'


def _run(cmd: list[str], timeout: float = 300) -> None:
    LOG.debug('Running %s', ' '.join(shlex.quote(c) for c in cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise exception.ResizeError(reason=f'{cmd[0]} failed: {e}') from e
    if proc.returncode:
        raise exception.ResizeError(
            reason=f'{cmd[0]} failed ({proc.returncode}): '
                   f'{proc.stderr.strip() or proc.stdout.strip()}')


class RemoteFilesystem(Protocol):
    def create_file(self, host: str, path: str) -> None: ...
    def remove_file(self, host: str, path: str) -> None: ...
    def create_dir(self, host: str, path: str) -> None: ...
    def remove_dir(self, host: str, path: str) -> None: ...
    def copy_file(self, src: str, host: str, dst: str) -> None: ...


class SshDriver:
    def _ssh(self, host: str, *command: str) -> None:
        _run([*SSH, host, ' '.join(shlex.quote(c) for c in command)])

    def create_file(self, host: str, path: str) -> None:
        self._ssh(host, 'touch', path)

    def remove_file(self, host: str, path: str) -> None:
        self._ssh(host, 'rm', '-f', path)

    def create_dir(self, host: str, path: str) -> None:
        self._ssh(host, 'mkdir', '-p', path)

    def remove_dir(self, host: str, path: str) -> None:
        self._ssh(host, 'rm', '-rf', path)

    def copy_file(self, src: str, host: str, dst: str) -> None:
        _run(['scp', '-q', '-o', 'BatchMode=yes', src, remote_path(host, dst)], TIMEOUT)


class RsyncDriver:
    def create_file(self, host: str, path: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            empty = os.path.join(tmp, os.path.basename(path))
            open(empty, 'w').close()
            _run(['rsync', '--archive', empty, remote_path(host, path)])

    def remove_file(self, host: str, path: str) -> None:
        self._delete(host, path, directory=False)

    def create_dir(self, host: str, path: str) -> None:
        # The path made under an empty directory and synced relative to it.
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, path.lstrip('/')), exist_ok=True)
            _run(['rsync', '--archive', '--relative', '--no-implied-dirs',
                  f'{tmp}/./{path.lstrip("/")}', remote_path(host, '/')])

    def remove_dir(self, host: str, path: str) -> None:
        self._delete(host, path, directory=True)

    def _delete(self, host: str, path: str, directory: bool) -> None:
        """An empty directory synced over path's parent, deleting only path."""
        name = os.path.basename(path.rstrip('/'))
        parent = os.path.dirname(path.rstrip('/'))
        with tempfile.TemporaryDirectory() as tmp:
            _run(['rsync', '--archive', '--delete', '--include', name,
                  *(['--include', f'{name}/**'] if directory else []), '--exclude', '*',
                  f'{tmp}/', remote_path(host, f'{parent}/')])

    def copy_file(self, src: str, host: str, dst: str) -> None:
        _run(['rsync', '--sparse', '--compress', src, remote_path(host, dst)], TIMEOUT)


def driver() -> RemoteFilesystem:
    transport = CONF.libvirt.remote_filesystem_transport
    return RsyncDriver() if transport == 'rsync' else SshDriver()
