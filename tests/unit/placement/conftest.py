"""A placement app on a fresh SQLite DB per test, driven through falcon.testing."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from minova.conf import CONF
from minova.db import engines
from minova.placement import policies, wsgi
from tests import db_templates
from tests.falcon_client import ServiceClient


class Client(ServiceClient):
    """falcon.testing client that speaks placement: token + microversion."""

    service = 'placement'

    def __init__(self, app: Any, version: str | None = '1.31', token: str | None = 'admin'):
        super().__init__(app, token, version)

    # helpers building the usual fixtures through the API itself
    def make_rp(self, name: str | None = None, parent: str | None = None,
                inventory: dict[str, dict] | None = None) -> str:
        rp_uuid = str(uuid.uuid4())
        body: dict[str, Any] = {'name': name or rp_uuid, 'uuid': rp_uuid}
        if parent:
            body['parent_provider_uuid'] = parent
        r = self.post('/resource_providers', body, version='1.20')
        assert r.status_code == 200, r.text
        if inventory:
            r = self.put(f'/resource_providers/{rp_uuid}/inventories',
                         {'resource_provider_generation': 0, 'inventories': inventory})
            assert r.status_code == 200, r.text
        return rp_uuid

    def allocate(self, consumer: str, allocs: dict[str, dict[str, int]],
                 generation: int | None = None, project: str = 'p1',
                 user: str = 'u1') -> falcon.testing.Result:
        return self.put(f'/allocations/{consumer}', {
            'allocations': {rp: {'resources': res} for rp, res in allocs.items()},
            'project_id': project, 'user_id': user, 'consumer_generation': generation,
        }, version='1.28')


COMPUTE_INV = {
    'VCPU': {'total': 4, 'allocation_ratio': 2.0},
    'MEMORY_MB': {'total': 2048, 'reserved': 512},
    'DISK_GB': {'total': 100},
}


@pytest.fixture
def db_url(tmp_path: Any) -> Iterator[str]:
    url = f'sqlite:///{tmp_path}/placement.sqlite'
    CONF.set_override('connection', url, group='placement_database')
    db_templates.migrated('placement_db', url)
    yield url
    engines.dispose_all()
    policies.reset()
    CONF.clear_override('connection', group='placement_database')


@pytest.fixture
def app(db_url: str) -> falcon.App:
    return wsgi.make_app()


@pytest.fixture
def client(app: falcon.App) -> Client:
    return Client(app)
