"""Keystone and a mini-Nova all-in-one for Tempest, and the tempest.conf that names them.

    python3 tools/tempest_cloud.py WORKDIR     # used by tools/run-tempest.sh

Reuses the Keystone tier's code (tests/integration/keystone): Keystone from
its own virtualenv on loopback, bootstrapped as the install guide does, the
service users and the catalog (compute, placement, image), and one
`minova-all-in-one` (fake driver) behind it. Then it creates the two flavors
Tempest boots with, writes WORKDIR/etc/tempest.conf and WORKDIR/cloud.json,
and keeps both services running until it is sent SIGTERM or SIGINT.

With MINOVA_TEMPEST_CINDER=1 it also brings up Ceph (tools/minova-ceph) and
Cinder on it (tools/minova-cinder up --keystone-url ...: the same Keystone,
volumev3/block-storage in the catalog), holding their locks as the cinder
tier does; gives the nova user the service role (Cinder trusts its service
token when an attachment is deleted); configures mini-Nova's [cinder] with
the nova service user; and sets [service_available] cinder = True and the
[volume] options in tempest.conf.

With MINOVA_TEMPEST_NEUTRON=1 it brings up Neutron with OVN
(tools/minova-neutron up --keystone-url ...: the same Keystone, `network` in
the catalog), holding the neutron tier's lock; names the all-in-one's hosts
`minova-tempest`, `minova-tempest-2`, ... (the first is the OVN chassis, the
others get a chassis without ovn-controller, so ML2/OVN binds ports there
too); makes an external network `public` inside OVN (nothing routes out);
configures mini-Nova's [neutron] with the nova service user; and sets
[service_available] neutron = True and the [network] options in tempest.conf.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from minova.image.builtin import TINY_IMAGE_ID  # noqa: E402
from tests.integration.keystone import conftest as ks_tier  # noqa: E402
from tests.integration.keystone import keystone_server  # noqa: E402
from tests.integration.neutron.chassis import Chassis  # noqa: E402
from tests.processes import free_port, stop_process  # noqa: E402

FLAVORS = (('42', 'm1.nano', 64), ('84', 'm1.micro', 128))
# Compute hosts of the all-in-one (MINOVA_TEMPEST_COMPUTES, default 2): with 2
# or more Tempest's multinode tests (moves between hosts) run instead of skipping.
COMPUTES = int(os.environ.get('MINOVA_TEMPEST_COMPUTES', '2'))
# A real Cinder (on Ceph) behind the same Keystone: MINOVA_TEMPEST_CINDER=1.
CINDER = os.environ.get('MINOVA_TEMPEST_CINDER', '0') == '1'
CEPH_TOOL = os.environ.get('MINOVA_CEPH_TOOL', str(REPO / 'tools' / 'minova-ceph'))
CEPH_STATE = os.environ.get('MINOVA_CEPH_STATE', '/var/tmp/minova-ceph')
CINDER_TOOL = str(REPO / 'tools' / 'minova-cinder')
# The cinder tier's locks: one Ceph per machine (fixed mon ports), one
# Cinder stack at a time (the vhost minova_cinder).
LOCKS = ('/var/tmp/minova-ceph.lock', '/var/tmp/minova-cinder.lock')
# A real Neutron (ML2/OVN) behind the same Keystone: MINOVA_TEMPEST_NEUTRON=1.
NEUTRON = os.environ.get('MINOVA_TEMPEST_NEUTRON', '0') == '1'
NEUTRON_TOOL = str(REPO / 'tools' / 'minova-neutron')
# The neutron tier's lock: one OVS per machine.
NEUTRON_LOCK = '/var/tmp/minova-neutron.lock'
# The all-in-one's first host with Neutron: the OVN chassis' name.
HOST = 'minova-tempest'
PUBLIC_NET, PUBLIC_CIDR = 'public', '172.24.4.0/24'
LOCK_WAIT = 3600.0


VOLUME_CONF = f"""
[volume]
region = {keystone_server.REGION}
catalog_type = block-storage
storage_protocol = ceph
min_microversion = 3.0
max_microversion = latest

[volume-feature-enabled]
# no cinder-backup runs
backup = False
"""


def network_conf(public_network_id: str) -> str:
    # Dynamic credentials make each project's network, subnet and router
    # (create_isolated_networks, Tempest's default); the routers' gateway is
    # the external network made inside OVN.
    return f"""
[network]
region = {keystone_server.REGION}
public_network_id = {public_network_id}
floating_network_name = {PUBLIC_NET}
"""


def tempest_conf(cloud: ks_tier.Cloud, workdir: Path, public_network_id: str = '') -> str:
    return f"""[DEFAULT]
log_file = {workdir}/tempest.log

