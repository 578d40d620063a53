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
- A multiattach volume shared by two running guests (the first test's and
  one more): both disks <shareable/>, what one guest writes at a raw offset
  with direct I/O (typed into its shell, libvirt send-key) the other reads
  back; detaching it from one leaves the other's attachment alone.
- After each test Cinder has no attachment and no volume the test did not
  keep (the `cinder_clean` fixture checks).

Cinder posts its events to the session's stand-in Nova, which forwards them
to this module's cloud; Cinder reads images from the session's image
endpoint, which is also the cloud's `[glance]`.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.integration.cinder.conftest import Cinder, ImageEndpoint, NovaEvents, until
from tests.integration.libvirt import keyboard
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


@contextlib.contextmanager
def cinder_cloud(cinder: Cinder, nova_events: NovaEvents, host: str, extra_conf: str,
                 delete_timeout: float, conn: Any = None) -> Iterator[ProjectCloud]:
    """An all-in-one whose `[cinder]` is the session's Cinder, called as the
    admin of Cinder's project, receiving Cinder's events. On the way out it
    deletes the servers a failed test left (so that Cinder's attachments go
    the way Nova's delete takes them), removes conn's guests of it, stops it
    and keeps its log."""
    state = state_dir()
    write_events_policy(state)
    c = start_cloud(state, host, extra_conf=f"""{extra_conf}
[cinder]
endpoint_template = {cinder.info['url']}/%(project_id)s
""")
    cloud = ProjectCloud(c.compute, c.placement, c.image, c.state, c.proc, c.log)
    cloud.project = cinder.project
    nova_events.forward = cloud.compute
    try:
        yield cloud
    finally:
        nova_events.forward = None
        for server in cloud.api('GET', '/servers').json().get('servers', []):
            cloud.api('DELETE', f'/servers/{server["id"]}')
            with contextlib.suppress(AssertionError):
                cloud.wait_gone(server['id'], timeout=delete_timeout)
        if conn is not None:
            remove_guests(conn, cloud)
        stop_cloud(cloud)
        keep_log(cloud.log)
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope='module')
def volcloud(cinder: Cinder, image_endpoint: ImageEndpoint, nova_events: NovaEvents,
             test_image: str) -> Iterator[VolumeCloud]:  # noqa: F811
    if not shutil.which('openstack'):
        pytest.skip("python-openstackclient (pip install -e '.[test]')")
    with cinder_cloud(cinder, nova_events, HOST, f"""
[glance]
api_servers = {image_endpoint.url}
[key_manager]
backend = nova.keymgr.conf_key_mgr.ConfKeyManager
fixed_key = {cinder.info['fixed_key']}
""", delete_timeout=120, conn=libvirt_conn()) as cloud:
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
            image_endpoint.delete(cinder.project, image['id'])
            shutil.rmtree(home, ignore_errors=True)


def _boot(vc: VolumeCloud, name: str, **server: Any) -> str:
    body = dict({'name': name, 'flavorRef': vc.flavor, 'networks': 'none'}, **server)
    r = vc.cloud.api('POST', '/servers', json={'server': body})
    assert r.status_code == 202, r.text
    return str(r.json()['server']['id'])


def _delete(vc: VolumeCloud, uuid: str) -> None:
    r = vc.cloud.api('DELETE', f'/servers/{uuid}')
    assert r.status_code in (204, 404), r.text
    vc.cloud.wait_gone(uuid, timeout=180)


def _attach(vc: VolumeCloud, cinder: Cinder, uuid: str, volume_id: str) -> str:
    """POST os-volume_attachments, the volume then in-use; the guest's
    device name (vdX) mini-Nova gave it."""
    r = vc.cloud.api('POST', f'/servers/{uuid}/os-volume_attachments',
                     json={'volumeAttachment': {'volumeId': volume_id}})
    assert r.status_code == 200, r.text
    cinder.wait_volume(volume_id, 'in-use')
    return str(r.json()['volumeAttachment']['device']).rsplit('/', 1)[-1]


