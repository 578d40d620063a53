"""A guest without config drive reads its own metadata from 169.254.169.254:
the test image's init asks after DHCP, through QEMU's slirp guestfwd and
minova-metadata-forward, exactly as [libvirt] metadata_via_user_network
declares the NIC (issue 20).

QEMU is started here directly, not by libvirt: libvirt's default
seccomp_sandbox = 1 starts QEMU with -sandbox spawn=deny, which forbids the
guestfwd command (docs/metadata.md). The cloud (fake driver, metadata service)
runs in a child process so that its configuration stays out of this one.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from tests.integration.libvirt.conftest import REPO, _unavailable

KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoCr0zxkLkIWO0gAzPoRbuNRkl5UTbbJfREjFpKbwYf '
       'guest@metadata')


def _guest(image: str, log: str) -> dict[str, Any]:
    """Child process: an all-in-one on the fake driver, one server, and a QEMU
    guest whose NIC is the one the libvirt driver would declare for it."""
    import requests

    from minova.conf import CONF
    CONF([], project='minova')
    from minova.cmd.all_in_one import AllInOne
    from minova.image.builtin import TINY_IMAGE_ID
    from minova.virt.libvirt import config, driver
    CONF.set_override('state_path', tempfile.mkdtemp(prefix='minova-md-'))
    CONF.set_override('host', 'md-guest')
    CONF.set_override('metadata_proxy_shared_secret', 'guest-secret', group='neutron')
    CONF.set_override('enabled', False, group='vnc')
    aio = AllInOne(api_port=0, placement_port=0)
    aio.start()
    CONF.set_override('metadata_listen_port', aio.metadata_port)
    s = requests.Session()
    s.headers.update({'X-Auth-Token': 'admin:admin', 'OpenStack-API-Version': 'compute 2.90'})
    base = f'http://127.0.0.1:{aio.api_port}/v2.1'
    s.post(base + '/flavors', json={'flavor': {'name': 'tiny', 'id': 'tiny', 'vcpus': 1,
                                               'ram': 64, 'disk': 1}})
    s.post(base + '/os-keypairs', json={'keypair': {'name': 'k', 'public_key': KEY}})
    r = s.post(base + '/servers', json={'server': {
        'name': 'md-guest', 'hostname': 'md-guest-host', 'flavorRef': 'tiny',
        'imageRef': TINY_IMAGE_ID, 'networks': 'none', 'key_name': 'k'}})
    server = r.json()['server']
    for _ in range(300):
        server = s.get(f'{base}/servers/{server["id"]}').json()['server']
        if server['status'] == 'ACTIVE':
            break
        time.sleep(0.1)
    spec = config.GuestSpec(name='x', uuid=server['id'], virt_type='qemu', memory_mb=256,
                            vcpus=1, disks=[], console_log='', nics=['fa:16:3e:00:00:01'],
                            metadata_forward=driver.metadata_forward_command(
                                {'uuid': server['id'], 'project_id': server['tenant_id']}))
    import xml.etree.ElementTree as ET
    args = [a.get('value') or '' for a in ET.fromstring(config.domain_xml(spec)).findall(
        f'./{{{config.QEMU_NS}}}commandline/{{{config.QEMU_NS}}}arg')]
    with open(log, 'wb') as out:
        qemu = subprocess.Popen(
            ['qemu-system-x86_64', '-m', '256', '-nographic', '-no-reboot', '-display', 'none',
             '-drive', f'file={image},if=virtio,snapshot=on', *args],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    text = ''
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and 'metadata-service key=' not in text:
            time.sleep(1)
            with open(log, 'rb') as f:
                text = f.read().decode(errors='replace')
    finally:
        qemu.kill()
        qemu.wait()
        aio.stop()
    return {'server': server['id'], 'hostname': server['OS-EXT-SRV-ATTR:hostname'],
            'console': text}


def test_guest_reads_its_metadata_without_config_drive(tmp_path: Any) -> None:
    if not shutil.which('qemu-system-x86_64'):
        _unavailable('no qemu-system-x86_64')
    image = str(tmp_path / 'minova-test.qcow2')
    # Built here: the shared test image may predate the init that asks the service.
    build = subprocess.run([os.path.join(REPO, 'tools', 'build-test-image.sh'), image],
                           capture_output=True, text=True)
    if build.returncode:
        _unavailable(f'test image not built: {build.stderr[-300:]}')
    log = str(tmp_path / 'console.log')
    proc = subprocess.run([sys.executable, __file__, image, log], capture_output=True,
                          text=True, timeout=240, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    console = result['console']
    assert 'MINOVA-TEST-IMAGE-BOOTED' in console
    assert 'config-drive=' not in console
    assert f'metadata-service hostname={result["hostname"]}' in console, console[-1500:]
    assert f'metadata-service uuid={result["server"]}' in console
    assert f'metadata-service key={KEY}' in console


if __name__ == '__main__':
    print(json.dumps(_guest(sys.argv[1], sys.argv[2])), flush=True)
    os._exit(0)
