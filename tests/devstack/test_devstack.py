"""A two-cell mini-Nova brought up by minova-deploy on RabbitMQ and MariaDB or
PostgreSQL, driven only through the REST API, minova-manage and minova-status."""
from __future__ import annotations

import re

import pytest

from tests.devstack.harness import Deployment, wait

pytestmark = pytest.mark.integration


def test_deployment_is_ready_and_services_are_up(cloud: Deployment) -> None:
    status = cloud.deploy('status')
    assert 'stopped' not in status.stdout
    check = cloud.status_check()
    assert check.returncode == 0, check.stdout
    assert 'Check: Cells v2' in check.stdout and 'Result: Success' in check.stdout
    cells = cloud.manage('cell_v2', 'list_cells').stdout
    assert re.search(r'\| cell1 .*_cell1 ', cells) and re.search(r'\| cell2 .*_cell2 ', cells)
    wait(lambda: cloud.services() == {'cell1-compute1': 'up', 'cell2-compute1': 'up'},
         30, 'both compute services up')
    listing = cloud.manage('service', 'list').stdout
    for host in ('controller', 'cell1-controller', 'cell2-controller', 'cell1-compute1',
                 'cell2-compute1'):
        assert host in listing


def test_boots_spread_over_hosts_and_cells_then_delete(cloud: Deployment) -> None:
    r = cloud.boot('spread', count=6)
    assert r.status_code == 202, r.text
    servers = cloud.wait_settled()
    assert [s['status'] for s in servers] == ['ACTIVE'] * 6, servers
    hosts = {s['OS-EXT-SRV-ATTR:host'] for s in servers}
    assert hosts == {'cell1-compute1', 'cell2-compute1'}
    for s in servers:  # what an operator reads: host and hypervisor agree
        assert s['OS-EXT-SRV-ATTR:hypervisor_hostname'] == s['OS-EXT-SRV-ATTR:host']
        one = cloud.api('GET', f'/servers/{s["id"]}').json()['server']
        assert one['OS-EXT-SRV-ATTR:host'] == s['OS-EXT-SRV-ATTR:host']
    # One list across both cells, sorted and paged as one.
    page = cloud.api('GET', '/servers?limit=4&sort_key=display_name&sort_dir=asc').json()
    assert len(page['servers']) == 4 and 'servers_links' in page
    wait(lambda: sum(h['running_vms'] for h in cloud.api(
        'GET', '/os-hypervisors/detail', version='2.87').json()['hypervisors']) == 6,
        20, 'os-hypervisors to count the six guests')
    assert cloud.allocation_consumers() == {s['id'] for s in servers}
    cloud.delete_all()


def test_compute_agent_goes_down_and_comes_back(cloud: Deployment) -> None:
    wait(lambda: cloud.services().get('cell2-compute1') == 'up', 30, 'cell2 compute up')
    cloud.deploy('down', 'cell2-compute1')
    wait(lambda: cloud.services().get('cell2-compute1') == 'down', 30,
         'os-services to report the stopped agent down')
    assert cloud.services()['cell1-compute1'] == 'up'
    # With one host down, new servers all land on the other one.
    r = cloud.boot('one-down', count=2)
    assert r.status_code == 202
    servers = cloud.wait_settled()
    assert {s['OS-EXT-SRV-ATTR:host'] for s in servers} == {'cell1-compute1'}
    cloud.deploy('start', 'cell2-compute1')
    wait(lambda: cloud.services().get('cell2-compute1') == 'up', 30, 'agent back up')
    cloud.delete_all()


def test_new_compute_host_is_discovered(cloud: Deployment) -> None:
    host = cloud.deploy('add-compute', '--cell', 'cell2').stdout.strip().splitlines()[-1]
    assert host == 'cell2-compute2'
    wait(lambda: cloud.services().get(host) == 'up', 60, 'the new agent to report')
    check = wait(lambda: (r := cloud.status_check()).returncode == 1 and r, 30,
                 'minova-status to warn about the unmapped host')
    # The check's text, unwrapped from the table it is printed in.
    text = ' '.join(' '.join(line.strip(' |') for line in check.stdout.splitlines()).split())
    assert '1 compute node(s) not mapped to a cell: cell2-compute2.' in text, check.stdout
    out = cloud.manage('cell_v2', 'discover_hosts', '--verbose').stdout
    assert f"Creating host mapping for compute host '{host}'" in out
    assert cloud.status_check().returncode == 0
    hyps = {h['hypervisor_hostname'] for h in
            cloud.api('GET', '/os-hypervisors').json()['hypervisors']}
    assert host in hyps
    r = cloud.boot('on-new', availability_zone=f'nova:{host}')
    assert r.status_code == 202, r.text
    [server] = cloud.wait_settled()
    assert server['status'] == 'ACTIVE' and server['OS-EXT-SRV-ATTR:host'] == host
    cloud.delete_all()


def test_quota_limits_servers_across_cells(cloud: Deployment) -> None:
    r = cloud.api('PUT', '/os-quota-sets/demo', {'quota_set': {'instances': 3}})
    assert r.status_code == 200, r.text
    token = 'alice:demo'
    assert cloud.boot('q', count=2, token=token).status_code == 202
    cloud.wait_settled()
    assert cloud.boot('q-3', token=token).status_code == 202
    r = cloud.boot('q-4', token=token)
    assert r.status_code == 403, r.text
    assert 'Quota exceeded for instances' in r.json()['forbidden']['message']
    mine = cloud.api('GET', '/servers', token=token).json()['servers']
    assert len(mine) == 3
    cloud.wait_settled()
    used = cloud.api('GET', '/limits', token=token).json()['limits']['absolute']
    assert used['totalInstancesUsed'] == 3
    cloud.delete_all()
