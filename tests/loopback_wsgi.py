"""A WSGI app served on an ephemeral loopback port in a thread: the fakes of
mini-Nova's peers (Neutron, Cinder) answer its real HTTP clients this way."""
from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable
from typing import Any
from wsgiref import simple_server


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _Quiet(simple_server.WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def serve(app: Callable[..., Any]) -> tuple[int, Callable[[], None]]:
    """(port, stop) of app served on 127.0.0.1."""
    httpd = simple_server.make_server('127.0.0.1', 0, app, server_class=_Server,
                                      handler_class=_Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
    return httpd.server_port, stop
