"""mini-Nova with the real Cinder, end to end: an all-in-one on the libvirt
driver whose `[cinder]` is the session's Cinder (on Ceph RBD), booting real
QEMU guests of the test image, which reports its disks on its console.

- A running guest gets a volume (`openstack server add volume`): the guest
  lists the new disk and reads the marker written to it beforehand through
  librbd; Cinder shows it in-use with one attachment; extending it in Cinder
  reaches the guest as a bigger disk (Cinder's `volume-extended` event); a hard
  reboot keeps it; `server remove volume` takes it out of the guest and leaves
  it `available`.
- A server booted from a volume that mini-Nova made from the image
  (`openstack server create --boot-from-volume 1 --delete-on-termination`)
  prints the image's boot marker from that volume; deleting the server
  deletes the volume.
- A volume stays with its server through shelve (offloaded) and unshelve,
  and through a resize and its confirm: each new guest reads the marker
  written to the volume just before the move.
- Rebuilding a volume-backed server with another image: a 400 before 2.93;
  from 2.93 Cinder reimages the root volume (whose boot sector a marker had
  overwritten, so it no longer booted) and posts volume-reimaged; the guest
  boots the image again from the same volume.
- After each test Cinder has no attachment and no volume the test did not
  keep (the `cinder_clean` fixture checks).

Cinder posts its events to the session's stand-in Nova, which forwards them
to this module's cloud; Cinder reads images from the session's image
endpoint, which is also the cloud's `[glance]`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.integration.cinder.conftest import VENV, Cinder, ImageEndpoint, NovaEvents
from tests.integration.libvirt.conftest import (
    Cloud,
    create_flavor,
    libvirt_conn,
    remove_guests,
    start_cloud,
    state_dir,
    stop_cloud,
)
from tests.integration.libvirt.conftest import test_image as test_image  # noqa: F401 - fixture
from tests.integration.neutron.conftest import keep_log, write_events_policy

GiB = 1024 ** 3
HOST = 'minova-cinder-aio'


class ProjectCloud(Cloud):
    """The all-in-one, called as the admin of Cinder's project (noauth2 token
    `admin:<project>`): Cinder's noauth wants hex project ids in its URLs."""

    project: str = ''

    def _s(self) -> requests.Session:
        s = super()._s()
        s.headers['X-Auth-Token'] = f'admin:{self.project}'
        return s


