"""Serving a WSGI app: cheroot's thread pool, or eventlet.wsgi under eventlet.

A request the HTTP server itself refuses before the app sees it (raw
non-ASCII bytes in the request target, an absolute-form or `//` target, `*`)
is answered by the server. With `error_body` those answers carry the app's
own JSON error body (Nova's fault, placement's errors) instead of cheroot's
plain text, so that a client parses every 4xx the same way.
"""
from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from minova.conf import CONF

LOG = logging.getLogger(__name__)
STOP_POLL_SECONDS = 0.05

# (HTTP status, message) -> response body, in the served API's error format.
ErrorBody = Callable[[int, str], bytes]


class _SocketWriter:
    """The connection's write side: each write one sendall of the bytes given.

    cheroot's own (a pure-Python BufferedWriter) copies what is left of a
    write into a new bytes object before each send(), so a large body costs
    a copy per partial send (an 800 KB answer: megabytes copied), and each
    send is a Python-level round that gives up and takes back the GIL.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.bytes_written = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._sock.sendall(data)
        self.bytes_written += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _cheroot_connection_class(error_body: ErrorBody | None) -> Any:
    """cheroot's connection class: bodies sent whole (_SocketWriter) and,
    with `error_body`, its requests' own error answers in JSON."""
    from cheroot import errors, server

    class Request(server.HTTPRequest):
        def simple_response(self, status: Any, msg: Any = '') -> None:
            code = int(str(status)[:3])
            if code < 400 or error_body is None:
                return super().simple_response(status, msg)
            text = msg.decode('latin-1') if isinstance(msg, bytes) else str(msg)
            body = error_body(code, text or str(status)[4:])
            head = [f'{self.server.protocol} {status}', f'Content-Length: {len(body)}',
                    'Content-Type: application/json']
            if code in (413, 414):  # cheroot stops reading such a request: close
                self.close_connection = True
                head.append('Connection: close')
            try:
                self.conn.wfile.write('\r\n'.join([*head, '', '']).encode('latin-1') + body)
            except OSError as ex:
                if ex.args and ex.args[0] not in errors.socket_errors_to_ignore:
                    raise
            return None

    class Connection(server.HTTPConnection):
        RequestHandlerClass = Request

        def __init__(self, srv: Any, sock: Any, makefile: Any = None) -> None:
            super().__init__(srv, sock, *([makefile] if makefile else []))
            if type(sock) is socket.socket:   # not TLS: cheroot's writer is for that
                self.wfile = _SocketWriter(sock)

    return Connection


class WSGIServer:
    """One listening socket serving `app`; start() returns once it listens."""

    def __init__(self, name: str, app: Any, host: str, port: int,
                 threads: int | None = None, sock: socket.socket | None = None,
                 error_body: ErrorBody | None = None) -> None:
        self.name = name
        self.error_body = error_body
        # A listening socket made by a parent process and shared by its
        # pre-forked workers (minova/cmd/api.py); None: bind our own.
        self.sock = sock
        self.app = app
        self.host = host
        self.port = port
        self.threads = threads or CONF.wsgi.default_pool_size
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if CONF.concurrency_backend == 'eventlet':
            self._start_eventlet()
        else:
            self._start_cheroot()
        LOG.info('%s listening on %s:%s', self.name, self.host, self.port)

    def _start_cheroot(self) -> None:
        from cheroot import wsgi
        self._server = wsgi.Server((self.host, self.port), self.app,
                                   numthreads=min(10, self.threads), max=self.threads,
                                   server_name=self.name, request_queue_size=256,
                                   timeout=60)
        # How often the serving loop looks up from its selector; stop() waits
        # for the next look (cheroot's 0.5 s made every stop take that long).
        self._server.expiration_interval = STOP_POLL_SECONDS
        self._server.ConnectionClass = _cheroot_connection_class(self.error_body)
        if self.sock is not None:
            shared = self.sock
            self._server.bind = lambda *_a: setattr(self._server, 'socket', shared)
        self._server.prepare()
        self.port = self._server.bind_addr[1]
        self._thread = threading.Thread(target=self._server.serve, name=self.name,
                                        daemon=True)
        self._thread.start()

    def _start_eventlet(self) -> None:
        import eventlet
        import eventlet.wsgi
        sock = self.sock or eventlet.listen((self.host, self.port), family=socket.AF_INET,
                                            backlog=256)
        self.port = sock.getsockname()[1]
        self._server = sock
        pool = eventlet.GreenPool(self.threads)
        self._thread = threading.Thread(
            target=eventlet.wsgi.server, name=self.name, daemon=True,
            args=(sock, self.app),
            kwargs={'custom_pool': pool, 'log_output': False})
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        if CONF.concurrency_backend == 'eventlet':
            self._server.close()
        else:
            self._server.stop()
        self._server = None

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
