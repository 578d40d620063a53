"""Two libvirt hypervisors on this machine for live migration: an all-in-one
(on a RabbitMQ vhost of its own, so another process can join it) with the
first libvirtd, and a second libvirtd with its compute service that
tools/minova-hypervisor brings up in a mount namespace (docs/live-migration.md).
Used by the live-migration tests and bench/libvirt_live_migration.py."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from tests.integration.libvirt.conftest import (
    REPO,
    Cloud,
    _unavailable,
    create_flavor,
    remove_guests,
    start_cloud,
    state_dir,
    stop_cloud,
    upload_image,
)

HYPERVISOR = os.path.join(REPO, 'tools', 'minova-hypervisor')
RABBIT = os.environ.get('MINOVA_TEST_RABBIT', 'rabbit://guest:guest@127.0.0.1:5672')
SOURCE_URI = 'qemu+tcp://127.0.0.1/system'
DEST_URI = 'qemu+tcp://127.0.0.2/system'
# The tool's sshds (cold migration and resize copy over ssh): a port of their
# own, so a system sshd on port 22 does not stand in the way.
SSH_PORT = 16522


@dataclass
class TwoHosts:
    cloud: Cloud
    source: str          # the all-in-one's compute host (first libvirtd)
    dest: str            # the second hypervisor's compute host
    hv_state: str
    image_id: str
    flavor: str


def listening(addr: str, port: int = 16509) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((addr, port)) == 0


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(['rabbitmqctl', '-q', *args], check=True, capture_output=True, timeout=60)


def hypervisors(cloud: Cloud) -> dict[str, dict[str, Any]]:
    hvs = cloud.api('GET', '/os-hypervisors/detail').json()['hypervisors']
    return {hv['hypervisor_hostname']: hv for hv in hvs}


@contextlib.contextmanager
def two_hosts(conn: Any, test_image: str, source_conf: str = '',
              dest_conf_extra: str = '') -> Iterator[TwoHosts]:
    """source_conf, dest_conf_extra: more configuration for each host."""
    for tool in ('unshare', 'nsenter', 'rabbitmqctl', 'virsh', 'ssh', 'ssh-keygen'):
        if not shutil.which(tool):
            _unavailable(f'{tool} is missing')
    if not listening('127.0.0.1'):
        _unavailable('libvirtd has no TCP listener on 127.0.0.1:16509 (start it as '
                     '`libvirtd -d --listen -f /etc/minova/libvirtd-tcp.conf`)')
    if listening('127.0.0.2'):
        _unavailable('something already listens on 127.0.0.2:16509')
    for addr in ('127.0.0.1', '127.0.0.2'):
        if listening(addr, SSH_PORT):
            _unavailable(f'something already listens on {addr}:{SSH_PORT}')
    vhost = f'minova_lm_{uuidlib.uuid4().hex[:8]}'
    _rabbitmqctl('add_vhost', vhost)
    _rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*')
    transport = f'{RABBIT}/{vhost}'
    state = state_dir()
    source = f'lm-{os.getpid()}'
    dest = f'{source}-hv2'
    hv_state = os.path.join(state, 'hv2')
    cloud = None
    try:
        cloud = start_cloud(state, source, extra_conf=f"""
[DEFAULT]
transport_url = {transport}
my_ip = 127.0.0.1
[scheduler]
discover_hosts_in_cells_interval = 1
[libvirt]
live_migration_inbound_addr = 127.0.0.1
""" + source_conf)
        dest_conf = os.path.join(state, 'hv2.conf')
        with open(dest_conf, 'w') as f:
            f.write(f"""[DEFAULT]
host = {dest}
my_ip = 127.0.0.2
transport_url = {transport}
state_path = {hv_state}/compute
instances_path = {state}/instances
instance_name_template = {source}-%08x
compute_driver = libvirt.LibvirtDriver
report_interval = 1
sync_power_state_interval = 2
reserved_host_memory_mb = 0
debug = True
[libvirt]
live_migration_inbound_addr = 127.0.0.2
[placement]
endpoint_override = {cloud.placement}
[glance]
api_servers = {cloud.image}
""" + dest_conf_extra)
        subprocess.run([HYPERVISOR, '--state-dir', hv_state, '--ssh-port', str(SSH_PORT), 'up',
                        '--config-file', dest_conf,
                        '--instances-path', os.path.join(state, 'instances')],
                       check=True, timeout=120)
        deadline = time.monotonic() + 90
        while dest not in hypervisors(cloud):
            assert time.monotonic() < deadline, 'the second compute never showed up'
            time.sleep(0.5)
        yield TwoHosts(cloud, source, dest, hv_state, upload_image(cloud, test_image),
                       create_flavor(cloud))
    finally:
        subprocess.run([HYPERVISOR, '--state-dir', hv_state, 'down'], timeout=120)
        if cloud is not None:
            stop_cloud(cloud)
            remove_guests(conn, cloud)
        subprocess.run(['rabbitmqctl', '-q', 'delete_vhost', vhost], timeout=60)
        shutil.rmtree(state, ignore_errors=True)


def boot(hosts: TwoHosts, name: str) -> str:
    """A test-image guest on the source host, ACTIVE and counting."""
    cloud = hosts.cloud
    r = cloud.api('POST', '/servers', json={'server': {
        'name': name, 'flavorRef': hosts.flavor, 'imageRef': hosts.image_id,
        'networks': 'none', 'host': hosts.source}})
    assert r.status_code == 202, r.text
    uuid = r.json()['server']['id']
    server = cloud.wait(uuid, 'ACTIVE')
    assert server['OS-EXT-SRV-ATTR:host'] == hosts.source
    cloud.wait_console(uuid, 'MINOVA-TICK 2')
    return uuid


def live_migrate(cloud: Cloud, uuid: str, host: str, timeout: float = 180) -> dict[str, Any]:
    """os-migrateLive to host (block_migration auto); the server once ACTIVE there."""
    r = cloud.api('POST', f'/servers/{uuid}/action', json={'os-migrateLive': {
        'host': host, 'block_migration': 'auto'}})
    assert r.status_code == 202, r.text
    server = cloud.wait(uuid, 'ACTIVE', timeout=timeout)   # task_state migrating until done
    if server['OS-EXT-SRV-ATTR:host'] != host:
        migs = cloud.api('GET', f'/os-migrations?instance_uuid={uuid}').json()
        actions = cloud.api('GET', f'/servers/{uuid}/os-instance-actions').json()
        events = [cloud.api('GET', f'/servers/{uuid}/os-instance-actions/{a["request_id"]}'
                            ).json()['instanceAction'].get('events')
                  for a in actions['instanceActions'] if a['action'] == 'live-migration']
        raise AssertionError(f'{uuid} stayed on {server["OS-EXT-SRV-ATTR:host"]}: {migs}\n'
                             f'{events}')
    return server


def allocations(cloud: Cloud, consumer: str) -> dict[str, Any]:
    """Placement's allocations of consumer, by resource provider uuid."""
    r = requests.get(f'{cloud.placement}/allocations/{consumer}', timeout=10,
                     headers={'X-Auth-Token': 'admin',
                              'OpenStack-API-Version': 'placement latest'})
    assert r.status_code == 200, r.text
    return r.json()['allocations']


def in_dest_namespace(hosts: TwoHosts, *cmd: str) -> subprocess.CompletedProcess:
    """cmd run in the second hypervisor's mount namespace (its files)."""
    with open(os.path.join(hosts.hv_state, 'libvirtd.pid')) as f:
        pid = f.read().strip()
    return subprocess.run(['nsenter', '-m', '-t', pid, *cmd], capture_output=True, text=True)