[auth]
use_dynamic_credentials = True
admin_username = admin
admin_password = {keystone_server.ADMIN_PASSWORD}
admin_project_name = admin
admin_domain_name = Default

[identity]
uri_v3 = {cloud.keystone.url}
region = {keystone_server.REGION}
disable_ssl_certificate_validation = True

[compute]
image_ref = {TINY_IMAGE_ID}
image_ref_alt = {TINY_IMAGE_ID}
flavor_ref = {FLAVORS[0][0]}
flavor_ref_alt = {FLAVORS[1][0]}
region = {keystone_server.REGION}
endpoint_type = publicURL
min_microversion = 2.1
max_microversion = latest
build_timeout = 120
min_compute_nodes = {COMPUTES}

[compute-feature-enabled]
# Off in Tempest's defaults, on in devstack's: resize works here.
resize = True

[image]
region = {keystone_server.REGION}

[placement]
region = {keystone_server.REGION}

[service_available]
nova = True
glance = True
neutron = {NEUTRON}
cinder = {CINDER}
swift = False
placement = True

[validation]
# never: it would give the host an address on the guests' networks
run_validation = False
""" + (VOLUME_CONF if CINDER else '') + (network_conf(public_network_id) if NEUTRON else '')


@contextlib.contextmanager
def _locks(paths: tuple[str, ...]) -> Iterator[None]:
    """A tier's locks (the cinder tier's Ceph and Cinder ones, the neutron
    tier's), waited for in order."""
    with contextlib.ExitStack() as stack:
        for path in paths:
            handle = stack.enter_context(open(path, 'w'))
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f'tempest_cloud: {path} is held by another run') from None
                    print(f'waiting for {path}', flush=True)
                    time.sleep(5)
        yield


def _tool(*cmd: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f'{" ".join(cmd)} failed:\n{done.stdout}{done.stderr[-3000:]}')
    return done.stdout


def _start_cinder(cloud: ks_tier.Cloud, root: Path, stack: contextlib.ExitStack) -> str:
    """Ceph (reused if it runs) and Cinder behind the cloud's Keystone; the
    [cinder] section mini-Nova needs; both stopped when `stack` closes."""
    stack.enter_context(_locks(LOCKS))
    ceph_was_up = subprocess.run([CEPH_TOOL, 'status', '--state-dir', CEPH_STATE],
                                 capture_output=True).returncode == 0
    _tool(CEPH_TOOL, 'up', '--state-dir', CEPH_STATE)
    if not ceph_was_up:
        stack.callback(subprocess.run, [CEPH_TOOL, 'down', '--state-dir', CEPH_STATE],
                       capture_output=True)
    args = ['--state-dir', str(root / 'cinder'), '--ceph-state', CEPH_STATE,
            '--ceph-tool', CEPH_TOOL, '--port', str(free_port()),
            '--database', 'minova_cinder_tempest',
            '--glance-url', f'http://127.0.0.1:{cloud.image_port}',
            '--keystone-url', cloud.keystone.url,
            '--keystone-admin-password', keystone_server.ADMIN_PASSWORD]
    stack.callback(subprocess.run, [CINDER_TOOL, 'down', *args], capture_output=True)
    info: dict[str, Any] = json.loads(_tool(CINDER_TOOL, 'up', *args))
    (root / 'cinder.json').write_text(json.dumps(info, indent=1))
    # Cinder honours Nova's service token (an attachment's delete) only when
    # it carries the service role.
    _grant_service_role(cloud)
    return f"""
[cinder]
os_region_name = {keystone_server.REGION}
{_nova_auth(cloud)}"""


def _grant_service_role(cloud: ks_tier.Cloud) -> None:
    """The service role for the nova user in the service project."""
    admin = ks_tier.ks_client.Client(session=cloud.session('admin', 'admin'))
    roles = {r.name: r for r in admin.roles.list()}
    service_role = roles.get('service') or admin.roles.create('service')
    admin.roles.grant(service_role, user=cloud.ids['nova'], project=cloud.ids['service'])


def _nova_auth(cloud: ks_tier.Cloud) -> str:
    """keystoneauth password options as the nova service user."""
    return f"""auth_type = password
auth_url = {cloud.keystone.url}
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = {ks_tier.PASSWORDS['nova']}
"""


