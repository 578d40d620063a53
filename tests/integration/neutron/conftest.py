"""A real Neutron (ML2/OVN) for the session: tools/minova-neutron brings up
OVS (userspace datapath), OVN and the Neutron API once and takes them down at
the end.

There is one OVS per machine (libvirt's ovs-vsctl calls use its default
socket), so a run holds LOCK for the whole session and concurrent runs wait
their turn. Outside CI a missing piece (packages, Neutron's venv, root,
MariaDB) skips the tier; under CI (CI=true) it fails instead.

`neutron.host` is the OVN chassis name: a mini-Nova compute started for these
tests must use it as its `host`, and listen on `neutron.nova_port`, where
Neutron posts its os-server-external-events (`neutron.nova_url`). Neutron's
OVN metadata agent runs too, towards `http://127.0.0.1:<neutron.metadata_port>`
signing with `neutron.metadata_secret`: a mini-Nova metadata service started
there with that secret answers the guests' 169.254.169.254.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.integration.libvirt import conftest as libvirt_tier

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TOOL = os.path.join(REPO, 'tools', 'minova-neutron')
VENV = os.environ.get('MINOVA_NEUTRON_VENV', '/tmp/minova-neutron-venv')
LOCK = '/var/tmp/minova-neutron.lock'
# The last run's logs are kept here (the state dirs go at the end of a run).
LOGS = '/var/tmp/minova-neutron-logs'
# Neutron under noauth takes the project from the request body.
PROJECT = 'minova-neutron-tests'


def _unavailable(reason: str) -> None:
    libvirt_tier._unavailable(reason, tier='neutron')


@dataclass
class Neutron:
    """The running stack, with the few REST calls the tests need."""

    url: str
    host: str
    nova_port: int
    state: str
    info: dict[str, Any]
    project: str = PROJECT
    metadata_port: int = 0      # where the OVN metadata agent sends guests' requests
    metadata_secret: str = ''   # its metadata_proxy_shared_secret
    made: list[tuple[str, str]] = field(default_factory=list)

    @property
    def nova_url(self) -> str:
        return f'http://127.0.0.1:{self.nova_port}/v2.1'

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(method, self.url + '/v2.0' + path, timeout=60, **kw)

    def _create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault('project_id', self.project)
        r = self.api('POST', f'/{kind}s', json={kind: body})
        assert r.status_code == 201, r.text
        made = r.json()[kind]
        self.made.append((kind, made['id']))
        return made

    def create_network(self, name: str, **attrs: Any) -> dict[str, Any]:
        return self._create('network', dict(attrs, name=name))

    def create_subnet(self, network_id: str, cidr: str, **attrs: Any) -> dict[str, Any]:
        return self._create('subnet', dict(attrs, network_id=network_id, cidr=cidr,
                                           ip_version=4))

    def create_port(self, network_id: str, **attrs: Any) -> dict[str, Any]:
        return self._create('port', dict(attrs, network_id=network_id))

    def port(self, port_id: str) -> dict[str, Any]:
        r = self.api('GET', f'/ports/{port_id}')
        assert r.status_code == 200, r.text
        return r.json()['port']

    def ports(self, **filters: str) -> list[dict[str, Any]]:
        r = self.api('GET', '/ports', params=filters)
        assert r.status_code == 200, r.text
        return r.json()['ports']

    def network(self, network_id: str) -> dict[str, Any]:
        r = self.api('GET', f'/networks/{network_id}')
        assert r.status_code == 200, r.text
        return r.json()['network']

    def delete(self, kind: str, rid: str) -> None:
        r = self.api('DELETE', f'/{kind}s/{rid}')
        assert r.status_code in (204, 404), r.text

    def wait_port(self, port_id: str, status: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        port = self.port(port_id)
        while port['status'] != status and time.monotonic() < deadline:
            time.sleep(0.3)
            port = self.port(port_id)
        assert port['status'] == status, port
        return port

    def cleanup(self) -> None:
        """Delete what the helpers made, newest first (ports before subnets
        before networks)."""
        while self.made:
            kind, rid = self.made.pop()
            self.delete(kind, rid)

    def log_tail(self, lines: int = 60) -> str:
        with open(self.info['log'], errors='replace') as f:
            return ''.join(f.readlines()[-lines:])


def _check_available() -> None:
    if os.geteuid() != 0:
        _unavailable('the neutron tier needs root (OVS, network namespaces)')
    for cmd in ('ovs-vswitchd', 'ovsdb-server', 'ovn-northd', 'ovn-controller', 'mysql',
                'haproxy'):
        if shutil.which(cmd) is None:
            if os.environ.get('CI') == 'true':
                subprocess.run([TOOL, 'install'], check=True)
                break
            _unavailable(f'{cmd} is missing (tools/minova-neutron install)')
    if not os.path.exists(os.path.join(VENV, 'bin', 'neutron-db-manage')):
        if os.environ.get('CI') == 'true':
            subprocess.run([TOOL, 'install'], check=True)
        else:
            _unavailable(f'no Neutron venv at {VENV} (tools/minova-neutron install)')
    if subprocess.run(['mysqladmin', '-h127.0.0.1', '-uroot', 'ping'],
                      capture_output=True).returncode:
        _unavailable('MariaDB is not reachable at 127.0.0.1 as root')


@pytest.fixture(scope='session')
def neutron() -> Iterator[Neutron]:
    _check_available()
    lock = open(LOCK, 'w')   # noqa: SIM115 - held for the session
    deadline = time.monotonic() + 1800
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                _unavailable(f'another run holds {LOCK}')
            time.sleep(2)
    state = tempfile.mkdtemp(prefix='minova-neutron-', dir='/var/tmp')
    host = f'neutron-it-{os.getpid()}'
    nova_port = libvirt_tier._free_port()
    metadata_port = libvirt_tier._free_port()
    metadata_secret = uuid.uuid4().hex
    args = ['--state-dir', state, '--host', host, '--port', str(libvirt_tier._free_port()),
            '--nova-url', f'http://127.0.0.1:{nova_port}/v2.1',
            '--database', 'minova_neutron_it',
            '--metadata-url', f'http://127.0.0.1:{metadata_port}',
            '--metadata-secret', metadata_secret]
    # --replace: holding LOCK, any other stack is one a dead run left behind
    up = subprocess.run([TOOL, 'up', '--replace', *args], capture_output=True, text=True)
    if up.returncode:
        subprocess.run([TOOL, 'down', *args], capture_output=True)
        lock.close()
        pytest.fail(f'tools/minova-neutron up failed:\n{up.stdout}{up.stderr[-4000:]}')
    info = json.loads(up.stdout)
    n = Neutron(info['url'], host, nova_port, state, info, metadata_port=metadata_port,
                metadata_secret=metadata_secret)
    try:
        yield n
    finally:
        subprocess.run([TOOL, 'down', *args], capture_output=True)
        keep_log(info['log'])
        keep_log(info.get('metadata_agent_log') or '')
        shutil.rmtree(state, ignore_errors=True)
        lock.close()


# Nova's default for os-server-external-events is role:service, which no
# noauth2 token has; Neutron's notifier sends admin:admin (docs/neutron.md).
NOAUTH_EVENTS_POLICY = ('"os_compute_api:os-server-external-events:create": '
                        '"role:service or role:admin"\n')


def write_events_policy(config_dir: str) -> None:
    """policy.yaml next to an all-in-one's minova.conf (written before it
    starts) that lets Neutron's events in under noauth2."""
    with open(os.path.join(config_dir, 'policy.yaml'), 'w') as f:
        f.write(NOAUTH_EVENTS_POLICY)


