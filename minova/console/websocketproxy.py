"""The console proxies: websockify's proxy request handler, admitting a
websocket only with a valid console token and an acceptable Origin.

minova-novncproxy serves noVNC's files (`[DEFAULT] web`, Debian's
/usr/share/novnc) and proxies `novnc` tokens to the guest's VNC server;
minova-serialproxy proxies `serial` tokens to the guest's TCP serial port.
The token comes in the upgrade request's query (`?token=`, which is where
noVNC puts the `path` parameter of the console URL) or in a `token` cookie,
as Nova's proxy takes it. Unlike stock websockify, a refused connection gets
an HTTP status before any handshake (403 for a bad Origin, 401 for a missing,
unknown, expired or foreign token).

Tokens are looked up in `[database] connection`, the cell database of the
proxy's cell (Nova runs a console proxy per cell), through TokenPlugin, a
websockify token plugin.
"""
from __future__ import annotations

import http.cookies
import logging
import os
import socket
import threading
from http.server import HTTPServer
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlparse

from websockify import token_plugins, websocketproxy, websockifyserver

from minova.conf import CONF
from minova.db import console_auth_tokens, engines

LOG = logging.getLogger(__name__)


class TokenPlugin(token_plugins.BasePlugin):
    """websockify's token plugin interface over the cell database: lookup()
    answers (host, port) of a live token of one of `console_types`."""

    def __init__(self, console_types: tuple[str, ...], db_url: str | None = None) -> None:
        super().__init__(None)
        self.console_types = console_types
        self.db_url = db_url

    def validate(self, token: str) -> console_auth_tokens.ConsoleAuth | None:
        found = console_auth_tokens.validate(self.db_url or engines.cell_url(), token)
        if found is None or found['console_type'] not in self.console_types:
            return None
        return found

    def lookup(self, token: str) -> tuple[str, int] | None:
        found = self.validate(token)
        return None if found is None else (found['host'], found['port'])


def _token_of(path: str, cookie_header: str | None) -> str | None:
    query = parse_qs(urlparse(path).query)
    if query.get('token'):
        return query['token'][0].rstrip('\n')
    if 'path' in query:     # ?path=%3Ftoken%3D... (the console URL itself)
        inner = parse_qs(urlparse(query['path'][0]).query)
        if inner.get('token'):
            return inner['token'][0]
    if cookie_header:
        cookies = http.cookies.SimpleCookie()
        try:
            cookies.load(cookie_header)
        except http.cookies.CookieError:
            return None
        if 'token' in cookies:
            return cookies['token'].value
    return None


def origin_problem(headers: Any, access_url_base: str | None) -> str | None:
    """Nova's Origin check: none (a non-browser client) is fine; else its host
    is the request's Host or one of [console] allowed_origins, and its scheme
    (or X-Forwarded-Proto) matches the console URL's (ws counts as http)."""
    origin_url = headers.get('Origin')
    if origin_url is None:
        return None
    host = headers.get('Host') or ''
    if host.startswith('['):
        host = host[1:].split(']')[0]
    else:
        host = host.split(':')[0]
    expected_hosts = [*CONF.console.allowed_origins, host]
    origin = urlparse(origin_url)
    scheme = headers.get('X-Forwarded-Proto') or origin.scheme
    if not origin.hostname or not scheme:
        return 'Origin header not valid.'
    if origin.hostname not in expected_hosts:
        return 'Origin header does not match this host.'
    expected = [urlparse(access_url_base or '').scheme]
    if 'ws' in expected:
        expected.append('http')
    if 'wss' in expected:
        expected.append('https')
    if scheme not in expected:
        return 'Origin header protocol does not match this host.'
    return None


