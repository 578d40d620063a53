"""The scheduler against the real placement app (over HTTP on loopback) and
real SQLite API and cell DBs; compute nodes are rows, not running agents."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from minova.clients.placement import Client
from minova.conf import CONF
from minova.context import RequestContext
from minova.db import engines
from minova.placement import wsgi
from minova.scheduler import manager
from minova.wsgi.server import WSGIServer
from tests import db_templates
from tests.unit.backbone.conftest import dbs, empty_dbs, flags  # noqa: F401 (fixtures)
from tests.unit.backbone.fakes import add_compute


class Cloud:
    """Hosts (service + compute node + resource provider) and the scheduler."""

    def __init__(self, databases: Any, base: str) -> None:
        self.dbs = databases
        self.base = base
        self.ctx = RequestContext(user_id='user1', project_id='proj1', roles=['member'])
        self.client = Client()
        self.sched = manager.SchedulerManager()
        self.nodes: dict[str, dict[str, Any]] = {}

    def placement(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, self.base + path, json=body, timeout=10, headers={
            'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement latest'})

    def add_host(self, name: str, vcpus: int = 8, ram: int = 8192, disk: int = 100,
                 traits: list[str] | None = None, **svc: Any) -> dict[str, Any]:
        node = add_compute(self.dbs.cell, name, self.dbs.cell1['id'], vcpus=vcpus,
                           memory_mb=ram, local_gb=disk, **svc)
        self.client.ensure_resource_provider(self.ctx, node['uuid'], name)
        self.client.set_inventory(self.ctx, node['uuid'], {
            'VCPU': {'total': vcpus}, 'MEMORY_MB': {'total': ram},
            'DISK_GB': {'total': disk}})
        if traits:
            for trait in traits:
                if trait.startswith('CUSTOM_'):
                    assert self.placement('PUT', f'/traits/{trait}').status_code in (201, 204)
            gen = self.placement('GET', f"/resource_providers/{node['uuid']}").json()
            r = self.placement('PUT', f"/resource_providers/{node['uuid']}/traits", {
                'traits': traits, 'resource_provider_generation': gen['generation']})
            assert r.status_code == 200, r.text
        self.nodes[name] = node
        return node

    def usage(self, name: str) -> dict[str, int]:
        r = self.placement('GET', f"/resource_providers/{self.nodes[name]['uuid']}/usages")
        return r.json()['usages']

    def select(self, spec: dict[str, Any], uuids: list[str]) -> list[str]:
        import oslo_messaging as messaging
        try:
            result = self.sched.select_destinations(self.ctx, spec, uuids)
        except messaging.ExpectedException as e:
            raise e.exc_info[1] from None
        return [r[0]['service_host'] for r in result]


@pytest.fixture
def cloud(dbs: Any, tmp_path: Any) -> Iterator[Cloud]:  # noqa: F811
    url = f'sqlite:///{tmp_path}/placement.sqlite'
    CONF.set_override('connection', url, group='placement_database')
    db_templates.migrated('placement_db', url)
    server = WSGIServer('placement', wsgi.make_app(), host='127.0.0.1', port=0)
    server.start()
    base = f'http://127.0.0.1:{server.port}'
    CONF.set_override('endpoint_override', base, group='placement')
    yield Cloud(dbs, base)
    server.stop()
    CONF.clear_override('endpoint_override', group='placement')
    CONF.clear_override('connection', group='placement_database')
    engines.dispose_all()