def keep_log(path: str) -> None:
    os.makedirs(LOGS, exist_ok=True)
    with contextlib.suppress(OSError):
        shutil.copy(path, LOGS)


def ns_run(ns: str, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(['ip', 'netns', 'exec', ns, *cmd], capture_output=True,
                          text=True, timeout=timeout)


@dataclass
class FakeGuest:
    """A veth whose far end sits in its own network namespace, plugged into
    br-int for a Neutron port as a hypervisor would plug a guest's tap."""

    ns: str
    dev: str
    port: dict[str, Any]


def plug_fake_guest(port: dict[str, Any]) -> FakeGuest:
    tag = uuid.uuid4().hex[:8]
    ns, dev = f'mnn-{tag}', f'mnv{tag}'
    run = lambda *c: subprocess.run(c, check=True, capture_output=True)  # noqa: E731
    run('ip', 'netns', 'add', ns)
    run('ip', 'link', 'add', dev, 'type', 'veth', 'peer', 'name', f'{dev}p')
    run('ip', 'link', 'set', f'{dev}p', 'netns', ns)
    run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', f'{dev}p', 'name', 'eth0')
    run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'address',
        port['mac_address'])
    run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
    run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up')
    run('ip', 'link', 'set', dev, 'up')
    run('ovs-vsctl', '--timeout=30', 'add-port', 'br-int', dev, '--', 'set', 'Interface', dev,
        f'external_ids:iface-id={port["id"]}',
        f'external_ids:attached-mac={port["mac_address"]}',
        'external_ids:iface-status=active')
    return FakeGuest(ns, dev, port)


def unplug_fake_guest(g: FakeGuest) -> None:
    subprocess.run(['ovs-vsctl', '--timeout=30', '--if-exists', 'del-port', 'br-int', g.dev],
                   capture_output=True)
    subprocess.run(['ip', 'link', 'del', g.dev], capture_output=True)
    subprocess.run(['ip', 'netns', 'del', g.ns], capture_output=True)


# udhcpc's hook: apply the lease inside the namespace and print it
UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    echo "LEASE ip=$ip mask=$mask router=$router mtu=$mtu"
    ;;
esac
"""


def dhcp(g: FakeGuest, script_dir: str) -> dict[str, str]:
    """Run busybox udhcpc in g's namespace; the lease's fields."""
    script = os.path.join(script_dir, 'udhcpc.sh')
    with open(script, 'w') as f:
        f.write(UDHCPC_SCRIPT)
    os.chmod(script, 0o755)
    out = ns_run(g.ns, 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '10',
                 '-T', '1', '-O', 'mtu', '-s', script)
    for line in out.stdout.splitlines():
        if line.startswith('LEASE '):
            return dict(kv.split('=', 1) for kv in line.split()[1:])
    raise AssertionError(f'no DHCP lease in {g.ns}:\n{out.stdout}{out.stderr}')
