"""CatalogAdapter: the catalog is searched once per token, not per request.

Two loopback HTTP servers stand for a service's endpoint before and after
the catalog changed; a stand-in auth plugin names one of them and counts
how often its catalog is searched.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from keystoneauth1 import plugin as ks_plugin
from keystoneauth1 import session as ks_session

from minova.clients import base


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.server.server_address[1].to_bytes(4, 'big')
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[list[str]]:
    started = [ThreadingHTTPServer(('127.0.0.1', 0), _Handler) for _ in range(2)]
    for server in started:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f'http://127.0.0.1:{s.server_address[1]}' for s in started]
    for server in started:
        server.shutdown()
        server.server_close()


class _Plugin(ks_plugin.BaseAuthPlugin):
    """A token (auth_ref) and a catalog naming `url`; re-authenticating makes a new ref."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.auth_ref: object | None = None
        self.lookups = 0

    def get_token(self, session: Any, **kwargs: Any) -> str:
        if self.auth_ref is None:
            self.auth_ref = object()
        return 'token'

    def get_endpoint(self, session: Any, **kwargs: Any) -> str:
        assert kwargs.get('service_type') == 'placement'
        self.get_token(session)
        self.lookups += 1
        return self.url


def _port(resp: Any) -> int:
    return int.from_bytes(resp.content, 'big')


def test_endpoint_found_once_per_token(servers: list[str]) -> None:
    plugin = _Plugin(servers[0])
    adapter = base.CatalogAdapter(ks_session.Session(auth=plugin), service_type='placement')
    for _ in range(5):
        assert _port(adapter.get('/x')) == int(servers[0].rsplit(':', 1)[1])
    assert plugin.lookups == 1
    # A new token (its catalog names another endpoint): looked up again.
    plugin.url, plugin.auth_ref = servers[1], object()
    for _ in range(3):
        assert _port(adapter.get('/x')) == int(servers[1].rsplit(':', 1)[1])
    assert plugin.lookups == 2


def test_endpoint_override_still_wins(servers: list[str]) -> None:
    plugin = _Plugin(servers[0])
    adapter = base.CatalogAdapter(ks_session.Session(auth=plugin), service_type='placement',
                                  endpoint_override=servers[1])
    assert _port(adapter.get('/x')) == int(servers[1].rsplit(':', 1)[1])
    assert plugin.lookups == 0
