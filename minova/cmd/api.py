"""minova-api: the compute REST API on :8774.

With `[api] osapi_compute_workers` > 1 the parent binds the listening socket
and pre-forks that many worker processes that all accept on it (the kernel
hands each connection to one of them); the parent only supervises: it
replaces a worker that dies and, on SIGTERM/SIGINT, stops them all. The
parent never imports the app, so it stays small (about 30 MiB, not 90):
each worker imports it after the fork.
"""
import os
import signal
import socket
import sys
import time

from minova.cmd import common
from minova.conf import CONF
from minova.wsgi.server import WSGIServer


def _serve(sock: socket.socket | None = None) -> None:
    from minova.api import errors, wsgi

    server = WSGIServer('minova-api', wsgi.make_app(), CONF.api.osapi_compute_listen,
                        CONF.api.osapi_compute_listen_port, sock=sock,
                        error_body=errors.error_body)
    server.start()
    common.wait_for_signal(server.stop)


def _fork_worker(sock: socket.socket) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _serve(sock)
        except BaseException:  # noqa: BLE001 - a worker must never return into the parent
            code = 1
        finally:
            os._exit(code)
    return pid


def _supervise(workers: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it. Without it a response written as
    # headers then body waits for the client's delayed ACK: 40 ms on every
    # keep-alive request (cheroot sets it only on sockets it binds itself).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((CONF.api.osapi_compute_listen, CONF.api.osapi_compute_listen_port))
    sock.listen(1024)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children = {_fork_worker(sock) for _ in range(workers)}
    while not stopping:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid in children:
            children.discard(pid)
            if not stopping:
                time.sleep(0.5)  # a worker that dies at once must not spin
                children.add(_fork_worker(sock))
        else:
            time.sleep(0.2)
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 15
    while children and time.monotonic() < deadline:
        pid, _status = os.waitpid(-1, os.WNOHANG)
        children.discard(pid)
        if not pid:
            time.sleep(0.1)
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sock.close()


def main() -> None:
    common.parse_args(sys.argv[1:])
    if CONF.api.osapi_compute_workers > 1:
        _supervise(CONF.api.osapi_compute_workers)
    else:
        _serve()
