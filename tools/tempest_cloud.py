"""Keystone and a mini-Nova all-in-one for Tempest, and the tempest.conf that names them.

    python3 tools/tempest_cloud.py WORKDIR     # used by tools/run-tempest.sh

Reuses the Keystone tier's code (tests/integration/keystone): Keystone from
its own virtualenv on loopback, bootstrapped as the install guide does, the
service users and the catalog (compute, placement, image), and one
`minova-all-in-one` (fake driver) behind it. Then it creates the two flavors
Tempest boots with, writes WORKDIR/etc/tempest.conf and WORKDIR/cloud.json,
and keeps both services running until it is sent SIGTERM or SIGINT.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from minova.image.builtin import TINY_IMAGE_ID  # noqa: E402
from tests.integration.keystone import conftest as ks_tier  # noqa: E402
from tests.integration.keystone import keystone_server  # noqa: E402

FLAVORS = (('42', 'm1.nano', 64), ('84', 'm1.micro', 128))
# Compute hosts the all-in-one runs (MINOVA_TEMPEST_COMPUTES, default 1): with
# two, Tempest's move tests (migrations, live migration) run rather than skip.
COMPUTES = int(os.environ.get('MINOVA_TEMPEST_COMPUTES', '1'))


def tempest_conf(cloud: ks_tier.Cloud, workdir: Path) -> str:
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

[image]
region = {keystone_server.REGION}

[placement]
region = {keystone_server.REGION}

[service_available]
nova = True
glance = True
neutron = False
cinder = False
swift = False
placement = True

[validation]
run_validation = False
"""


def main() -> None:
    workdir = Path(sys.argv[1]).resolve()
    (workdir / 'etc').mkdir(parents=True, exist_ok=True)
    keystone_server.ensure_venv()
    root = workdir / 'cloud'
    keystone = keystone_server.Keystone(root / 'keystone', ks_tier._free_port())
    keystone.configure()
    # Tempest's dynamic credentials write to Keystone from both of its workers
    # at once, and SQLite answers concurrent writers "database is locked"
    # (Keystone's 500s): one gunicorn worker with one thread serialises them.
    keystone_server.LAUNCHER = keystone_server.LAUNCHER.replace(
        "'workers': 2, 'threads': 4", "'workers': 1, 'threads': 1")
    assert "'threads': 1" in keystone_server.LAUNCHER
    keystone.bootstrap()
    keystone.start()
    cloud = ks_tier.Cloud(keystone, root, ks_tier._free_port(), ks_tier._free_port(),
                          ks_tier._free_port())
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        ks_tier._register(cloud)
        conf = ks_tier._minova_config(cloud)
        # Tempest's dynamic credentials build many projects' servers at once.
        text = conf.read_text().replace('debug = True', 'debug = False')
        conf.write_text(text.replace('[DEFAULT]\n',
                                     f'[DEFAULT]\nall_in_one_computes = {COMPUTES}\n', 1))
        ks_tier._start_minova(cloud, conf)
        for flavor_id, name, ram in FLAVORS:
            ks_tier.openstack(cloud, 'admin', 'admin', 'flavor', 'create', '--id', flavor_id,
                              '--vcpus', '1', '--ram', str(ram), '--disk', '1', name)
        (workdir / 'etc' / 'tempest.conf').write_text(tempest_conf(cloud, workdir))
        (workdir / 'cloud.json').write_text(json.dumps({
            'keystone': keystone.url, 'compute': cloud.compute_url,
            'placement': cloud.placement_url,
            'image': f'http://127.0.0.1:{cloud.image_port}', 'minova_log': str(root)}))
        print('tempest cloud ready', flush=True)
        done.wait()
    finally:
        for proc in reversed(cloud.procs):
            ks_tier._stop(proc)
        keystone.stop()


if __name__ == '__main__':
    main()
