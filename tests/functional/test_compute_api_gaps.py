"""Compute API behaviours Nova's clients and Tempest rely on, through the whole
system (issue 15): quotas on boot, per-microversion views, the extra routes."""
from __future__ import annotations

from typing import Any

from tests.functional.conftest import Client

IMAGE = '155d900f-4e14-4e4c-a73d-069cbf4541e6'


def _server(**extra: Any) -> dict[str, Any]:
    return {'server': {'name': 'gap', 'flavorRef': 'tiny', 'imageRef': IMAGE,
                       'networks': 'none', **extra}}


def test_metadata_items_quota_on_boot(api_base: str, admin: Client,
                                      tiny_flavor: dict[str, Any]) -> None:
    client = Client(api_base, token='meta:project-meta')
    r = admin.put('/os-quota-sets/project-meta', {'quota_set': {'metadata_items': 2}})
    assert r.status_code == 200, r.text
    r = client.post('/servers', _server(metadata={'a': '1', 'b': '2', 'c': '3'}))
    assert r.status_code == 403, r.text
    assert r.json() == {'forbidden': {
        'code': 403, 'message': 'Maximum number of metadata items exceeds 2'}}
    assert client.get('/servers').json()['servers'] == []
