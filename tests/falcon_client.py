"""A falcon.testing client that sends a token and a service's microversion."""
from __future__ import annotations

from typing import Any

import falcon.testing


class ServiceClient:
    """Subclasses set `service` ('compute', 'placement') and may rewrite paths."""

    service = ''

    def __init__(self, app: Any, token: str | None, version: str | None) -> None:
        self.sim = falcon.testing.TestClient(app)
        self.token = token
        self.version = version

    def path(self, path: str) -> str:
        return path

    def request(self, method: str, path: str, json: Any = None, version: str | None = None,
                token: str | None = None, headers: dict[str, str] | None = None,
                **kw: Any) -> falcon.testing.Result:
        hdrs = dict(headers or {})
        tok = token if token is not None else self.token
        if tok:
            hdrs['X-Auth-Token'] = tok
        ver = version if version is not None else self.version
        if ver:
            hdrs.setdefault('OpenStack-API-Version', f'{self.service} {ver}')
        return self.sim.simulate_request(method, self.path(path), json=json, headers=hdrs,
                                         **kw)

    def get(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.request('GET', path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> falcon.testing.Result:
        return self.request('POST', path, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> falcon.testing.Result:
        return self.request('PUT', path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.request('DELETE', path, **kw)
