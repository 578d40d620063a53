"""Putting a WSGI app behind Keystone (keystonemiddleware's auth_token).

Shared by the compute API, placement and the image service: each keeps its
version documents public, as their upstream paste pipelines do, and
everything else needs a token Keystone confirms.

auth_token validates a token with Keystone once and then keeps the answer
in its token cache (memcached with `memcached_servers`, else in-process)
for `token_cache_time` seconds. Even answered from that cache, it costs
about a quarter of a millisecond of CPU per request (stripping and setting
some thirty headers through webob, decoding the cached token, parsing its
expiry twice), which with the several requests a boot makes (the client's
polls, the scheduler's and compute's placement calls, the image check) is a
tenth of a boot's CPU. So the headers it set for a confirmed token are also
remembered here, per process, for no longer than auth_token's own cache
keeps the token (and never past the token's expiry): a request with the
same token then gets them without the round through auth_token. Anything
else (no token, a token not seen, one auth_token refused, `token_cache_time
= -1`) goes through auth_token as before.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

# Remembered verdicts per process, at most: each holds the token's data (its
# catalog too), some kilobytes. A full table drops its expired verdicts, else
# is emptied: the next request of each token goes through auth_token (and
# its own cache) again.
MAX_TOKENS = 2000
# What auth_token leaves in the environ besides its headers.
_ENVIRON_KEYS = ('keystone.token_info', 'keystone.token_auth')
# When the request reached auth_token: a verdict lasts token_cache_time from then.
_STARTED = 'minova.auth_token_started'


class _Verdict(NamedTuple):
    until: float                 # time.time() after which auth_token must look again
    environ: dict[str, Any]      # what auth_token set in the environ


def _environ_key(header: str) -> str:
    return 'HTTP_' + header.upper().replace('-', '_')


def _auth_environ_keys() -> tuple[str, ...]:
    """The environ keys of the headers auth_token strips and sets."""
    from keystonemiddleware.auth_token import _request
    headers = _request._AuthTokenRequest.blank('/')._all_auth_headers()
    return tuple(sorted({_environ_key(h) for h in headers}))


class _TokenVerdicts:
    """(user token, service token) -> the environ auth_token produced for them."""

    def __init__(self, seconds: float, auth_keys: tuple[str, ...]) -> None:
        self.seconds = seconds
        self.auth_keys = auth_keys
        self.verdicts: dict[tuple[str, str | None], _Verdict] = {}

    def apply(self, key: tuple[str, str | None], environ: dict[str, Any]) -> bool:
        """Give environ the remembered verdict on key's tokens, if any is current."""
        verdict = self.verdicts.get(key)
        if verdict is None:
            return False
        if time.time() >= verdict.until:
            self.verdicts.pop(key, None)
            return False
        for name in self.auth_keys:        # whatever the caller sent as identity
            environ.pop(name, None)
        environ.update(verdict.environ)
        return True

    def remember(self, key: tuple[str, str | None], environ: dict[str, Any],
                 started: float) -> None:
        """Keep what auth_token set for a request it confirmed (`started` at)."""
        if environ.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed':
            return
        if key[1] is not None and environ.get('HTTP_X_SERVICE_IDENTITY_STATUS') != 'Confirmed':
            return
        auth = environ.get('keystone.token_auth')
        expiries = [ref.expires.timestamp() for ref in
                    (getattr(auth, 'user', None), getattr(auth, 'service', None))
                    if ref is not None and ref.expires is not None]
        if auth is None or getattr(auth, 'user', None) is None:
            return
        until = min([started + self.seconds, *expiries])
        kept = {name: environ[name] for name in self.auth_keys if name in environ}
        kept.update({name: environ[name] for name in _ENVIRON_KEYS if name in environ})
        if len(self.verdicts) >= MAX_TOKENS:
            now = time.time()
            self.verdicts = {k: v for k, v in self.verdicts.items() if v.until > now}
            if len(self.verdicts) >= MAX_TOKENS:
                self.verdicts = {}
        self.verdicts[key] = _Verdict(until, kept)


def wrap_keystone(app: Callable[..., Any], conf: Any,
                  public_paths: Iterable[str]) -> Callable[..., Any]:
    """`app` behind auth_token (configured from [keystone_authtoken]), except
    for `public_paths`."""
    from keystonemiddleware import auth_token

    from minova.conf import api as api_conf

    api_conf.register_authtoken_opts(conf)
    public = frozenset(public_paths)
    cache_time = conf.keystone_authtoken.token_cache_time
    verdicts = _TokenVerdicts(cache_time, _auth_environ_keys()) if cache_time > 0 else None

    def confirmed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # auth_token let the request through: remember its verdict.
        if verdicts is not None:
            token = environ.get('HTTP_X_AUTH_TOKEN')
            if token:
                verdicts.remember((token, environ.get('HTTP_X_SERVICE_TOKEN')), environ,
                                  environ.get(_STARTED, 0.0))
        return app(environ, start_response)

    protected = auth_token.AuthProtocol(confirmed, {'oslo_config_config': conf})

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (environ.get('PATH_INFO') or '/') in public:
            return app(environ, start_response)
        token = environ.get('HTTP_X_AUTH_TOKEN')
        if verdicts is not None and token:
            if verdicts.apply((token, environ.get('HTTP_X_SERVICE_TOKEN')), environ):
                return app(environ, start_response)
            environ[_STARTED] = time.time()
        return protected(environ, start_response)

    return dispatch