@dataclass
class VolumeCloud:
    cloud: ProjectCloud
    image: str              # the test image's id (in the shared image endpoint)
    flavor: str
    env: dict[str, str]     # openstackclient's environment

    def openstack(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(['openstack', *args], env=self.env, capture_output=True,
                              text=True, timeout=300)
        if check:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done


def _rbd_write(cinder: Cinder, volume_id: str, data: bytes) -> None:
    """data at the start of the volume's RBD image, written through librbd."""
    code = (
        'import sys, rados, rbd\n'
        'with rados.Rados(conffile=sys.argv[1], rados_id=sys.argv[2]) as c:\n'
        '    with c.open_ioctx(sys.argv[3]) as io:\n'
        '        with rbd.Image(io, sys.argv[4]) as img:\n'
        '            img.write(sys.stdin.buffer.read(), 0)\n')
    done = subprocess.run(
        [os.path.join(VENV, 'bin', 'python'), '-c', code, cinder.info['ceph']['conf'],
         cinder.ceph['user'], cinder.ceph['pool'], f'volume-{volume_id}'],
        input=data, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors='replace')


@pytest.fixture(scope='module')
def volcloud(cinder: Cinder, image_endpoint: ImageEndpoint, nova_events: NovaEvents,
             test_image: str) -> Iterator[VolumeCloud]:  # noqa: F811
    if not shutil.which('openstack'):
        pytest.skip("python-openstackclient (pip install -e '.[test]')")
    conn = libvirt_conn()
    state = state_dir()
    write_events_policy(state)
    c = start_cloud(state, HOST, extra_conf=f"""
[cinder]
endpoint_template = {cinder.info['url']}/%(project_id)s
[glance]
api_servers = {image_endpoint.url}
[key_manager]
backend = nova.keymgr.conf_key_mgr.ConfKeyManager
fixed_key = {cinder.info['fixed_key']}
""")
    cloud = ProjectCloud(c.compute, c.placement, c.image, c.state, c.proc, c.log)
    cloud.project = cinder.project
    nova_events.forward = cloud.compute
    with open(test_image, 'rb') as f:
        image = image_endpoint.create(cinder.project, f.read(), name='minova-test',
                                      disk_format='qcow2', visibility='public')
    home = tempfile.mkdtemp(prefix='minova-osc-')
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(OS_AUTH_URL=cloud.compute.replace('/v2.1', '/identity/v3'),
               OS_USERNAME='admin', OS_PASSWORD='anything', OS_PROJECT_NAME=cinder.project,
               OS_USER_DOMAIN_NAME='Default', OS_PROJECT_DOMAIN_NAME='Default',
               OS_IDENTITY_API_VERSION='3', OS_COMPUTE_API_VERSION='2.latest',
               OS_VOLUME_API_VERSION='3.44', HOME=home)
    try:
        yield VolumeCloud(cloud, image['id'], create_flavor(cloud), env)
    finally:
        nova_events.forward = None
        for server in cloud.api('GET', '/servers').json().get('servers', []):
            cloud.api('DELETE', f'/servers/{server["id"]}')
            try:
                cloud.wait_gone(server['id'], timeout=120)
            except AssertionError:
                pass
        remove_guests(conn, cloud)
        stop_cloud(cloud)
        keep_log(cloud.log)
        image_endpoint.delete(cinder.project, image['id'])
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def _boot(vc: VolumeCloud, name: str, **server: Any) -> str:
    body = dict({'name': name, 'flavorRef': vc.flavor, 'networks': 'none'}, **server)
    r = vc.cloud.api('POST', '/servers', json={'server': body})
    assert r.status_code == 202, r.text
    return str(r.json()['server']['id'])


def _delete(vc: VolumeCloud, uuid: str) -> None:
    r = vc.cloud.api('DELETE', f'/servers/{uuid}')
    assert r.status_code in (204, 404), r.text
    vc.cloud.wait_gone(uuid, timeout=180)


def _wait(predicate: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.5)


def test_volume_attach_extend_reboot_detach_on_a_running_guest(
        volcloud: VolumeCloud, cinder_clean: Cinder) -> None:
    vc, cinder, cloud = volcloud, cinder_clean, volcloud.cloud
    marker = f'MINOVA-MARKER-{os.getpid()}'
    volume = cinder.create_volume(size=1, name='data1')
    cinder.wait_volume(volume['id'], 'available')
    _rbd_write(cinder, volume['id'], f'{marker}\n'.encode())
    uuid = _boot(vc, 'vol-guest', imageRef=vc.image)
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'MINOVA-DISK-ADDED vda', timeout=180)

        # openstack server add volume: the guest sees a new disk holding the marker.
        vc.openstack('server', 'add', 'volume', uuid, 'data1', '--device', '/dev/vdb')
        shown = cinder.wait_volume(volume['id'], 'in-use')
        [attachment] = shown['attachments']
        assert attachment['server_id'] == uuid and attachment['device'] == '/dev/vdb'
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED vdb bytes={GiB} marker={marker}')
        listed = vc.openstack('server', 'volume', 'list', uuid, '-f', 'value',
                              '-c', 'Volume ID', '-c', 'Device').stdout.split()
        assert listed == [volume['id'], '/dev/vdb'] or listed == ['/dev/vdb', volume['id']]
        attached = cloud.server(uuid)['os-extended-volumes:volumes_attached']
        assert [v['id'] for v in attached] == [volume['id']]
        [cinder_attachment] = [a for a in cinder.attachments()
                               if a['volume_id'] == volume['id']]
        assert cinder_attachment['status'] == 'attached'

        # Extending the in-use volume (3.42+): Cinder grows the RBD image and
        # tells mini-Nova (volume-extended), whose guest sees the new size.
        # (Through Cinder's API: `openstack volume set --size` must discover
        # Cinder's microversions first, and Cinder's noauth answers a
        # tokenless discovery with 204.)
        r = cinder.api('POST', f'/volumes/{volume["id"]}/action',
                       json={'os-extend': {'new_size': 2}}, version='3.42')
        assert r.status_code == 202, r.text
        _wait(lambda: cinder.volume(volume['id']).json()['volume']['size'] == 2,
              'the volume to be 2 GiB')
        cloud.wait_console(uuid, f'MINOVA-DISK-RESIZED vdb bytes={2 * GiB}')

        # A hard reboot redefines the domain: the volume is still there.
        r = cloud.api('POST', f'/servers/{uuid}/action', json={'reboot': {'type': 'HARD'}})
        assert r.status_code == 202, r.text
        cloud.wait(uuid, 'ACTIVE')
        # (before the reboot the guest saw it added at 1 GiB, then resized)
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED vdb bytes={2 * GiB} marker={marker}',
                           timeout=180)

        # openstack server remove volume: gone from the guest, available again.
        vc.openstack('server', 'remove', 'volume', uuid, 'data1')
        cinder.wait_volume(volume['id'], 'available')
        cloud.wait_console(uuid, 'MINOVA-DISK-REMOVED vdb')
        assert cloud.server(uuid)['os-extended-volumes:volumes_attached'] == []
        assert [a for a in cinder.attachments() if a['volume_id'] == volume['id']] == []
    finally:
        _delete(vc, uuid)
    # The server's delete left the user's volume alone.
    assert cinder.wait_volume(volume['id'], 'available')['size'] == 2


