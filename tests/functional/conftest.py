"""The whole system in this process: the all-in-one on SQLite files and the
in-memory transport, driven over real HTTP on ephemeral ports."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from minova import rpc
from minova.cells import lookup
from minova.cmd.all_in_one import AllInOne
from minova.conf import CONF
from minova.db import engines
from minova.service import Service

ADMIN = {'X-Auth-Token': 'admin:admin'}


class Client:
    """A Nova REST client: base URL, token, microversion."""

    def __init__(self, base: str, token: str = 'admin:admin',
                 microversion: str = 'latest') -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update({'X-Auth-Token': token,
                                     'OpenStack-API-Version': f'compute {microversion}'})

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=30, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request('GET', path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request('POST', path, json=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request('PUT', path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request('DELETE', path, **kw)

    def wait_for_status(self, server_id: str, statuses: set[str],
                        timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        server: dict[str, Any] = {}
        while time.monotonic() < deadline:
            r = self.get(f'/servers/{server_id}')
            assert r.status_code == 200, r.text
            server = r.json()['server']
            if server['status'] in statuses:
                return server
            time.sleep(0.05)
        raise AssertionError(f'server {server_id} stuck in {server.get("status")}')

    def wait_gone(self, server_id: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get(f'/servers/{server_id}').status_code == 404:
                return
            time.sleep(0.05)
        raise AssertionError(f'server {server_id} was not deleted')


# Package scope: the all-in-one stops when the functional tests end, so its
# heartbeats cannot write into the databases later tests point CONF at.
@pytest.fixture(scope='package')
def aio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AllInOne]:
    state = tmp_path_factory.mktemp('minova-state')
    CONF.set_override('state_path', str(state))
    CONF.set_override('host', 'aio-host')
    CONF.set_override('report_interval', 1)
    aio = AllInOne(api_port=0, placement_port=0)
    aio.start()
    yield aio
    aio.stop()
    rpc.cleanup()
    engines.dispose_all()
    lookup.reset()
    for opt, group in (('state_path', None), ('host', None), ('report_interval', None),
                       ('endpoint_override', 'placement')):
        CONF.clear_override(opt, group=group)


@pytest.fixture(scope='package')
def api_base(aio: AllInOne) -> str:
    return f'http://127.0.0.1:{aio.api_port}/v2.1'


@pytest.fixture(scope='package')
def placement_base(aio: AllInOne) -> str:
    return f'http://127.0.0.1:{aio.placement_port}'


@pytest.fixture(scope='package')
def admin(api_base: str) -> Client:
    return Client(api_base)


@pytest.fixture(scope='package')
def tiny_flavor(admin: Client) -> dict[str, Any]:
    r = admin.get('/flavors/tiny')
    if r.status_code == 200:
        return r.json()['flavor']
    r = admin.post('/flavors', {'flavor': {'name': 'tiny', 'id': 'tiny', 'vcpus': 1,
                                           'ram': 64, 'disk': 1}})
    assert r.status_code == 200, r.text
    return r.json()['flavor']


def compute_service(aio: AllInOne, host: str) -> Service:
    """The running compute service of `host` (e.g. second_compute's), to stop
    it (aio.remove_compute) and start it again (aio.add_compute(host,
    manager=service.manager))."""
    return next(s for s in aio.services if s.host == host and s.binary == 'minova-compute')


@pytest.fixture(scope='module')
def second_compute(aio: AllInOne, admin: Client, placement_base: str) -> Iterator[str]:
    """A second compute host (fake driver) beside the all-in-one's for the
    tests of one module, for moves between hosts. The module deletes its
    servers on it; afterwards the host and its resource provider are gone,
    so later modules see one host again."""
    host = f'{aio.host}-2'
    aio.add_compute(host)
    headers = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.28'}
    deadline = time.monotonic() + 30
    while True:   # scheduled onto only once its provider has inventory
        rps = requests.get(f'{placement_base}/resource_providers?name={host}',
                           headers=headers, timeout=10).json()['resource_providers']
        if rps and requests.get(
                f"{placement_base}/resource_providers/{rps[0]['uuid']}/inventories",
                headers=headers, timeout=10).json()['inventories']:
            break
        assert time.monotonic() < deadline, f'{host} never reported its inventory'
        time.sleep(0.1)
    try:
        yield host
    finally:
        # (The module may have stopped and started it again: whichever runs now.)
        for running in [s for s in aio.services if s.host == host]:
            aio.remove_compute(running)
        services = admin.get(f'/os-services?host={host}',
                             headers={'OpenStack-API-Version': 'compute 2.53'}).json()
        for service in services['services']:
            admin.delete(f"/os-services/{service['id']}",
                         headers={'OpenStack-API-Version': 'compute 2.53'})
