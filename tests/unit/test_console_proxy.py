"""The console proxies' token and Origin checks (minova/console/websocketproxy.py)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from minova.conf import CONF
from minova.console import websocketproxy as wp

NOVNC = 'http://proxy.example:6080/vnc_auto.html'


@pytest.mark.parametrize('path, cookie, token', [
    ('/?token=abc', None, 'abc'),
    ('/websockify?token=abc%0A', None, 'abc'),
    ('/vnc_auto.html?path=%3Ftoken%3Dxyz', None, 'xyz'),
    ('/', 'token=ck; other=1', 'ck'),
    ('/?token=q', 'token=ck', 'q'),
    ('/', None, None),
    ('/', 'garbage;;;=', None),
])
def test_token_from_query_path_or_cookie(path: str, cookie: str | None,
                                         token: str | None) -> None:
    assert wp._token_of(path, cookie) == token


@pytest.fixture
def allowed() -> Iterator[None]:
    CONF.set_override('allowed_origins', ['console.example'], group='console')
    yield
    CONF.clear_override('allowed_origins', group='console')


@pytest.mark.parametrize('headers, base, problem', [
    ({'Host': 'proxy.example:6080'}, NOVNC, None),                      # no Origin
    ({'Host': 'proxy.example:6080', 'Origin': 'http://proxy.example:6080'}, NOVNC, None),
    ({'Host': 'proxy.example:6080', 'Origin': 'http://console.example'}, NOVNC, None),
    ({'Host': '[::1]:6080', 'Origin': 'http://[::1]:6080'}, NOVNC, None),
    ({'Host': 'proxy.example:6080', 'Origin': 'http://evil.example'}, NOVNC,
     'Origin header does not match this host.'),
    ({'Host': 'proxy.example:6080', 'Origin': 'https://proxy.example'}, NOVNC,
     'Origin header protocol does not match this host.'),
    ({'Host': 'proxy.example:6080', 'Origin': 'http://proxy.example',
      'X-Forwarded-Proto': 'https'}, 'https://proxy.example/vnc_auto.html', None),
    ({'Host': 'proxy.example:6083', 'Origin': 'http://proxy.example'},
     'ws://proxy.example:6083/', None),                     # ws counts as http
    ({'Host': 'proxy.example:6083', 'Origin': 'https://proxy.example'},
     'wss://proxy.example:6083/', None),
    ({'Host': 'proxy.example', 'Origin': 'null'}, NOVNC, 'Origin header not valid.'),
])
def test_origin_check_as_nova(allowed: None, headers: dict[str, str], base: str,
                              problem: str | None) -> None:
    assert wp.origin_problem(headers, base) == problem