@pytest.fixture(scope='module')
def running_guest(volcloud: VolumeCloud) -> str:
    """A guest of the test image booted once for the tests that want a
    running guest; each gives it back with no volume (_give_back). The
    module's fixture deletes it."""
    uuid = _boot(volcloud, 'vol-guest', imageRef=volcloud.image)
    volcloud.cloud.wait(uuid, 'ACTIVE')
    volcloud.cloud.wait_console(uuid, 'MINOVA-DISK-ADDED vda', timeout=180)
    return uuid


def _give_back(vc: VolumeCloud, uuid: str) -> None:
    """The shared guest without the volumes a (failed) test left on it, so
    that the next test finds it as booted."""
    for attached in vc.cloud.server(uuid)['os-extended-volumes:volumes_attached']:
        vc.cloud.api('DELETE', f"/servers/{uuid}/os-volume_attachments/{attached['id']}")
    until(lambda: not vc.cloud.server(uuid)['os-extended-volumes:volumes_attached'],
          'the shared guest to have no volume')


def test_volume_attach_extend_reboot_detach_on_a_running_guest(
        volcloud: VolumeCloud, cinder_clean: Cinder, running_guest: str) -> None:
    vc, cinder, cloud = volcloud, cinder_clean, volcloud.cloud
    marker = f'MINOVA-MARKER-{os.getpid()}'
    volume = cinder.create_volume(size=1, name='data1')
    cinder.wait_volume(volume['id'], 'available')
    cinder.rbd_write(volume['id'], f'{marker}\n'.encode())
    uuid = running_guest
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
        until(lambda: cinder.volume(volume['id']).json()['volume']['size'] == 2,
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
        _give_back(vc, uuid)
    assert cinder.wait_volume(volume['id'], 'available')['size'] == 2


# -- multiattach between two real guests -----------------------------------------

# Where the guests write and read the shared disk: 1 MiB in, clear of the
# first sector the test image's disk watcher reads.
SHARED_SECTOR = 2048
RBD_FEATURE_EXCLUSIVE_LOCK = 1 << 2     # librbd's feature bit


def _disk_of(console: str, marker: str) -> str:
    """The guest's name (vdX) of the disk it saw added holding marker."""
    [name] = re.findall(rf'MINOVA-DISK-ADDED (vd[a-z]+) bytes=\d+ marker={marker}\b',
                        console)
    return name


def _in_guest(cloud: Cloud, dom: Any, uuid: str, key: str, command: str) -> str:
    """command typed into the guest's shell, its output (one line) printed on
    the serial console after key=; the output."""
    keyboard.type_line(dom, f'echo {key}=$({command}) >/dev/ttyS0')
    out = cloud.wait_console(uuid, f'{key}=', timeout=120)
    return re.findall(rf'^{key}=(.*?)\r?$', out, re.M)[-1]


_asked = itertools.count()


def _gone_from_guest(cloud: Cloud, dom: Any, uuid: str, disk: str) -> bool:
    """Whether the guest's /sys/block lists its boot disk and not `disk` now
    (False when it did not answer in time: asked again)."""
    try:
        listed = _in_guest(cloud, dom, uuid, f'MINOVA-MA-DISKS{next(_asked)}',
                           'ls /sys/block').split()
    except AssertionError:
        return False
    return 'vda' in listed and disk not in listed


def _volume_attachments(cinder: Cinder, volume_id: str) -> list[dict[str, Any]]:
    return [x for x in cinder.attachments() if x['volume_id'] == volume_id]


def _shared_disk(dom: Any, volume_id: str) -> ET.Element:
    """The live domain's disk of the volume."""
    [disk] = [d for d in ET.fromstring(dom.XMLDesc(0)).findall('./devices/disk')
              if d.findtext('serial') == volume_id]
    return disk


def test_a_multiattach_volume_shared_by_two_running_guests(
        volcloud: VolumeCloud, cinder_clean: Cinder, running_guest: str,
        multiattach_type: str) -> None:
    """One RBD volume (a multiattach volume type) attached to two running
    guests of this host: both QEMUs open it (the disks are <shareable/>, the
    image has no exclusive lock to fight over), what guest A writes with
    direct I/O guest B reads back with direct I/O, and each detach deletes
    only its own server's attachment."""
    vc, cinder, cloud = volcloud, cinder_clean, volcloud.cloud
    tag = f'{os.getpid():X}{int(time.time()) % 65536:04X}'
    marker, shared = f'MINOVA-MARKER-MA{tag}', f'MINOVA-SHARED-{tag}'
    volume = cinder.create_volume(size=1, name='shared', volume_type=multiattach_type)
    assert cinder.wait_volume(volume['id'], 'available')['multiattach'] is True
    # Cinder's RBD driver makes a multiattach volume without exclusive-lock
    # (and the features that need it): two QEMUs write to it at once.
    assert not cinder.rbd_state(volume['id'])['features'] & RBD_FEATURE_EXCLUSIVE_LOCK
    cinder.rbd_write(volume['id'], f'{marker}\n'.encode())
    a = running_guest
    b = _boot(vc, 'vol-guest-b', imageRef=vc.image)     # meanwhile
    conn = libvirt_conn()
    try:
        for uuid in (a, b):
            cloud.wait(uuid, 'ACTIVE')
            cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-READY', timeout=180)
            # (Cinder reserves it for the second only once it is in-use)
            _attach(vc, cinder, uuid, volume['id'])
        until(lambda: sorted(x['instance'] for x in _volume_attachments(cinder, volume['id'])
                             if x['status'] == 'attached') == sorted((a, b)),
              'two attached attachments')
        disks = {u: _disk_of(cloud.wait_console(u, f'marker={marker}'), marker)
                 for u in (a, b)}
        doms = {u: conn.lookupByName(cloud.server(u)['OS-EXT-SRV-ATTR:instance_name'])
                for u in (a, b)}
        for u in (a, b):
            disk = _shared_disk(doms[u], volume['id'])
            assert disk.find('shareable') is not None, ET.tostring(disk)
            assert disk.find("driver[@cache='none']") is not None, ET.tostring(disk)
            assert disk.find(f"source[@name='{cinder.ceph['pool']}/volume-{volume['id']}']") \
                is not None, ET.tostring(disk)
        # Both QEMUs have the image open: librbd lists a watcher for each.
        assert len(cinder.rbd_state(volume['id'])['watchers']) == 2

        offset = f'bs=512 count=1 skip={SHARED_SECTOR} iflag=direct'
        read = f"dd if=/dev/{disks[b]} {offset} 2>/dev/null|head -n1|tr -cd A-Z0-9-"
        assert _in_guest(cloud, doms[b], b, 'MINOVA-MA-READ1', read) == ''
        wrote = _in_guest(
            cloud, doms[a], a, 'MINOVA-MA-WROTE',
            f'echo {shared}|dd of=/dev/{disks[a]} bs=512 seek={SHARED_SECTOR} '
            'conv=sync oflag=direct 2>/dev/null;echo $?')
        assert wrote == '0'
        assert _in_guest(cloud, doms[b], b, 'MINOVA-MA-READ2', read) == shared
        start = SHARED_SECTOR * 512
        assert cinder.rbd_read(volume['id'], start + 512)[start:].startswith(
            f'{shared}\n'.encode())

        # Detached from A: only A's attachment goes, B keeps the disk.
        r = cloud.api('DELETE', f"/servers/{a}/os-volume_attachments/{volume['id']}")
        assert r.status_code == 202, r.text
        # Asked of the guest itself (not counted in its console log, whose
        # window the earlier tests' boots may have moved past).
        until(lambda: _gone_from_guest(cloud, doms[a], a, disks[a]), 'the disk to leave A',
              timeout=300)
        until(lambda: [x['instance'] for x in _volume_attachments(cinder, volume['id'])]
              == [b], "A's attachment to go")
        [left] = _volume_attachments(cinder, volume['id'])
        assert left['status'] == 'attached'
        shown = cinder.wait_volume(volume['id'], 'in-use')
        assert [x['server_id'] for x in shown['attachments']] == [b]
        assert cloud.server(a)['os-extended-volumes:volumes_attached'] == []
        assert [v['id'] for v in cloud.server(b)['os-extended-volumes:volumes_attached']] \
            == [volume['id']]
        assert _shared_disk(doms[b], volume['id']).find('shareable') is not None
        assert not [d for d in ET.fromstring(doms[a].XMLDesc(0)).findall('./devices/disk')
                    if d.findtext('serial') == volume['id']]
        assert _in_guest(cloud, doms[b], b, 'MINOVA-MA-READ3', read) == shared

        # Detached from B too: available, no attachment left.
        r = cloud.api('DELETE', f"/servers/{b}/os-volume_attachments/{volume['id']}")
        assert r.status_code == 202, r.text
        assert cinder.wait_volume(volume['id'], 'available')['attachments'] == []
        cloud.wait_console(b, f'MINOVA-DISK-REMOVED {disks[b]}')
        assert _volume_attachments(cinder, volume['id']) == []
        assert cinder.rbd_state(volume['id'])['watchers'] == []
    finally:
        conn.close()
        _delete(vc, b)
        _give_back(vc, a)


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
    until(lambda: cinder.volume(root['id']).status_code == 404, 'the root volume to go')
    cinder.volumes.remove(root['id'])


def _action(cloud: Cloud, uuid: str, body: dict[str, Any], expect: int = 202) -> None:
    r = cloud.api('POST', f'/servers/{uuid}/action', json=body)
    assert r.status_code == expect, r.text


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
    cinder.rbd_write(volume['id'], f'{markers[0]}\n'.encode())
    uuid = _boot(vc, 'vol-moves', imageRef=vc.image)
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'MINOVA-DISK-ADDED vda', timeout=180)
        dev = _attach(vc, cinder, uuid, volume['id'])
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED {dev} bytes={GiB} marker={markers[0]}')

        # Shelve (offloaded at once): no guest, the volume still the server's.
        _action(cloud, uuid, {'shelve': None})
        server = cloud.wait(uuid, 'SHELVED_OFFLOADED', timeout=180)
        assert [v['id'] for v in server['os-extended-volumes:volumes_attached']] == \
            [volume['id']]
        [kept] = _server_attachments(cinder, uuid)
        assert kept['status'] != 'attached'         # no host's connection any more
        cinder.rbd_write(volume['id'], f'{markers[1]}\n'.encode())
        _action(cloud, uuid, {'unshelve': None})
        cloud.wait(uuid, 'ACTIVE', timeout=240)
        cloud.wait_console(uuid, f'MINOVA-DISK-ADDED {dev} bytes={GiB} marker={markers[1]}',
                           timeout=180)
        assert cinder.wait_volume(volume['id'], 'in-use')['attachments'][0]['server_id'] \
            == uuid
        assert len(_server_attachments(cinder, uuid)) == 1

        # Resize (to the same host, allowed here) and confirm.
        cinder.rbd_write(volume['id'], f'{markers[2]}\n'.encode())
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
        cinder.rbd_write(root['id'], marker)
        assert cinder.rbd_read(root['id'], len(marker)) == marker
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
        assert cinder.rbd_read(root['id'], len(marker)) != marker
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
        until(lambda: cinder.volume(root['id']).status_code == 404, 'the root volume to go')
        cinder.volumes.remove(root['id'])
