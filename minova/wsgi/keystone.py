"""Putting a WSGI app behind Keystone (keystonemiddleware's auth_token).

Shared by the compute API, placement and the image service: each keeps its
version documents public, as their upstream paste pipelines do, and
everything else needs a token Keystone confirms.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def wrap_keystone(app: Callable[..., Any], conf: Any,
                  public_paths: Iterable[str]) -> Callable[..., Any]:
    """`app` behind auth_token (configured from [keystone_authtoken]), except
    for `public_paths`."""
    from keystonemiddleware import auth_token

    from minova.conf import api as api_conf

    api_conf.register_authtoken_opts(conf)
    protected = auth_token.AuthProtocol(app, {'oslo_config_config': conf})
    public = frozenset(public_paths)

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (environ.get('PATH_INFO') or '/') in public:
            return app(environ, start_response)
        return protected(environ, start_response)

    return dispatch
