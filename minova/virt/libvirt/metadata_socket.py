"""Per-guest metadata sockets: how a guest on QEMU user-mode networking reaches
the metadata service at 169.254.169.254, and how the service knows which
guest asks (docs/metadata.md).

The guest's slirp netdev has `guestfwd=tcp:169.254.169.254:80-chardev:mdfwd0`,
and chardev mdfwd0 is a UNIX socket client (reconnecting once a second) to
<instance dir>/metadata.sock, on which the compute listens for that one
instance. So the identity is which socket QEMU connects to, not anything the
guest sends; and the listener also checks, by SO_PEERCRED, that the process
at the other end is the QEMU running this instance (`-uuid <uuid>` on its
command line), so no other process (nor a domain left over with a stale path)
is answered as this guest. QEMU spawns nothing (libvirt's seccomp sandbox
forbids it) and needs nothing of the compute's Python.

The listener relays the stream (minova/metadata/relay.py) to the metadata
service with the instance's signed headers ([neutron]
metadata_proxy_shared_secret).
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import struct
import threading

from minova.conf import CONF

LOG = logging.getLogger(__name__)

CHARDEV_ID = 'mdfwd0'
SOCKET_NAME = 'metadata.sock'
MAX_PATH = 107      # sun_path holds 108 bytes with the terminating NUL
_warned: set[str] = set()


def enabled() -> bool:
    """Whether guests on user-mode networking get a metadata socket: on by
    default, as long as there is a secret to sign their requests with."""
    if not CONF.libvirt.metadata_via_user_network:
        return False
    if not CONF.neutron.metadata_proxy_shared_secret:
        if 'secret' not in _warned:
            _warned.add('secret')
            LOG.warning('Guests on user-mode networking get no metadata service: '
                        '[neutron] metadata_proxy_shared_secret is not set')
        return False
    return True


def socket_path(instance_dir: str) -> str | None:
    """Where the compute listens for this instance; None when the path is too
    long for a UNIX socket (the guest then gets no metadata service)."""
    path = os.path.join(instance_dir, SOCKET_NAME)
    if len(os.fsencode(path)) > MAX_PATH:
        LOG.warning('No metadata socket for %s: the path is longer than %s bytes',
                    path, MAX_PATH)
        return None
    return path


def service_url() -> str:
    host = CONF.metadata_listen
    host = '127.0.0.1' if host in ('0.0.0.0', '::', '') else host
    if ':' in host:
        host = f'[{host}]'
    return f'http://{host}:{CONF.metadata_listen_port}'


def peer_pid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i'))
    return int(struct.unpack('3i', creds)[0])


def runs_instance(pid: int, uuid: str) -> bool:
    """Whether process pid is a QEMU started with `-uuid <uuid>`."""
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            args = f.read().split(b'\0')
    except OSError:
        return False
    want = uuid.lower().encode()
    return any(a == b'-uuid' and b.lower() == want for a, b in zip(args, args[1:], strict=False))


class Listener:
    """The socket of one instance: accepts its QEMU and relays what it sends."""

    def __init__(self, path: str, uuid: str, project_id: str) -> None:
        self.path, self.uuid, self.project_id = path, uuid, project_id
        self._closed = False
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)    # left by an earlier run: nobody listens on it now
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.bind(path)
            # QEMU runs as another user (libvirt-qemu); who may talk is checked
            # per connection (SO_PEERCRED), not by the file's mode.
            os.chmod(path, 0o666)
            self.sock.listen(8)
        except OSError:
            self.sock.close()
            raise
        self.inode = os.stat(path).st_ino
        self._thread = threading.Thread(target=self._accept, daemon=True,
                                        name=f'metadata-socket-{uuid[:8]}')
        self._thread.start()

    @property
    def alive(self) -> bool:
        return not self._closed and self._thread.is_alive()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name=f'metadata-relay-{self.uuid[:8]}').start()

    def _serve(self, conn: socket.socket) -> None:
        from minova.metadata import relay
        with conn:
            pid = peer_pid(conn)
            if not runs_instance(pid, self.uuid):
                LOG.warning('Metadata socket of %s: refused process %s, which is not '
                            'its QEMU', self.uuid, pid)
                return
            with self._lock:
                if self._closed:
                    return
                self._conns.add(conn)
            LOG.debug('Metadata socket of %s: QEMU (pid %s) connected', self.uuid, pid)
            try:
                rfile, wfile = conn.makefile('rb'), conn.makefile('wb')
                while not self._closed and relay.relay_one(
                        rfile, wfile, service_url(), self.uuid, self.project_id):
                    pass
            except OSError as e:
                LOG.debug('Metadata socket of %s: %s', self.uuid, e)
            finally:
                with self._lock:
                    self._conns.discard(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = list(self._conns)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)   # wakes accept()
        self.sock.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        # Only our own file: a destination sharing the instance directory may
        # have bound the path again meanwhile.
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)


class Listeners:
    """The metadata sockets of one compute's guests, by instance uuid."""

    def __init__(self) -> None:
        self._by_uuid: dict[str, Listener] = {}
        self._lock = threading.Lock()

    def open(self, uuid: str, project_id: str, path: str) -> bool:
        """Listen at path for instance uuid (kept when already listening there)."""
        with self._lock:
            old = self._by_uuid.get(uuid)
            if old is not None and old.alive and old.path == path and \
                    old.project_id == project_id and os.path.exists(path):
                return True
            if old is not None:
                old.close()
                del self._by_uuid[uuid]
            try:
                self._by_uuid[uuid] = Listener(path, uuid, project_id)
            except OSError as e:
                LOG.error('No metadata socket for %s at %s: %s', uuid, path, e)
                return False
            LOG.info('Metadata socket of %s listening at %s', uuid, path)
            return True

    def close(self, uuid: str) -> None:
        with self._lock:
            listener = self._by_uuid.pop(uuid, None)
        if listener is not None:
            listener.close()
            LOG.info('Metadata socket of %s closed', uuid)

    def close_all(self) -> None:
        for uuid in list(self._by_uuid):
            self.close(uuid)

    def uuids(self) -> list[str]:
        with self._lock:
            return sorted(self._by_uuid)
