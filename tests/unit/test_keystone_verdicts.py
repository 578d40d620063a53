"""wrap_keystone remembers auth_token's verdict on a token, within its bounds.

auth_token is replaced by a stand-in that confirms the token 'good' (and
the service token 'svc') and refuses anything else, counting the requests
it sees; the real one is exercised in tests/integration/keystone.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from keystonemiddleware import auth_token

from minova.conf import CONF
from minova.conf import api as api_conf
from minova.wsgi import keystone

seen: list[dict[str, Any]] = []


class _Ref:
    def __init__(self, expires_in: float) -> None:
        self.expires = datetime.datetime.now(datetime.UTC) + \
            datetime.timedelta(seconds=expires_in)


class _TokenAuth:
    def __init__(self, user: _Ref, service: _Ref | None) -> None:
        self.user, self.service = user, service


class FakeAuthProtocol:
    """auth_token's contract: strip identity headers, confirm or answer 401."""

    calls = 0
    expires_in = 3600.0

    def __init__(self, app: Callable[..., Any], conf: dict[str, Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        type(self).calls += 1
        for key in [k for k in environ if k.startswith('HTTP_X_') and k != 'HTTP_X_AUTH_TOKEN'
                    and k != 'HTTP_X_SERVICE_TOKEN']:
            del environ[key]
        service = environ.get('HTTP_X_SERVICE_TOKEN')
        if environ.get('HTTP_X_AUTH_TOKEN') not in ('good', 'good2') \
                or service not in (None, 'svc'):
            start_response('401 Unauthorized', [])
            return [b'']
        environ.update({'HTTP_X_IDENTITY_STATUS': 'Confirmed', 'HTTP_X_USER_ID': 'u-1',
                        'HTTP_X_PROJECT_ID': 'p-1', 'HTTP_X_ROLES': 'member'})
        if service:
            environ['HTTP_X_SERVICE_IDENTITY_STATUS'] = 'Confirmed'
        environ['keystone.token_auth'] = _TokenAuth(
            _Ref(self.expires_in), _Ref(self.expires_in) if service else None)
        return self.app(environ, start_response)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    seen.append({k: v for k, v in environ.items() if k.startswith('HTTP_X_')})
    start_response('200 OK', [])
    return [b'ok']


@pytest.fixture
def wrapped(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    api_conf.register_authtoken_opts(CONF)
    monkeypatch.setattr(auth_token, 'AuthProtocol', FakeAuthProtocol)
    monkeypatch.setattr(FakeAuthProtocol, 'calls', 0)
    seen.clear()

    def make(cache_time: int = 300) -> Callable[..., str]:
        CONF.set_override('token_cache_time', cache_time, group='keystone_authtoken')
        wsgi = keystone.wrap_keystone(app, CONF, ['/'])

        def call(**headers: str) -> str:
            status: list[str] = []
            environ = {'PATH_INFO': '/servers', 'REQUEST_METHOD': 'GET'}
            environ.update({'HTTP_' + k.upper(): v for k, v in headers.items()})
            wsgi(environ, lambda s, h: status.append(s))
            return status[0]
        return call

    yield make
    CONF.clear_override('token_cache_time', group='keystone_authtoken')


def test_a_confirmed_token_is_checked_by_auth_token_once(wrapped: Any) -> None:
    call = wrapped()
    assert call(x_auth_token='good') == '200 OK'
    # Later requests get the remembered identity, not the one they claim.
    assert call(x_auth_token='good', x_roles='admin', x_project_id='p-2',
                x_identity_status='Confirmed', x_is_admin_project='True') == '200 OK'
    assert FakeAuthProtocol.calls == 1
    assert seen[1]['HTTP_X_ROLES'] == 'member' and seen[1]['HTTP_X_PROJECT_ID'] == 'p-1'
    assert 'HTTP_X_IS_ADMIN_PROJECT' not in seen[1]


def test_refused_tokens_always_reach_auth_token(wrapped: Any) -> None:
    call = wrapped()
    assert call(x_auth_token='good') == '200 OK'
    for _ in range(2):
        assert call(x_auth_token='bad', x_roles='admin') == '401 Unauthorized'
        assert call() == '401 Unauthorized'
        # A known user token beside a bad service token is another pair.
        assert call(x_auth_token='good', x_service_token='forged') == '401 Unauthorized'
    assert FakeAuthProtocol.calls == 7
    assert call(x_auth_token='good', x_service_token='svc') == '200 OK'
    assert call(x_auth_token='good', x_service_token='svc') == '200 OK'
    assert FakeAuthProtocol.calls == 8
    assert seen[-1]['HTTP_X_SERVICE_IDENTITY_STATUS'] == 'Confirmed'


def test_verdicts_last_no_longer_than_cache_time_or_token(wrapped: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    call = wrapped(cache_time=-1)          # auth_token caches nothing: neither do we
    call(x_auth_token='good')
    call(x_auth_token='good')
    assert FakeAuthProtocol.calls == 2

    call = wrapped(cache_time=300)
    monkeypatch.setattr(FakeAuthProtocol, 'expires_in', 0.0)   # expires now
    call(x_auth_token='good')
    call(x_auth_token='good')
    assert FakeAuthProtocol.calls == 4

    monkeypatch.setattr(FakeAuthProtocol, 'expires_in', 3600.0)
    call(x_auth_token='good')
    now = keystone.time.time()
    monkeypatch.setattr(keystone.time, 'time', lambda: now + 301)
    call(x_auth_token='good')              # past token_cache_time: asked again
    assert FakeAuthProtocol.calls == 6


def test_a_full_table_keeps_only_current_verdicts(wrapped: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keystone, 'MAX_TOKENS', 2)
    call = wrapped()
    call(x_auth_token='good')
    call(x_auth_token='good', x_service_token='svc')
    call(x_auth_token='good', x_service_token='svc')
    assert FakeAuthProtocol.calls == 2
    call(x_auth_token='good2')         # the table is full and nothing expired: emptied
    assert FakeAuthProtocol.calls == 3
    call(x_auth_token='good2')
    call(x_auth_token='good')
    assert FakeAuthProtocol.calls == 4