def test_boot_from_a_volume_made_from_the_image(volcloud: VolumeCloud,
                                                 cinder_clean: Cinder) -> None:
    vc, cinder, cloud = volcloud, cinder_clean, volcloud.cloud
    vc.openstack('server', 'create', '--flavor', vc.flavor, '--image', vc.image,
                 '--boot-from-volume', '1', '--delete-on-termination', '--no-network',
                 'bfv1')
    uuid = vc.openstack('server', 'show', 'bfv1', '-f', 'value', '-c', 'id').stdout.strip()
    try:
        cloud.wait(uuid, 'ACTIVE', timeout=300)
        server = cloud.server(uuid)
        assert server['image'] == ''        # a volume-backed server has no image
        [root] = server['os-extended-volumes:volumes_attached']
        assert root['delete_on_termination'] is True
        cinder.volumes.append(root['id'])   # the fixture checks it is gone after
        volume = cinder.wait_volume(root['id'], 'in-use')
        assert volume['bootable'] == 'true' and volume['size'] == 1
        assert volume['attachments'][0]['server_id'] == uuid
        # The guest booted from that volume: the image's own marker, and its
        # first disk is the 1 GiB volume.
        cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-BOOTED', timeout=180)
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED vda bytes={GiB}')
    finally:
        _delete(vc, uuid)
    # delete_on_termination: the server's delete deleted its volume too.
    _wait(lambda: cinder.volume(root['id']).status_code == 404, 'the root volume to go')
    cinder.volumes.remove(root['id'])


def _action(cloud: Cloud, uuid: str, body: dict[str, Any], expect: int = 202) -> None:
    r = cloud.api('POST', f'/servers/{uuid}/action', json=body)
    assert r.status_code == expect, r.text


