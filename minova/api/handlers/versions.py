"""GET / (all API versions), GET /v2.1 and GET /v2 (one version's document).

/v2 is Nova's legacy v2.0 endpoint; mini-Nova serves only its version
document (the one its version list links to), not the legacy API below it."""
from __future__ import annotations

from typing import Any

import falcon

from minova.api import microversion

_UPDATED = '2013-07-23T11:33:21Z'
_V20_UPDATED = '2025-07-04T12:00:00Z'
_MEDIA_TYPES = [{'base': 'application/json',
                 'type': 'application/vnd.openstack.compute+json;version=2.1'}]
_V20_MEDIA_TYPES = [{'base': 'application/json',
                     'type': 'application/vnd.openstack.compute+json;version=2'}]
_DOCS = 'http://docs.openstack.org/'
V2 = '/v2'


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
        doc['links'].append({'rel': 'describedby', 'type': 'text/html', 'href': _DOCS})
        doc['media-types'] = _MEDIA_TYPES
    return doc


def _v20(base: str, detailed: bool) -> dict[str, Any]:
    """The legacy v2 API as Nova lists it (deprecated)."""
    doc: dict[str, Any] = {
        'id': 'v2.0', 'status': 'DEPRECATED', 'version': '', 'min_version': '',
        'updated': _V20_UPDATED, 'links': [{'rel': 'self', 'href': f'{base}/v2/'}]}
    if detailed:
        doc['links'].append({'rel': 'describedby', 'type': 'text/html', 'href': _DOCS})
        doc['media-types'] = _V20_MEDIA_TYPES
    return doc


class Root:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        base = req.prefix.rstrip('/')
        resp.media = {'versions': [_v20(base, detailed=False), _v21(base, detailed=False)]}


class V21:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {'version': _v21(req.prefix.rstrip('/'), detailed=True)}



class V20:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {'version': _v20(req.prefix.rstrip('/'), detailed=True)}