def _own_ports_conf() -> str:
    """The metadata service and the VNC proxy on free loopback ports: at their
    defaults (0.0.0.0:8775, :6080) they clash with any other all-in-one on the
    machine, and the one that loses runs without them."""
    vnc = free_port()
    return f"""
[DEFAULT]
metadata_listen = 127.0.0.1
metadata_listen_port = {free_port()}
[vnc]
novncproxy_host = 127.0.0.1
novncproxy_port = {vnc}
novncproxy_base_url = http://127.0.0.1:{vnc}/vnc_auto.html
"""
def _start_neutron(cloud: ks_tier.Cloud, root: Path, stack: contextlib.ExitStack
                   ) -> tuple[dict[str, Any], str]:
    """Neutron with OVN behind the cloud's Keystone, the [DEFAULT] host and
    [neutron] mini-Nova needs; stopped when `stack` closes."""
    stack.enter_context(_locks((NEUTRON_LOCK,)))
    args = ['--state-dir', str(root / 'neutron'), '--host', HOST,
            '--port', str(free_port()), '--database', 'minova_neutron_tempest',
            '--keystone-url', cloud.keystone.url,
            '--keystone-admin-password', keystone_server.ADMIN_PASSWORD]
    stack.callback(subprocess.run, [NEUTRON_TOOL, 'down', *args], capture_output=True)
    # --replace: holding the lock, another stack is one a dead run left behind
    info: dict[str, Any] = json.loads(_tool(NEUTRON_TOOL, 'up', '--replace', *args))
    (root / 'neutron.json').write_text(json.dumps(info, indent=1))
    for n in range(2, COMPUTES + 1):
        chassis = Chassis(info, HOST, f'{HOST}-{n}')
        stack.callback(chassis.remove)
    # The notifier's events to mini-Nova come as the neutron user (service role).
    return info, f"""
[DEFAULT]
host = {HOST}
[neutron]
region_name = {keystone_server.REGION}
valid_interfaces = internal
{_nova_auth(cloud)}"""


def _public_network(cloud: ks_tier.Cloud, url: str) -> str:
    """The external network (geneve, inside OVN: nothing routes out) that
    Tempest's routers use as their gateway; its id."""
    sess = cloud.session('admin', 'admin')
    net = sess.post(f'{url}/v2.0/networks', json={'network': {
        'name': PUBLIC_NET, 'router:external': True, 'shared': False}}).json()['network']
    sess.post(f'{url}/v2.0/subnets', json={'subnet': {
        'name': f'{PUBLIC_NET}-subnet', 'network_id': net['id'], 'ip_version': 4,
        'cidr': PUBLIC_CIDR, 'enable_dhcp': False}})
    return str(net['id'])


def main() -> None:
    workdir = Path(sys.argv[1]).resolve()
    (workdir / 'etc').mkdir(parents=True, exist_ok=True)
    keystone_server.ensure_venv()
    root = workdir / 'cloud'
    keystone = keystone_server.Keystone(root / 'keystone', free_port())
    keystone.configure()
    # Tempest's dynamic credentials write to Keystone from both of its workers
    # at once, and SQLite answers concurrent writers "database is locked"
    # (Keystone's 500s): one gunicorn worker with one thread serialises them.
    keystone_server.LAUNCHER = keystone_server.LAUNCHER.replace(
        "'workers': 2, 'threads': 4", "'workers': 1, 'threads': 1")
    assert "'threads': 1" in keystone_server.LAUNCHER
    keystone.bootstrap()
    keystone.start()
    cloud = ks_tier.Cloud(keystone, root, free_port(), free_port(),
                          free_port())
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    cinder_stack = contextlib.ExitStack()
    try:
        ks_tier._register(cloud)
        cinder_conf = _start_cinder(cloud, root, cinder_stack) if CINDER else ''
        neutron_info: dict[str, Any] = {}
        neutron_conf = ''
        if NEUTRON:
            neutron_info, neutron_conf = _start_neutron(cloud, root, cinder_stack)
        conf = ks_tier._minova_config(cloud)
        # Tempest's dynamic credentials build many projects' servers at once.
        conf.write_text(conf.read_text().replace('debug = True', 'debug = False')
                        + f'\n[DEFAULT]\nall_in_one_computes = {COMPUTES}\n'
                        + _own_ports_conf() + cinder_conf + neutron_conf)
        ks_tier._start_minova(cloud, conf)
        public_id = _public_network(cloud, neutron_info['url']) if NEUTRON else ''
        for flavor_id, name, ram in FLAVORS:
            ks_tier.openstack(cloud, 'admin', 'admin', 'flavor', 'create', '--id', flavor_id,
                              '--vcpus', '1', '--ram', str(ram), '--disk', '1', name)
        (workdir / 'etc' / 'tempest.conf').write_text(tempest_conf(cloud, workdir, public_id))
        (workdir / 'cloud.json').write_text(json.dumps({
            'keystone': keystone.url, 'compute': cloud.compute_url,
            'placement': cloud.placement_url,
            'image': f'http://127.0.0.1:{cloud.image_port}', 'minova_log': str(root)}))
        print('tempest cloud ready', flush=True)
        done.wait()
    finally:
        for proc in reversed(cloud.procs):
            stop_process(proc)
        cinder_stack.close()
        keystone.stop()


if __name__ == '__main__':
    main()