def _rbd_read(cinder: Cinder, volume_id: str, length: int) -> bytes:
    """The first `length` bytes of the volume's RBD image, read through librbd."""
    code = (
        'import sys, rados, rbd\n'
        'with rados.Rados(conffile=sys.argv[1], rados_id=sys.argv[2]) as c:\n'
        '    with c.open_ioctx(sys.argv[3]) as io:\n'
        '        with rbd.Image(io, sys.argv[4], read_only=True) as img:\n'
        '            sys.stdout.buffer.write(img.read(0, int(sys.argv[5])))\n')
    done = subprocess.run(
        [os.path.join(VENV, 'bin', 'python'), '-c', code, cinder.info['ceph']['conf'],
         cinder.ceph['user'], cinder.ceph['pool'], f'volume-{volume_id}', str(length)],
        capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors='replace')
    return done.stdout


def _server_attachments(cinder: Cinder, uuid: str) -> list[dict[str, Any]]:
    return [a for a in cinder.attachments() if a['instance'] == uuid]


def test_a_volume_stays_with_its_server_through_shelve_and_resize(
        volcloud: VolumeCloud, cinder_clean: Cinder) -> None:
    """Each move remakes the guest; a fresh marker written to the volume
    before each one (through librbd, while no guest or no cache holds the
    old one) is what the new guest must read from the re-connected volume."""
    vc, cinder, cloud = volcloud, cinder_clean, volcloud.cloud
    r = cloud.api('POST', '/flavors', json={'flavor': {
        'name': 'lv-vol-big', 'id': 'lv-vol-big', 'vcpus': 1, 'ram': 192, 'disk': 1}})
    assert r.status_code == 200, r.text
    volume = cinder.create_volume(size=1, name='data-moves')
    cinder.wait_volume(volume['id'], 'available')
    markers = [f'MINOVA-MARKER-{step}-{os.getpid()}' for step in ('boot', 'shelve', 'resize')]
    _rbd_write(cinder, volume['id'], f'{markers[0]}\n'.encode())
    uuid = _boot(vc, 'vol-moves', imageRef=vc.image)
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'MINOVA-DISK-ADDED vda', timeout=180)
        r = cloud.api('POST', f'/servers/{uuid}/os-volume_attachments',
                      json={'volumeAttachment': {'volumeId': volume['id']}})
        assert r.status_code == 200, r.text
        device = r.json()['volumeAttachment']['device']
        dev = device.rsplit('/', 1)[-1]
        cinder.wait_volume(volume['id'], 'in-use')
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED {dev} bytes={GiB} marker={markers[0]}')

        # Shelve (offloaded at once): no guest, the volume still the server's.
        _action(cloud, uuid, {'shelve': None})
        server = cloud.wait(uuid, 'SHELVED_OFFLOADED', timeout=180)
        assert [v['id'] for v in server['os-extended-volumes:volumes_attached']] == \
            [volume['id']]
        [kept] = _server_attachments(cinder, uuid)
        assert kept['status'] != 'attached'         # no host's connection any more
        _rbd_write(cinder, volume['id'], f'{markers[1]}\n'.encode())
        _action(cloud, uuid, {'unshelve': None})
        cloud.wait(uuid, 'ACTIVE', timeout=240)
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED {dev} bytes={GiB} marker={markers[1]}',
                           timeout=180)
        assert cinder.wait_volume(volume['id'], 'in-use')['attachments'][0]['server_id'] \
            == uuid
        assert len(_server_attachments(cinder, uuid)) == 1

        # Resize (to the same host, allowed here) and confirm.
        _rbd_write(cinder, volume['id'], f'{markers[2]}\n'.encode())
        _action(cloud, uuid, {'resize': {'flavorRef': 'lv-vol-big'}})
        cloud.wait(uuid, 'VERIFY_RESIZE', timeout=240)
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED {dev} bytes={GiB} marker={markers[2]}',
                           timeout=180)
        _action(cloud, uuid, {'confirmResize': None}, expect=204)
        server = cloud.wait(uuid, 'ACTIVE', timeout=120)
        assert server['flavor']['original_name'] == 'lv-vol-big'
        assert [v['id'] for v in server['os-extended-volumes:volumes_attached']] == \
            [volume['id']]
        [attachment] = _server_attachments(cinder, uuid)
        assert attachment['status'] == 'attached'
    finally:
        _delete(vc, uuid)
    assert cinder.wait_volume(volume['id'], 'available')['attachments'] == []


