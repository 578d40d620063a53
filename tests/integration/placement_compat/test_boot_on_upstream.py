"""mini-Nova's scheduler and compute agent on upstream OpenStack Placement:
an all-in-one process whose [placement] endpoint_override points at upstream
placement (so it starts none of its own) boots, places and deletes servers,
and its host aggregates are mirrored into upstream's placement aggregates."""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from minova.image.builtin import TINY_IMAGE_ID
from tests.integration.placement_compat import upstream

IMAGE = TINY_IMAGE_ID   # the all-in-one's built-in image (minova-tiny)
HOST = 'compat-host'


class Nova:
    def __init__(self, base: str) -> None:
        self.base = base
        self.s = requests.Session()
        self.s.headers.update({'X-Auth-Token': 'admin:admin',
                               'OpenStack-API-Version': 'compute latest'})

    def __call__(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.s.request(method, self.base + path, json=body, timeout=60)

    def wait(self, sid: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self('GET', f'/servers/{sid}').json()['server']
            if server['status'] in ('ACTIVE', 'ERROR'):
                return server
            time.sleep(0.2)
        raise AssertionError(f'{sid} still building')

    def wait_gone(self, sid: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self('GET', f'/servers/{sid}').status_code != 404:
            assert time.monotonic() < deadline, f'{sid} not deleted'
            time.sleep(0.2)


@pytest.fixture(scope='module')
def nova(upstream_placement: Any, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Nova]:
    state = tmp_path_factory.mktemp('compat-aio')
    port = upstream.free_port()
    conf = Path(state) / 'minova.conf'
    conf.write_text(
        f'[DEFAULT]\nstate_path = {state}\nhost = {HOST}\nreport_interval = 2\n'
        f'[api]\nosapi_compute_listen = 127.0.0.1\nosapi_compute_listen_port = {port}\n'
        f'[image_api]\nbind_host = 127.0.0.1\nbind_port = {upstream.free_port()}\n'
        f'[placement]\nendpoint_override = {upstream_placement.base}\n')
    log = open(Path(state) / 'aio.log', 'wb')  # noqa: SIM115 (lives with the process)
    proc = subprocess.Popen(
        [sys.executable, '-c', 'from minova.cmd.all_in_one import main; main()',
         '--config-file', str(conf)], stdout=log, stderr=subprocess.STDOUT)
    client = Nova(f'http://127.0.0.1:{port}/v2.1')
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (Path(state) / 'aio.log').read_text()[-3000:]
            try:
                if client('GET', '/flavors').status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, 'the all-in-one did not start'
            time.sleep(0.3)
        yield client
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _placement(up: Any, path: str, version: str = '1.28') -> Any:
    r = requests.get(up.base + path, timeout=30, headers={
        'X-Auth-Token': 'admin', 'OpenStack-API-Version': f'placement {version}'})
    assert r.status_code == 200, r.text
    return r.json()


def _boot(nova: Nova, name: str, **extra: Any) -> requests.Response:
    hints = extra.pop('hints', None)
    body: dict[str, Any] = {'server': {'name': name, 'flavorRef': 'compat', 'imageRef': IMAGE,
                                       'networks': 'none', **extra}}
    if hints:
        body['os:scheduler_hints'] = hints
    return nova('POST', '/servers', body)


def test_boot_place_and_delete_on_upstream_placement(nova: Nova, upstream_placement: Any
                                                     ) -> None:
    up = upstream_placement
    # The compute agent registered its node, with inventory, in upstream placement.
    rps = _placement(up, f'/resource_providers?name={HOST}')['resource_providers']
    assert len(rps) == 1
    rp = rps[0]['uuid']
    inv = _placement(up, f'/resource_providers/{rp}/inventories')['inventories']
    assert {'VCPU', 'MEMORY_MB', 'DISK_GB'} <= set(inv)
    assert nova('POST', '/flavors', {'flavor': {'name': 'compat', 'id': 'compat', 'vcpus': 1,
                                                'ram': 128, 'disk': 1}}).status_code == 200
    r = _boot(nova, 'up', min_count=3, max_count=3, return_reservation_id=True)
    assert r.status_code == 202, r.text
    servers = nova('GET', f"/servers?reservation_id={r.json()['reservation_id']}"
                   ).json()['servers']
    assert len(servers) == 3
    for s in servers:
        done = nova.wait(s['id'])
        assert done['status'] == 'ACTIVE', done.get('fault')
        allocs = _placement(up, f"/allocations/{s['id']}")
        assert allocs['allocations'][rp]['resources'] == {'VCPU': 1, 'MEMORY_MB': 128,
                                                          'DISK_GB': 1}
        assert allocs['project_id'] == 'admin'
    usages = _placement(up, f'/resource_providers/{rp}/usages')['usages']
    assert usages['VCPU'] == 3 and usages['MEMORY_MB'] == 384
    for s in servers:
        assert nova('DELETE', f"/servers/{s['id']}").status_code == 204
    for s in servers:
        nova.wait_gone(s['id'])
        assert _placement(up, f"/allocations/{s['id']}")['allocations'] == {}
    usages = _placement(up, f'/resource_providers/{rp}/usages')['usages']
    assert usages['VCPU'] == 0


def test_aggregates_zones_and_groups_on_upstream_placement(nova: Nova, upstream_placement: Any
                                                           ) -> None:
    up = upstream_placement
    rp = _placement(up, f'/resource_providers?name={HOST}')['resource_providers'][0]['uuid']
    if nova('GET', '/flavors/compat').status_code == 404:
        nova('POST', '/flavors', {'flavor': {'name': 'compat', 'id': 'compat', 'vcpus': 1,
                                             'ram': 128, 'disk': 1}})
    agg = nova('POST', '/os-aggregates', {'aggregate': {
        'name': 'compat-az', 'availability_zone': 'compat-zone'}}).json()['aggregate']
    r = nova('POST', f"/os-aggregates/{agg['id']}/action", {'add_host': {'host': HOST}})
    assert r.status_code == 200, r.text
    # mirrored into upstream placement: the scheduler asks member_of for the zone
    assert _placement(up, f'/resource_providers/{rp}/aggregates', '1.19')['aggregates'] == \
        [agg['uuid']]
    group = nova('POST', '/os-server-groups', {'server_group': {
        'name': 'apart', 'policy': 'anti-affinity'}}).json()['server_group']
    first = _boot(nova, 'zoned', availability_zone='compat-zone',
                  hints={'group': group['id']}).json()['server']['id']
    server = nova.wait(first)
    assert server['status'] == 'ACTIVE', server.get('fault')
    assert server['OS-EXT-AZ:availability_zone'] == 'compat-zone'
    second = _boot(nova, 'zoned-2', hints={'group': group['id']}).json()['server']['id']
    failed = nova.wait(second)
    assert failed['status'] == 'ERROR'
    assert 'No valid host was found' in failed['fault']['message']
    assert _placement(up, f'/allocations/{second}')['allocations'] == {}
    for sid in (first, second):
        nova('DELETE', f'/servers/{sid}')
        nova.wait_gone(sid)
    assert nova('POST', f"/os-aggregates/{agg['id']}/action",
                {'remove_host': {'host': HOST}}).status_code == 200
    assert _placement(up, f'/resource_providers/{rp}/aggregates', '1.19')['aggregates'] == []