class ConsoleProxyRequestHandler(websocketproxy.ProxyRequestHandler):
    """Checks the token and the Origin before the websocket handshake, and
    connects to that token's console (per connection: the server's
    target_host/target_port are shared by every thread)."""

    server: ConsoleProxyServer
    target: tuple[str, int]

    def handle_upgrade(self) -> None:
        plugin = self.server.token_plugin
        token = _token_of(self.path, self.headers.get('Cookie'))
        try:
            found = plugin.validate(token) if token else None
        except Exception:   # the database is down or has no schema yet
            LOG.exception('%s: cannot check a console token', self.server.name)
            self.send_error(503, 'Console tokens cannot be checked now')
            return
        if found is None:
            self.log_message('refused: %s', 'no token' if not token else 'invalid token')
            self.send_error(401, 'Invalid token' if token else 'Token not present')
            return
        problem = origin_problem(self.headers, found['access_url_base'])
        if problem:
            self.log_message('refused: %s', problem)
            self.send_error(403, problem)
            return
        self.target = (found['host'], found['port'])
        self.log_message('token for instance %s: connecting to %s:%s',
                         found['instance_uuid'], *self.target)
        # the handshake itself (websockify's; no second token check)
        super(websockifyserver.WebSockifyRequestHandler, self).handle_upgrade()

    def new_websocket_client(self) -> None:
        host, port = self.target
        try:
            tsock = websockifyserver.WebSockifyServer.socket(host, port, connect=True)
        except Exception as e:
            self.log_message('Failed to connect to %s:%s: %s', host, port, e)
            raise self.CClose(1011, 'Failed to connect to downstream server') from None
        tsock.setsockopt(socket.SOL_TCP, socket.TCP_NODELAY, 1)
        try:
            self.do_proxy(tsock)
        finally:
            try:
                tsock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            tsock.close()

    def translate_path(self, path: str) -> str:
        # noVNC's files, from the web directory; Nova's default base URL names
        # vnc_auto.html, which Debian's noVNC has as the full page (that waits
        # for a click): serve the page that connects by itself when there is one.
        self.directory = self.server.web or ''
        if urlparse(path).path == '/vnc_auto.html' and os.path.exists(
                os.path.join(self.directory, 'vnc_lite.html')):
            path = '/vnc_lite.html' + path[len('/vnc_auto.html'):]
        return str(super().translate_path(path))


class ConsoleProxyServer(ThreadingMixIn, HTTPServer):
    """A thread per connection (Nova's proxies fork; threads let the
    all-in-one run a proxy in its own process)."""

    daemon_threads = True
    allow_reuse_address = True
    # what websockify's handler reads from its server
    file_only = True
    heartbeat = None
    verbose = False
    record = ''
    run_once = False
    handler_id = 0
    target_host: str | None = None
    target_port: int | None = None

    def __init__(self, name: str, host: str, port: int, console_types: tuple[str, ...],
                 web: str | None = None, db_url: str | None = None) -> None:
        self.name = name
        self.token_plugin = TokenPlugin(console_types, db_url)
        self.web = web if web and os.path.isdir(web) else None
        self.only_upgrade = self.web is None
        if web and not self.web:
            LOG.warning('%s: web directory %s not found; serving websockets only', name, web)
        super().__init__((host, port), ConsoleProxyRequestHandler)
        self.port = self.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name=self.name,
                                        daemon=True)
        self._thread.start()
        LOG.info('%s listening on %s:%s (web: %s)', self.name, self.server_address[0],
                 self.port, self.web or '-')

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)


def novncproxy(port: int | None = None, db_url: str | None = None) -> ConsoleProxyServer:
    return ConsoleProxyServer(
        'minova-novncproxy', CONF.vnc.novncproxy_host,
        CONF.vnc.novncproxy_port if port is None else port, ('novnc',), CONF.web, db_url)


def serialproxy(port: int | None = None, db_url: str | None = None) -> ConsoleProxyServer:
    return ConsoleProxyServer(
        'minova-serialproxy', CONF.serial_console.serialproxy_host,
        CONF.serial_console.serialproxy_port if port is None else port, ('serial',),
        None, db_url)