def test_rebuild_of_a_volume_backed_server_reimages_its_root_volume(
        volcloud: VolumeCloud, cinder_clean: Cinder, image_endpoint: ImageEndpoint,
        nova_events: NovaEvents, test_image: str) -> None:  # noqa: F811
    """2.93: Cinder rewrites the root volume from the image (os-reimage) while
    the server keeps it reserved, tells mini-Nova (volume-reimaged) and the
    guest boots from it again; before 2.93 another image is refused."""
    vc, cinder, cloud = volcloud, cinder_clean, volcloud.cloud
    with open(test_image, 'rb') as f:     # "another image": a second copy
        other = image_endpoint.create(cinder.project, f.read(), name='minova-test-2',
                                      disk_format='qcow2', visibility='public')
    marker = f'MINOVA-MARKER-reimage-{os.getpid()}\n'.encode()
    uuid = _boot(vc, 'bfv-rebuild', imageRef='', block_device_mapping_v2=[{
        'boot_index': 0, 'source_type': 'image', 'uuid': vc.image,
        'destination_type': 'volume', 'volume_size': 1, 'delete_on_termination': True}])
    root = None
    try:
        server = cloud.wait(uuid, 'ACTIVE', timeout=300)
        [root] = server['os-extended-volumes:volumes_attached']
        cinder.volumes.append(root['id'])   # the fixture checks it is gone after
        cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-BOOTED', timeout=180)

        r = cloud.api('POST', f'/servers/{uuid}/action',
                      json={'rebuild': {'imageRef': other['id']}},
                      headers={'OpenStack-API-Version': 'compute 2.92'})
        assert r.status_code == 400, r.text
        assert r.json()['badRequest']['message'] == (
            f"Image {other['id']} is unacceptable: Unable to rebuild with a different "
            'image for a volume-backed server.')

        # Stopped, its boot sector overwritten through librbd: as it is, the
        # volume would boot nothing.
        _action(cloud, uuid, {'os-stop': None})
        cloud.wait(uuid, 'SHUTOFF')
        _rbd_write(cinder, root['id'], marker)
        assert _rbd_read(cinder, root['id'], len(marker)) == marker
        [before] = _server_attachments(cinder, uuid)

        _action(cloud, uuid, {'rebuild': {'imageRef': other['id']}})
        server = cloud.wait(uuid, 'SHUTOFF', timeout=240)   # stopped before, stopped after
        assert server['image'] == ''
        assert [v['id'] for v in server['os-extended-volumes:volumes_attached']] == \
            [root['id']]
        volume = cinder.wait_volume(root['id'], 'in-use')
        assert volume['volume_image_metadata']['image_id'] == other['id']
        [after] = _server_attachments(cinder, uuid)
        assert after['id'] != before['id'] and after['status'] == 'attached'
        assert _rbd_read(cinder, root['id'], len(marker)) != marker
        # Cinder told mini-Nova through the external events API (2.93).
        assert any(e['name'] == 'volume-reimaged' and e['tag'] == root['id']
                   for _, _, body in nova_events.requests for e in body['events'])

        _action(cloud, uuid, {'os-start': None})
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-BOOTED', count=2, timeout=180)
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED vda bytes={GiB}', count=2)
    finally:
        _delete(vc, uuid)
        image_endpoint.delete(cinder.project, other['id'])
    if root is not None:
        _wait(lambda: cinder.volume(root['id']).status_code == 404, 'the root volume to go')
        cinder.volumes.remove(root['id'])
