"""A hypervisor that only pretends: guests are entries in a dict.

Sizes come from [fake_driver]; spawn_delay imitates a slow hypervisor and
fail_spawn_names makes chosen builds fail so reschedules can be exercised.
"""
from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from minova import exception, keymgr, states
from minova.conf import CONF
from minova.context import RequestContext
from minova.virt import driver
from minova.virt.driver import ConsoleInfo, GuestInfo, MigrationProgress, NodeResources

if TYPE_CHECKING:
    from minova.clients.placement import AllocationRequest
    from minova.db.instances import VIF, Instance


class FakeDriver(driver.ComputeDriver):
    # What this driver implements; the supports_* of CAPABILITY_TRAITS it
    # lacks (tags, trusted certificates, ...) are absent, so not reported.
    capabilities = {'supports_reboot': True, 'supports_migrate_to_same_host': True,
                    'supports_evacuate': True, 'supports_multiattach': True,
                    'supports_attach_interface': True, 'supports_extend_volume': True,
                    'supports_image_type_raw': True, 'supports_image_type_qcow2': True}

    def __init__(self) -> None:
        self._guests: dict[str, dict[str, Any]] = {}
        # Guests resized away from this host, kept until confirm or revert.
        self._migrated: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.host = CONF.host
        # Live migrations: the ones leaving (their abort/force events) and the
        # ones coming here (pre_live_migration's migrate_data).
        self._outgoing: dict[str, _LiveMigration] = {}
        self._incoming: dict[str, dict[str, Any]] = {}

    def init_host(self, host: str, deployment_id: str | None = None) -> None:
        self.host = host

    def get_available_nodes(self) -> list[str]:
        return [self.host]

    def get_available_resource(self, nodename: str) -> NodeResources:
        with self._lock:
            guests = list(self._guests.values())
        fc = CONF.fake_driver
        return {
            'vcpus': fc.vcpus, 'memory_mb': fc.memory_mb, 'local_gb': fc.disk_gb,
            'vcpus_used': sum(g['vcpus'] for g in guests),
            'memory_mb_used': sum(g['memory_mb'] for g in guests),
            'local_gb_used': sum(g['root_gb'] for g in guests),
            'hypervisor_type': 'fake', 'hypervisor_version': 1000,
            'hypervisor_hostname': nodename,
            'cpu_info': json.dumps({'arch': 'x86_64', 'model': 'fake', 'vendor': 'fake',
                                    'topology': {'sockets': 1, 'cores': fc.vcpus,
                                                 'threads': 1}}),
            'disk_available_least': fc.disk_gb,
        }

    def list_instance_uuids(self) -> list[str]:
        with self._lock:
            return list(self._guests)

    def spawn(self, context: RequestContext, instance: Instance,
              image_meta: dict[str, Any], injected_files: list[Any],
              admin_password: str | None, allocations: AllocationRequest,
              network_info: list[VIF],
              block_device_info: dict[str, Any] | None = None) -> None:
        if CONF.fake_driver.spawn_delay:
            time.sleep(CONF.fake_driver.spawn_delay)
        if instance.get('display_name') in CONF.fake_driver.fail_spawn_names:
            raise RuntimeError(f'Fake spawn failure on {self.host}')
        self._create(instance)
        with self._lock:
            guest = self._guests[instance['uuid']]
            guest['vifs'] = {v['id']: v for v in network_info}
            # Volumes the manager connected for the build (boot from volume: the root).
            for m in (block_device_info or {}).get('block_device_mapping') or []:
                guest.setdefault('volumes', {})[m['mount_device']] = m['connection_info']
            guest['root_device_name'] = (block_device_info or {}).get('root_device_name')

    def _create(self, instance: Instance) -> None:
        """A running guest made from the instance's record (spawn, and the
        recovery of a guest that vanished)."""
        with self._lock:
            old = self._guests.get(instance['uuid']) or {}
            self._guests[instance['uuid']] = {
                'state': states.RUNNING, 'vcpus': instance.get('vcpus') or 0,
                'memory_mb': instance.get('memory_mb') or 0,
                'root_gb': instance.get('root_gb') or 0,
                'image_ref': instance.get('image_ref')}
            if old.get('volumes'):     # a remade guest keeps its volumes, as libvirt's
                self._guests[instance['uuid']]['volumes'] = old['volumes']

    def rebuild(self, context: RequestContext, instance: Instance,
                image_meta: dict[str, Any], network_info: list[VIF],
                power_on: bool = True, preserve_ephemeral: bool = False,
                block_device_info: dict[str, Any] | None = None) -> None:
        """The guest made again from its new image (recorded: 'image_ref',
        'rebuilds'), running or, for a stopped server, shut off."""
        if CONF.fake_driver.spawn_delay:
            time.sleep(CONF.fake_driver.spawn_delay)
        if instance.get('display_name') in CONF.fake_driver.fail_spawn_names:
            raise RuntimeError(f'Fake rebuild failure on {self.host}')
        with self._lock:
            rebuilds = self._guests.get(instance['uuid'], {}).get('rebuilds', 0)
        self._create(instance)
        self._record_volumes(instance, block_device_info)
        with self._lock:
            guest = self._guests[instance['uuid']]
            guest['image_ref'] = image_meta.get('id') or instance.get('image_ref')
            guest['rebuilds'] = rebuilds + 1
            if not power_on:
                guest['state'] = states.SHUTDOWN

    def destroy(self, context: RequestContext, instance: Instance,
                network_info: list[VIF],
                block_device_info: dict[str, Any] | None = None,
                destroy_disks: bool = True) -> None:
        with self._lock:
            self._guests.pop(instance['uuid'], None)

    def _set_state(self, instance: Instance, state: int) -> None:
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest['state'] = state

    def reboot(self, context: RequestContext, instance: Instance,
               network_info: list[VIF], reboot_type: str,
               block_device_info: dict[str, Any] | None = None) -> None:
        # As libvirt: a soft reboot needs the guest; a hard one remakes it.
        if reboot_type == 'SOFT':
            self._set_state(instance, states.RUNNING)
        else:
            self._create(instance)

    def power_off(self, instance: Instance, timeout: int = 0,
                  retry_interval: int = 0) -> None:
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is not None:   # a vanished guest is off already
                guest['state'] = states.SHUTDOWN

    def power_on(self, context: RequestContext, instance: Instance,
                 network_info: list[VIF],
                 block_device_info: dict[str, Any] | None = None) -> None:
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is not None:
                guest['state'] = states.RUNNING
                return
        self._create(instance)

    # Pause and suspend keep their state here, as Nova's fake driver does.
    def pause(self, instance: Instance) -> None:
        self._set_state(instance, states.PAUSED_POWER)

    def unpause(self, instance: Instance) -> None:
        self._set_state(instance, states.RUNNING)

    def suspend(self, context: RequestContext, instance: Instance) -> None:
        self._set_state(instance, states.SUSPENDED_POWER)

    def resume(self, context: RequestContext, instance: Instance,
               network_info: list[VIF],
               block_device_info: dict[str, Any] | None = None) -> None:
        self._set_state(instance, states.RUNNING)

    def set_admin_password(self, instance: Instance, new_pass: str) -> None:
        """Recorded as the guest's 'admin_password'."""
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest['admin_password'] = new_pass

    def rescue(self, context: RequestContext, instance: Instance, network_info: list[VIF],
               image_meta: dict[str, Any], rescue_password: str,
               block_device_info: dict[str, Any] | None = None) -> None:
        """Recorded: 'rescue_image_ref' (the image the guest now boots from)
        and 'rescue_password'; the guest runs."""
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest['rescue_image_ref'] = image_meta.get('id') or instance.get('image_ref')
            guest['rescue_password'] = rescue_password
            guest['state'] = states.RUNNING

    # -- resize: the guest moves from the source's table to the destination's --

    def migrate_disk_and_power_off(self, context: RequestContext, instance: Instance,
                                   dest: str, flavor: dict[str, Any],
                                   network_info: list[VIF]) -> None:
        if CONF.fake_driver.migrate_delay:
            time.sleep(CONF.fake_driver.migrate_delay)
        with self._lock:
            guest = self._guests.pop(instance['uuid'], None)
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest['state'] = states.SHUTDOWN
            self._migrated[instance['uuid']] = guest

    def finish_migration(self, context: RequestContext, instance: Instance,
                         network_info: list[VIF], power_on: bool = True,
                         block_device_info: dict[str, Any] | None = None) -> None:
        if instance.get('display_name') in CONF.fake_driver.fail_finish_migration_names:
            raise RuntimeError(f'Fake finish_migration failure on {self.host}')
        self._create(instance)
        self._record_volumes(instance, block_device_info)
        if not power_on:
            self._set_state(instance, states.SHUTDOWN)

    def confirm_migration(self, context: RequestContext, instance: Instance,
                          network_info: list[VIF]) -> None:
        with self._lock:
            self._migrated.pop(instance['uuid'], None)

    def finish_revert_migration(self, context: RequestContext, instance: Instance,
                                network_info: list[VIF], power_on: bool = True,
                                block_device_info: dict[str, Any] | None = None) -> None:
        with self._lock:
            guest = self._migrated.pop(instance['uuid'], None)
        if guest is None:
            # A restarted fake hypervisor has forgotten its guests: the kept
            # one is made again from the record (the old flavor).
            self._create(instance)
            with self._lock:
                guest = self._guests[instance['uuid']]
        with self._lock:
            guest['state'] = states.RUNNING if power_on else states.SHUTDOWN
            self._guests[instance['uuid']] = guest
        self._record_volumes(instance, block_device_info)

    def _record_volumes(self, instance: Instance,
                        block_device_info: dict[str, Any] | None) -> None:
        """The volumes of block_device_info are the guest's (connected here)."""
        mappings = (block_device_info or {}).get('block_device_mapping') or []
        if not mappings:
            return
        with self._lock:
            guest = self._guests[instance['uuid']]
            guest['volumes'] = {m['mount_device']: m['connection_info'] for m in mappings}

    # -- live migration: each host's driver holds its own guests, so the source
    # forgets the guest when the move ends and the destination adds it --------

    LIVE_MIGRATION_STEPS = 10
    FAKE_MEMORY_BYTES = 512 * 1024 * 1024   # what a fake guest's "RAM" copies

    def check_can_live_migrate_destination(self, context: RequestContext,
                                           instance: Instance,
                                           block_migration: bool | None) -> dict[str, Any]:
        # 'auto' on a host without shared storage is a block migration.
        return {'dest_host': self.host,
                'block_migration': True if block_migration is None else block_migration}

    def pre_live_migration(self, context: RequestContext, instance: Instance,
                           migrate_data: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._incoming[instance['uuid']] = dict(migrate_data)
        return dict(migrate_data, pre_live_migration_done=True)

    def live_migration(self, context: RequestContext, instance: Instance, dest: str,
                       migrate_data: dict[str, Any],
                       progress: Callable[[MigrationProgress], None]) -> None:
        """[fake_driver] live_migration_seconds in LIVE_MIGRATION_STEPS steps;
        force_complete ends it at the next step, abort raises MigrationAborted,
        a name in fail_live_migration_names fails it halfway."""
        self.get_info(instance)
        uuid = instance['uuid']
        job = _LiveMigration()
        with self._lock:
            self._outgoing[uuid] = job
        steps = self.LIVE_MIGRATION_STEPS
        total = self.FAKE_MEMORY_BYTES
        disk_total = (instance.get('root_gb') or 0) * 1024 ** 3 \
            if migrate_data.get('block_migration') else 0
        try:
            for step in range(1, steps + 1):
                if job.abort.wait(CONF.fake_driver.live_migration_seconds / steps):
                    raise exception.MigrationAborted(instance_id=uuid)
                if (step > steps // 2 and instance.get('display_name')
                        in CONF.fake_driver.fail_live_migration_names):
                    raise exception.LiveMigrationFailed(
                        instance_id=uuid, reason=f'fake failure on {self.host}')
                done = steps if job.force.is_set() else step
                progress({'memory_total': total, 'memory_processed': total * done // steps,
                          'memory_remaining': total - total * done // steps,
                          'disk_total': disk_total,
                          'disk_processed': disk_total * done // steps,
                          'disk_remaining': disk_total - disk_total * done // steps})
                if done == steps:
                    break
        finally:
            with self._lock:
                self._outgoing.pop(uuid, None)
        with self._lock:   # the guest runs on dest now
            self._guests.pop(uuid, None)

    def _outgoing_job(self, instance: Instance) -> _LiveMigration:
        with self._lock:
            job = self._outgoing.get(instance['uuid'])
        if job is None:
            raise exception.InstanceNotFound(instance_id=instance['uuid'])
        return job

    def live_migration_force_complete(self, instance: Instance) -> None:
        self._outgoing_job(instance).force.set()

    def live_migration_abort(self, instance: Instance) -> None:
        self._outgoing_job(instance).abort.set()

    def post_live_migration_at_source(self, context: RequestContext, instance: Instance,
                                      migrate_data: dict[str, Any]) -> None:
        with self._lock:
            self._guests.pop(instance['uuid'], None)

    def post_live_migration_at_destination(self, context: RequestContext,
                                           instance: Instance,
                                           migrate_data: dict[str, Any]) -> None:
        with self._lock:
            self._incoming.pop(instance['uuid'], None)
        self._create(instance)
        # Its volumes, connected here (what the manager put in migrate_data).
        self._record_volumes(instance, migrate_data.get('block_device_info'))
        if instance.get('vm_state') == states.PAUSED:   # a paused guest arrives paused
            self._set_state(instance, states.PAUSED_POWER)

    def rollback_live_migration_at_destination(self, context: RequestContext,
                                               instance: Instance,
                                               migrate_data: dict[str, Any]) -> None:
        with self._lock:
            self._incoming.pop(instance['uuid'], None)

    def unrescue(self, context: RequestContext, instance: Instance) -> None:
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest.pop('rescue_image_ref', None)
            guest.pop('rescue_password', None)
            guest['state'] = states.RUNNING

    def trigger_crash_dump(self, instance: Instance) -> None:
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest['nmi'] = guest.get('nmi', 0) + 1   # what a test can look at

    def snapshot(self, context: RequestContext, instance: Instance, image_id: str,
                 update_task_state: Callable[..., None]) -> None:
        """A few placeholder bytes uploaded, so the image becomes active (a
        server booted from it comes up on this driver too)."""
        self.get_info(instance)
        update_task_state(states.IMAGE_PENDING_UPLOAD)
        update_task_state(states.IMAGE_UPLOADING, expected_state=states.IMAGE_PENDING_UPLOAD)
        with tempfile.NamedTemporaryFile(prefix='minova-fake-snapshot-') as f:
            f.write(FAKE_SNAPSHOT_DATA)
            f.flush()
            driver.upload_snapshot(image_id, f.name, 'raw')

    def attach_interface(self, context: RequestContext, instance: Instance,
                         image_meta: dict[str, Any], vif: VIF) -> None:
        """The NIC recorded on the guest ('vifs'); a guest that is gone: InstanceNotFound.
        (The fake plugs nothing, so it waits for no network-vif-plugged, as Nova's.)"""
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest.setdefault('vifs', {})[vif['id']] = vif

    def detach_interface(self, context: RequestContext, instance: Instance,
                         vif: VIF) -> None:
        with self._lock:
            guest = self._guests.get(instance['uuid']) or {}
            guest.get('vifs', {}).pop(vif['id'], None)

    # -- volumes: recorded on the guest ('volumes': mountpoint -> connection info) --

    def get_volume_connector(self, instance: Instance) -> dict[str, Any]:
        return {'ip': CONF.my_ip, 'host': self.host, 'initiator': None,
                'multipath': False, 'enforce_multipath': False, 'platform': 'x86_64',
                'os_type': 'linux', 'do_local_attach': False}

    def attach_volume(self, context: RequestContext, connection_info: dict[str, Any],
                      instance: Instance, mountpoint: str, disk_bus: str | None = None,
                      device_type: str | None = None,
                      encryption: dict[str, Any] | None = None) -> None:
        """Recorded on the guest. An encrypted volume's key is fetched from the
        key manager as a real driver must to decrypt it (so a missing key
        manager fails here too), and its metadata recorded."""
        if (encryption or {}).get('encryption_key_id'):
            keymgr.passphrase(context, (encryption or {})['encryption_key_id'])
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest.setdefault('volumes', {})[mountpoint] = connection_info
            if encryption:
                guest.setdefault('volume_encryption', {})[mountpoint] = dict(encryption)

    def detach_volume(self, context: RequestContext, connection_info: dict[str, Any],
                      instance: Instance, mountpoint: str,
                      encryption: dict[str, Any] | None = None) -> None:
        with self._lock:
            guest = self._guests.get(instance['uuid']) or {}
            guest.get('volumes', {}).pop(mountpoint, None)
            guest.get('volume_encryption', {}).pop(mountpoint, None)

    def extend_volume(self, context: RequestContext, connection_info: dict[str, Any],
                      instance: Instance, requested_size: int) -> None:
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest.setdefault('volume_sizes', {})[connection_info.get('serial')] = \
                requested_size

    def swap_volume(self, context: RequestContext, old_connection_info: dict[str, Any],
                    new_connection_info: dict[str, Any], instance: Instance,
                    mountpoint: str, resize_to: int) -> None:
        with self._lock:
            guest = self._guests.get(instance['uuid'])
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance['uuid'])
            guest.setdefault('volumes', {})[mountpoint] = new_connection_info

    def guest_volume_sizes(self, instance_uuid: str) -> dict[str, int]:
        """Volume id -> bytes, as extend_volume last told the fake guest."""
        with self._lock:
            return dict((self._guests.get(instance_uuid) or {}).get('volume_sizes') or {})

    def guest_volume_encryption(self, instance_uuid: str) -> dict[str, dict[str, Any]]:
        """Mountpoint -> the encryption metadata of the encrypted volumes attached."""
        with self._lock:
            return dict((self._guests.get(instance_uuid) or {}).get('volume_encryption')
                        or {})

    def guest_volumes(self, instance_uuid: str) -> dict[str, dict[str, Any]]:
        """What the fake guest has attached (mountpoint -> connection info)."""
        with self._lock:
            return dict((self._guests.get(instance_uuid) or {}).get('volumes') or {})

    def get_info(self, instance: Instance) -> GuestInfo:
        with self._lock:
            guest = self._guests.get(instance['uuid'])
        if guest is None:
            raise exception.InstanceNotFound(instance_id=instance['uuid'])
        return {'state': guest['state']}

    def get_console_output(self, context: RequestContext, instance: Instance) -> str:
        self.get_info(instance)
        # A boot log that ends in the three lines Nova's fake driver prints: the
        # last three lines (length=3) are Nova's, and the whole log is longer,
        # as Tempest's unlimited-length console test wants.
        return FAKE_CONSOLE_LOG

    # A fake guest's consoles are at fixed ports of the configured addresses (no
    # server listens there), so the API and the token life cycle work on fake.
    FAKE_VNC_PORT = 5900
    FAKE_SERIAL_PORT = 10000

    def get_vnc_console(self, context: RequestContext, instance: Instance) -> ConsoleInfo:
        self.get_info(instance)
        return {'host': CONF.vnc.server_proxyclient_address, 'port': self.FAKE_VNC_PORT,
                'internal_access_path': None}

    def get_serial_console(self, context: RequestContext, instance: Instance
                           ) -> ConsoleInfo:
        self.get_info(instance)
        return {'host': CONF.serial_console.proxyclient_address,
                'port': self.FAKE_SERIAL_PORT, 'internal_access_path': None}

    def get_host_uptime(self) -> str:
        # As Nova's fake driver: no host to ask, so the API answers 501.
        raise NotImplementedError

    def get_diagnostics(self, instance: Instance) -> dict[str, Any]:
        self.get_info(instance)
        return dict(FAKE_DIAGNOSTICS)

    def get_instance_diagnostics(self, instance: Instance) -> dict[str, Any]:
        self.get_info(instance)
        # Nova's fake values: a libvirt/KVM guest (the API's enum of drivers has
        # no 'fake'; Tempest checks it).
        return {
            'state': 'running', 'driver': 'libvirt', 'hypervisor': 'kvm',
            'hypervisor_os': 'ubuntu', 'uptime': 46664, 'config_drive': True,
            'num_cpus': 1, 'num_nics': 1, 'num_disks': 1,
            'cpu_details': [{'id': 0, 'time': 17300000000, 'utilisation': 15}],
            'nic_details': [{'mac_address': '01:23:45:67:89:ab', 'rx_octets': 2070139,
                             'rx_errors': 100, 'rx_drop': 200, 'rx_packets': 26701,
                             'rx_rate': 300, 'tx_octets': 140208, 'tx_errors': 400,
                             'tx_drop': 500, 'tx_packets': 662, 'tx_rate': 600}],
            'disk_details': [{'read_bytes': 262144, 'read_requests': 112,
                              'write_bytes': 5778432, 'write_requests': 488,
                              'errors_count': 1}],
            'memory_details': {'maximum': 524288, 'used': 0},
        }


class _LiveMigration:
    """A fake live migration under way: what abort and force_complete signal."""

    def __init__(self) -> None:
        self.abort = threading.Event()
        self.force = threading.Event()


# What a fake guest's snapshot holds.
FAKE_SNAPSHOT_DATA = b'minova fake snapshot\n'

# A fake guest's console log: a few boot lines, then the three Nova's fake prints.
FAKE_CONSOLE_LOG = ('fake guest booting\n'
                    'fake guest: kernel loaded\n'
                    'fake guest: network up\n'
                    'FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE')

# The free-form diagnostics (before 2.48) of a fake guest, as Nova's fake has them.

FAKE_DIAGNOSTICS: dict[str, int] = {
    'cpu0_time': 17300000000, 'memory': 524288, 'vda_errors': -1, 'vda_read': 262144,
    'vda_read_req': 112, 'vda_write': 5778432, 'vda_write_req': 488,
    'vnet1_rx': 2070139, 'vnet1_rx_drop': 0, 'vnet1_rx_errors': 0,
    'vnet1_rx_packets': 26701, 'vnet1_tx': 140208, 'vnet1_tx_drop': 0,
    'vnet1_tx_errors': 0, 'vnet1_tx_packets': 662,
}
