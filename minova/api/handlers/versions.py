"""GET / (all API versions) and GET /v2.1 (the v2.1 version document)."""
from __future__ import annotations

from typing import Any

import falcon

from minova.api import microversion

_UPDATED = '2013-07-23T11:33:21Z'
_V20_UPDATED = '2025-07-04T12:00:00Z'
_MEDIA_TYPES = [{'base': 'application/json',
                 'type': 'application/vnd.openstack.compute+json;version=2.1'}]


def _v21(base: str, detailed: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        'id': 'v2.1',
        'status': 'CURRENT',
        'version': microversion.MAX_VERSION,
        'min_version': microversion.MIN_VERSION,
        'updated': _UPDATED,
        'links': [{'rel': 'self', 'href': f'{base}/v2.1/'}],
    }
    if detailed:
        doc['links'].append({'rel': 'describedby', 'type': 'text/html',
                             'href': 'https://docs.openstack.org/'})
        doc['media-types'] = _MEDIA_TYPES
    return doc


def _v20(base: str) -> dict[str, Any]:
    """The legacy v2 API as Nova lists it (deprecated; mini-Nova does not serve /v2)."""
    return {'id': 'v2.0', 'status': 'DEPRECATED', 'version': '', 'min_version': '',
            'updated': _V20_UPDATED, 'links': [{'rel': 'self', 'href': f'{base}/v2/'}]}


class Root:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        base = req.prefix.rstrip('/')
        resp.media = {'versions': [_v20(base), _v21(base, detailed=False)]}


class V21:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {'version': _v21(req.prefix.rstrip('/'), detailed=True)}

