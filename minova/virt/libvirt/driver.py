"""LibvirtDriver: guests as persistent libvirt domains under KVM or QEMU.

Each instance owns $instances_path/<uuid>/ holding disk (a qcow2 overlay on
the cached image), disk.config (the config drive, when asked for) and
console.log (the guest's serial port). Domains carry a minova metadata
element naming the deployment and the host that own them, so the driver only
ever lists or cleans up its own: another deployment's guests on the same
libvirtd, and domains minova did not create, are never touched.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import string
import subprocess
import threading
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from minova import exception, states
from minova.clients import image as image_client
from minova.conf import CONF
from minova.conf import console as console_conf
from minova.context import RequestContext
from minova.virt import configdrive, driver, image_meta
from minova.virt.driver import GuestInfo, NodeResources
from minova.virt.image_meta import from_system_metadata as recorded_image
from minova.virt.libvirt import config as vconfig
from minova.virt.libvirt import (
    diagnostics,
    imagecache,
    interfaces,
    metadata_socket,
    migration,
    remotefs,
    vif,
)
from minova.virt.libvirt import volume as lvvolume
from minova.virt.libvirt.host import Host
from minova.virt.libvirt.imagecache import ImageCache
from minova.virt.spawn_steps import StepClock

if TYPE_CHECKING:
    from minova.clients.placement import AllocationRequest
    from minova.db.instances import VIF, Instance

LOG = logging.getLogger(__name__)

MAX_CONSOLE_BYTES = 100 * 1024
DEFAULT_CMDLINE = 'root=/dev/vda console=tty0 console=ttyS0'
POLL = 0.2
SHUTDOWN_RETRY_INTERVAL = 5.0
# Serial ports are chosen one guest at a time (two spawns must not pick one port).
_PORT_LOCK = threading.Lock()
_PORTS_GIVEN: dict[int, float] = {}   # port -> when, until its domain names it


def _libvirt() -> Any:
    import libvirt  # imported late: the fake driver must not need libvirt-python
    return libvirt


def _power_state(lv_state: int) -> int:
    lv = _libvirt()
    return {
        lv.VIR_DOMAIN_NOSTATE: states.NOSTATE, lv.VIR_DOMAIN_RUNNING: states.RUNNING,
        lv.VIR_DOMAIN_BLOCKED: states.RUNNING, lv.VIR_DOMAIN_PAUSED: states.PAUSED_POWER,
        lv.VIR_DOMAIN_SHUTDOWN: states.SHUTDOWN, lv.VIR_DOMAIN_SHUTOFF: states.SHUTDOWN,
        lv.VIR_DOMAIN_CRASHED: states.CRASHED,
        lv.VIR_DOMAIN_PMSUSPENDED: states.SUSPENDED_POWER,
    }.get(lv_state, states.NOSTATE)


def instance_name(instance: Instance) -> str:
    return CONF.instance_name_template % instance['id']


def instances_path() -> str:
    return CONF.instances_path or os.path.join(CONF.state_path, 'instances')


def instance_dir(instance: Instance) -> str:
    return os.path.join(instances_path(), instance['uuid'])


class _Background:
    """fn run in a thread of its own; result() re-raises what it raised."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed to result()
            self._error = e

    def join(self) -> None:
        self._thread.join()

    def result(self) -> None:
        if self._error is not None:
            raise self._error


class LibvirtDriver(lvvolume.VolumeMixin, driver.ComputeDriver):
    capabilities = {'supports_reboot': True, 'supports_user_mode_network': True,
                    'supports_config_drive': True, 'persistent_guests': True,
                    'supports_evacuate': True, 'supports_multiattach': True,
                    # Reported to placement as traits (driver.CAPABILITY_TRAITS):
                    # only what this driver does; the image cache takes raw and
                    # qcow2 (imagecache.DISK_FORMATS); no device tags are shown
                    # to guests, so no tagging capability.
                    'supports_attach_interface': True, 'supports_extend_volume': True,
                    'supports_image_type_raw': True, 'supports_image_type_qcow2': True}

    def __init__(self) -> None:
        self.host_name = CONF.host
        self.deployment_id: str | None = None
        self._host: Host | None = None
        self.images = ImageCache(image_client.Client())
        self.steps = StepClock()    # a spawn's timed steps, for the boot timeline
        # Live migrations running from here: uuid -> domain, and the ones an
        # operator forced (guest paused) or aborted.
        self._migrating: dict[str, Any] = {}
        self._forced: set[str] = set()
        self._aborted: set[str] = set()
        # The guests' metadata sockets (metadata_socket.py): opened when a
        # guest is defined to start, closed when it stops or goes.
        self.metadata = metadata_socket.Listeners()

    # -- connection and host ---------------------------------------------------

    @property
    def host(self) -> Host:
        if self._host is None:
            self._host = Host()
        return self._host

    def _conn(self) -> Any:
        return self.host.get_connection()

    def init_host(self, host: str, deployment_id: str | None = None) -> None:
        self.host_name = host
        self.deployment_id = deployment_id
        os.makedirs(instances_path(), mode=0o755, exist_ok=True)
        conn = self._conn()
        LOG.info('libvirt %s at %s, virt_type=%s', conn.getLibVersion(), self.host.uri,
                 self.host.virt_type)
        # The guests running on across the restart get their sockets back
        # (their QEMU reconnects by itself).
        for dom in self._our_domains():
            with contextlib.suppress(_libvirt().libvirtError):
                if dom.isActive():
                    self._metadata_listen(dom.UUIDString(), dom)

    def _metadata_listen(self, uuid: str, dom: Any) -> None:
        """The metadata socket of a domain about to run (or running), as its
        definition names it; nothing for a domain without one."""
        found = vconfig.metadata_socket(dom.XMLDesc(0))
        if found is not None:
            self.metadata.open(uuid, found[1], found[0])

    def get_available_nodes(self) -> list[str]:
        return [self.host_name]

    def _cpu_info(self) -> str:
        caps = ET.fromstring(self._conn().getCapabilities())
        cpu = caps.find('host/cpu')
        topo = cpu.find('topology') if cpu is not None else None
        info: dict[str, Any] = {
            'arch': cpu.findtext('arch') if cpu is not None else None,
            'model': cpu.findtext('model') if cpu is not None else None,
            'vendor': cpu.findtext('vendor') if cpu is not None else None,
            'features': sorted(f.get('name') for f in cpu.findall('feature'))
            if cpu is not None else [],
            'topology': {k: int(topo.get(k, 1)) for k in ('sockets', 'cores', 'threads')}
            if topo is not None else {},
        }
        return json.dumps(info)

    def get_available_resource(self, nodename: str) -> NodeResources:
        conn = self._conn()
        _model, memory_mb, cpus, *_ = conn.getInfo()
        vcpus_used = 0
        for dom in self._our_domains():
            with contextlib.suppress(_libvirt().libvirtError):
                if dom.isActive():
                    vcpus_used += dom.info()[3]
        mem = {}
        with open('/proc/meminfo') as f:
            for line in f:
                key, value = line.split(':', 1)
                mem[key] = int(value.split()[0]) // 1024
        free_mb = mem.get('MemAvailable', mem.get('MemFree', 0))
        os.makedirs(instances_path(), exist_ok=True)
        st = os.statvfs(instances_path())
        total_gb = st.f_blocks * st.f_frsize // 1024 ** 3
        free_gb = st.f_bavail * st.f_frsize // 1024 ** 3
        return {
            'vcpus': cpus, 'memory_mb': memory_mb, 'local_gb': total_gb,
            'vcpus_used': vcpus_used, 'memory_mb_used': max(memory_mb - free_mb, 0),
            'local_gb_used': total_gb - free_gb,
            'hypervisor_type': 'QEMU', 'hypervisor_version': conn.getVersion(),
            'hypervisor_hostname': nodename, 'cpu_info': self._cpu_info(),
            'disk_available_least': free_gb,
        }

    # -- domains ---------------------------------------------------------------

    def _owned(self, dom: Any) -> bool:
        """Whether dom is this deployment's guest on this host. Guests from
        before owners were recorded count as ours: the compute manager still
        reaps only what its own database knows as deleted."""
        lv = _libvirt()
        try:
            meta = dom.metadata(lv.VIR_DOMAIN_METADATA_ELEMENT, vconfig.METADATA_NS)
        except lv.libvirtError:
            return False   # not created by minova: never ours to list or clean
        deployment, host = vconfig.metadata_owner(meta)
        if deployment is None and host is None:
            return True
        return (deployment == self.deployment_id or self.deployment_id is None) and \
            host == self.host_name

    def _our_domains(self) -> list[Any]:
        doms = []
        for dom in self._conn().listAllDomains():
            with contextlib.suppress(_libvirt().libvirtError):  # gone meanwhile
                if self._owned(dom):
                    doms.append(dom)
        return doms

    def list_instance_uuids(self) -> list[str]:
        return [d.UUIDString() for d in self._our_domains()]

    def _lookup(self, instance: Instance) -> Any:
        """The instance's domain; InstanceNotFound when there is none here
        that this deployment and host own."""
        lv = _libvirt()
        try:
            dom = self._conn().lookupByUUIDString(instance['uuid'])
            owned = self._owned(dom)
        except lv.libvirtError as e:
            if e.get_error_code() == lv.VIR_ERR_NO_DOMAIN:
                raise exception.InstanceNotFound(instance_id=instance['uuid']) from None
            raise
        if not owned:
            LOG.warning('Domain %s belongs to another deployment or host; not touched',
                        instance['uuid'])
            raise exception.InstanceNotFound(instance_id=instance['uuid'])
        return dom

    def get_info(self, instance: Instance) -> GuestInfo:
        return {'state': _power_state(self._lookup(instance).info()[0])}

    # -- spawn -----------------------------------------------------------------

    def _prepare_disks(self, ctx: RequestContext, instance: Instance,
                       image: dict[str, Any], network_info: list[VIF],
                       inst_dir: str, keep_disk: bool = False,
                       rescue: bool = False,
                       block_device_info: dict[str, Any] | None = None
                       ) -> vconfig.GuestSpec:
        """The guest's disks made ready and its spec. keep_disk keeps a root
        disk that is already there (a hard reboot must not lose its data);
        the base it is backed by and the config drive are made again if
        missing. rescue: the first disk is a fresh overlay on image (the
        rescue image), disk.rescue, the server's own disk the second.
        block_device_info's volumes become disks of the domain at their
        mount devices, which local disks keep clear of; a root volume (boot
        from volume) replaces the image disk."""
        root_volume = lvvolume.root_mapping(block_device_info)
        taken = lvvolume.volume_targets(block_device_info)
        devices = iter(f'vd{c}' for c in string.ascii_lowercase if f'vd{c}' not in taken)
        step = self.steps.step
        uuid = instance['uuid']
        iso = os.path.join(inst_dir, 'disk.config')
        iso_job: _Background | None = None
        if configdrive.required(instance) and not (keep_disk and os.path.exists(iso)):
            # Built beside the image download and the disks (it needs
            # neither), so a boot with a config drive waits for the longer
            # of the two rather than for both.
            def build_iso() -> None:
                with step(uuid, 'libvirt_config_drive'):
                    configdrive.build(instance, network_info, iso)
            iso_job = _Background(build_iso)
        try:
            disks = self._local_disks(ctx, instance, image, inst_dir, keep_disk, rescue,
                                      root_volume, devices)
        finally:
            if iso_job is not None:
                iso_job.join()
        if iso_job is not None:
            iso_job.result()
        if configdrive.required(instance):
            disks.append(vconfig.Disk(iso, 'raw', next(devices), readonly=True))
        spec = vconfig.GuestSpec(
            name=instance_name(instance), uuid=instance['uuid'],
            virt_type=self.host.virt_type, memory_mb=instance['memory_mb'],
            vcpus=instance['vcpus'], disks=disks,
            console_log=os.path.join(inst_dir, 'console.log'),
            display_name=instance.get('display_name') or '',
            deployment=self.deployment_id, host=self.host_name,
            nics=[v['address'] for v in network_info if v.get('type') == 'user'],
            ovs_nics=[vif.ovs_nic(v) for v in network_info if v.get('type') == 'ovs'])
        volume_disks = self._volume_disks(ctx, block_device_info)
        if root_volume is not None and not rescue:
            spec.boot_volume = volume_disks.pop(0)
        spec.volumes = volume_disks
        if spec.nics and metadata_socket.enabled():
            path = metadata_socket.socket_path(inst_dir)
            if path and self.metadata.open(instance['uuid'], instance['project_id'], path):
                spec.metadata_socket, spec.project_id = path, instance['project_id']
        if CONF.vnc.enabled:
            spec.vnc_listen = CONF.vnc.server_listen
        if CONF.serial_console.enabled:
            spec.serial_tcp = self._serial_port(instance)
        if image.get('kernel_id'):
            client = self.images.client
            spec.kernel = self.images.fetch(ctx, client.show(ctx, image['kernel_id']))[0]
            if image.get('ramdisk_id'):
                spec.ramdisk = self.images.fetch(ctx, client.show(ctx, image['ramdisk_id']))[0]
            spec.cmdline = image.get('os_command_line') or DEFAULT_CMDLINE
        return spec

    def _local_disks(self, ctx: RequestContext, instance: Instance, image: dict[str, Any],
                     inst_dir: str, keep_disk: bool, rescue: bool,
                     root_volume: dict[str, Any] | None,
                     devices: Iterator[str]) -> list[vconfig.Disk]:
        """The root (or rescue) disk on the cached image and the ephemeral
        disk, made as _prepare_disks says."""
        step = self.steps.step
        uuid = instance['uuid']
        disks = []
        disk = os.path.join(inst_dir, 'disk.rescue' if rescue else 'disk')
        if rescue or root_volume is None:
            if rescue or not (keep_disk and os.path.exists(disk)):
                with step(uuid, 'libvirt_image_fetch'):
                    base, fmt, vsize = self.images.fetch(ctx, image)
                with step(uuid, 'libvirt_disk_overlay'):
                    self.images.create_overlay(base, fmt, vsize, instance.get('root_gb') or 0,
                                               disk)
            elif not os.path.exists(imagecache.backing_file(disk) or disk):
                self.images.fetch(ctx, image)
            disks.append(vconfig.Disk(disk, 'qcow2', next(devices)))
        if rescue and root_volume is None:
            disks.append(vconfig.Disk(os.path.join(inst_dir, 'disk'), 'qcow2', next(devices)))
        ephemeral_gb = instance.get('ephemeral_gb') or 0
        if ephemeral_gb:
            # The flavor's ephemeral disk: made once, kept across reboots and
            # (with preserve_ephemeral) rebuilds.
            local = os.path.join(inst_dir, 'disk.local')
            if not os.path.exists(local):
                self.images.create_overlay(self.images.ephemeral_base(ephemeral_gb), 'raw',
                                           ephemeral_gb * imagecache.GiB, ephemeral_gb, local)
            disks.append(vconfig.Disk(local, 'qcow2', next(devices)))
        return disks

    def _image_meta(self, ctx: RequestContext, instance: Instance) -> dict[str, Any]:
        """The image a server was booted from: as recorded in its system
        metadata at boot (so a guest can be remade when the image service is
        down or the image deleted), else from the image service."""
        recorded = image_meta.from_system_metadata(instance)
        if recorded is not None:
            return recorded
        if not instance.get('image_ref'):
            return {}       # booted from a volume: no image to read
        return self.images.client.show(ctx, instance['image_ref'])

    def _define(self, spec: vconfig.GuestSpec) -> Any:
        # Pre-create the log so it is there for the API even before QEMU writes.
        open(spec.console_log, 'a').close()
        xml = vconfig.domain_xml(spec)
        LOG.debug('Defining %s: %s', spec.name, xml)
        return self._conn().defineXML(xml)

    def _create_with_network(self, instance: Instance, dom: Any,
                             network_info: list[VIF]) -> None:
        """Start a defined domain whose NICs Neutron plugs, as Nova's libvirt
        driver: paused until Neutron reports network-vif-plugged for each port
        not yet active ([DEFAULT] vif_plugging_timeout), then resumed. A
        timeout or a failed plug fails the start (VirtualInterfaceCreateException,
        the domain undefined) when vif_plugging_is_fatal, else it goes on."""
        vif.check_supported(network_info)
        timeout = CONF.vif_plugging_timeout
        events = vif.plug_events(network_info) if timeout else []
        lv = _libvirt()
        try:
            with self.virtapi.wait_for_instance_event(instance, events, deadline=timeout):
                dom.createWithFlags(lv.VIR_DOMAIN_START_PAUSED if events else 0)
        except Exception:
            with contextlib.suppress(Exception):
                if dom.isActive():
                    dom.destroy()
            with contextlib.suppress(Exception):
                dom.undefine()
            raise
        if events and dom.info()[0] == lv.VIR_DOMAIN_PAUSED:
            dom.resume()

    def spawn(self, context: RequestContext, instance: Instance,
              image_meta: dict[str, Any], injected_files: list[Any],
              admin_password: str | None, allocations: AllocationRequest,
              network_info: list[VIF],
              block_device_info: dict[str, Any] | None = None) -> None:
        image_id: str = image_meta.get('id') or instance.get('image_ref') or ''
        uuid = instance['uuid']
        self.steps.start(uuid)
        recorded = recorded_image(instance)
        if image_meta.get('status') or lvvolume.root_mapping(block_device_info) is not None:
            image = image_meta      # (already read, or booted from a volume: none to read)
        elif recorded is not None and recorded.get('id') == image_id \
                and self.images.cached(image_id):
            # The base is here: what the server's record says of its image
            # (format, kernel and command line) is all the boot needs, as
            # Nova's compute boots from the request's image record.
            image = recorded
        else:
            with self.steps.step(uuid, 'libvirt_image_show'):
                image = self.images.client.show(context, image_id)
        inst_dir = instance_dir(instance)
        os.makedirs(inst_dir, mode=0o755, exist_ok=True)
        spec = self._prepare_disks(context, instance, image, network_info, inst_dir,
                                   block_device_info=block_device_info)
        with self.steps.step(uuid, 'libvirt_define'):
            dom = self._define(spec)
        with self.steps.step(uuid, 'libvirt_start'):
            self._create_with_network(instance, dom, network_info)
        LOG.info('Guest %s (%s) started under %s', spec.name, instance['uuid'],
                 self.host.virt_type)

    def spawn_steps(self, instance: Instance) -> list[tuple[str, Any, Any]]:
        return list(self.steps.pop(instance['uuid']))

    # -- destroy ---------------------------------------------------------------

    def _remove_domain(self, instance: Instance) -> None:
        """The server's domain stopped and undefined (its managed save image
        and NVRAM with it); no domain is no error. A guest that will not stop
        is left to the undefine, whose error (or the next define's) says why."""
        lv = _libvirt()
        self.metadata.close(instance['uuid'])
        try:
            dom = self._lookup(instance)
        except exception.InstanceNotFound:
            return
        with contextlib.suppress(lv.libvirtError):
            if dom.isActive():
                dom.destroy()
        try:
            dom.undefineFlags(lv.VIR_DOMAIN_UNDEFINE_NVRAM | lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        except lv.libvirtError as e:
            if e.get_error_code() != lv.VIR_ERR_NO_DOMAIN:
                raise

    def destroy(self, context: RequestContext, instance: Instance,
                network_info: list[VIF],
                block_device_info: dict[str, Any] | None = None,
                destroy_disks: bool = True) -> None:
        self._remove_domain(instance)
        self._detach_encryptors(block_device_info)
        if destroy_disks:
            shutil.rmtree(instance_dir(instance), ignore_errors=True)
            shutil.rmtree(instance_dir(instance) + '_resize', ignore_errors=True)

    # -- rebuild -------------------------------------------------------------------

    def rebuild(self, context: RequestContext, instance: Instance,
                image_meta: dict[str, Any], network_info: list[VIF],
                power_on: bool = True, preserve_ephemeral: bool = False,
                block_device_info: dict[str, Any] | None = None) -> None:
        """The guest stopped and undefined, its root disk replaced by a new
        overlay on the new image (from the image cache), its config drive made
        again (with the server's new record), the domain defined afresh and
        started; a stopped server's is left shut off. The console log stays, so
        it shows both boots. The ephemeral disk is made afresh too, unless
        preserve_ephemeral."""
        self._remove_domain(instance)
        inst_dir = instance_dir(instance)
        os.makedirs(inst_dir, mode=0o755, exist_ok=True)
        for name in ('disk', 'disk.config') + (() if preserve_ephemeral else ('disk.local',)):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(inst_dir, name))
        image = image_meta if image_meta.get('status') else \
            self._image_meta(context, instance)
        spec = self._prepare_disks(context, instance, image, network_info, inst_dir,
                                   block_device_info=block_device_info)
        dom = self._define(spec)
        if power_on:
            dom.create()
        LOG.info('Guest %s (%s) rebuilt from image %s%s', spec.name, instance['uuid'],
                 image.get('id'), '' if power_on else ', left shut off')

    # -- resize and cold migration ------------------------------------------------
    #
    # As Nova's: the guest is powered off and its directory set aside as
    # <dir>_resize (the copy a revert comes back to); its files are copied to
    # the destination's instance directory: locally when the destination is
    # this host or shares the instances directory, else over ssh or rsync
    # ([libvirt] remote_filesystem_transport) to the destination's address.
    # There the disks are backed by that host's image cache, the root disk
    # grows to the new flavor and the domain is defined with the new vCPUs
    # and memory. Confirm deletes the kept copy (and, on another host, the old
    # domain); revert brings it back with the old domain.

    MOVED_FILES = ('disk', 'disk.local', 'disk.config', 'console.log')

    def _shared_with(self, dest: str) -> bool:
        """Whether dest sees this host's instances directory, as Nova's
        _is_path_shared_with: it is this host (its address or name), or a
        file made there through the remote filesystem shows up here."""
        if dest in (CONF.my_ip, self.host_name):
            return True
        probe = os.path.join(instances_path(), f'{uuidlib.uuid4().hex}.tmp')
        remote = remotefs.driver()
        try:
            remote.create_file(dest, probe)
        except exception.ResizeError as e:
            LOG.warning('Could not tell whether %s shares %s: %s', dest, instances_path(), e)
            return False
        if os.path.exists(probe):
            os.unlink(probe)
            return True
        with contextlib.suppress(exception.ResizeError):
            remote.remove_file(dest, probe)
        return False

    def migrate_disk_and_power_off(self, context: RequestContext, instance: Instance,
                                   dest: str, flavor: dict[str, Any],
                                   network_info: list[VIF]) -> None:
        if (flavor.get('root_gb') or 0) < (instance.get('root_gb') or 0):
            raise exception.InstanceFaultRollback(exception.ResizeError(
                reason='Unable to resize disk down'))
        shared = self._shared_with(dest)
        self.power_off(instance, CONF.shutdown_timeout)
        inst_dir = instance_dir(instance)
        kept = inst_dir + '_resize'
        if os.path.exists(kept):
            # An earlier resize's copy that nothing will come back to.
            shutil.rmtree(kept)
        os.rename(inst_dir, kept)
        names = [n for n in self.MOVED_FILES if os.path.exists(os.path.join(kept, n))]
        remote = remotefs.driver()
        try:
            if shared:
                os.makedirs(inst_dir, mode=0o755)
                for name in names:
                    shutil.copy2(os.path.join(kept, name), os.path.join(inst_dir, name))
            else:
                remote.create_dir(dest, inst_dir)
                for name in names:
                    remote.copy_file(os.path.join(kept, name), dest,
                                     os.path.join(inst_dir, name))
        except Exception:
            # As Nova: the guest's directory back where it was (the guest stays
            # off, the server goes to ERROR), nothing left at the destination.
            if shared:
                shutil.rmtree(inst_dir, ignore_errors=True)
            else:
                with contextlib.suppress(exception.ResizeError):
                    remote.remove_dir(dest, inst_dir)
            os.rename(kept, inst_dir)
            raise
        LOG.info('Guest %s powered off, its files copied to %s (%s), kept in %s for a '
                 'revert', instance['uuid'], dest,
                 'shared' if shared else CONF.libvirt.remote_filesystem_transport, kept)

    def _back_on_local_cache(self, ctx: RequestContext, instance: Instance,
                             image: dict[str, Any], inst_dir: str) -> None:
        """Disks copied from another host are backed by its image cache; here
        they are backed by this host's (the image fetched if need be: a base
        is never written to, so the content is the same)."""
        disk = os.path.join(inst_dir, 'disk')
        backing = imagecache.backing_file(disk)
        if backing:
            base, fmt, _size = self.images.fetch(ctx, image)
            if backing != base:
                imagecache.rebase(disk, base, fmt)
        local = os.path.join(inst_dir, 'disk.local')
        backing = imagecache.backing_file(local) if os.path.exists(local) else None
        if backing:
            parts = os.path.basename(backing).split('_')   # ephemeral_<GiB>_<fs>
            if len(parts) == 3 and parts[0] == 'ephemeral' and parts[1].isdigit():
                base = self.images.ephemeral_base(int(parts[1]))
                if backing != base:
                    imagecache.rebase(local, base, 'raw')

    def _grow_root_disk(self, instance: Instance, disk: str) -> None:
        """The root disk at the flavor's size; shrinking it is refused (the
        API refuses such a resize first)."""
        want = (instance.get('root_gb') or 0) * imagecache.GiB
        have = int(imagecache.qemu_img_info(disk, 'qcow2')['virtual-size'])
        if not want or want == have:
            return
        if want < have:
            raise exception.ResizeError(reason='Unable to resize disk down')
        proc = subprocess.run(['qemu-img', 'resize', '-q', '-f', 'qcow2', disk, str(want)],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode:
            raise exception.ResizeError(reason=f'qemu-img resize failed: '
                                               f'{proc.stderr.strip()}')

    def finish_migration(self, context: RequestContext, instance: Instance,
                         network_info: list[VIF], power_on: bool = True,
                         block_device_info: dict[str, Any] | None = None) -> None:
        inst_dir = instance_dir(instance)
        disk = os.path.join(inst_dir, 'disk')
        if not os.path.exists(disk):
            raise exception.ResizeError(reason=f'the disk of {instance["uuid"]} is not '
                                               f'on {self.host_name}')
        image = self._image_meta(context, instance)
        self._back_on_local_cache(context, instance, image, inst_dir)
        self._grow_root_disk(instance, disk)
        spec = self._prepare_disks(context, instance, image, network_info, inst_dir,
                                   keep_disk=True, block_device_info=block_device_info)
        dom = self._define(spec)
        if power_on:
            dom.create()
        LOG.info('Guest %s resized to %s vCPUs, %s MiB%s', instance['uuid'],
                 instance['vcpus'], instance['memory_mb'], '' if power_on else ', left off')

    def confirm_migration(self, context: RequestContext, instance: Instance,
                          network_info: list[VIF]) -> None:
        if instance.get('host') not in (None, self.host_name):
            self._remove_domain(instance)   # the server lives elsewhere now
        shutil.rmtree(instance_dir(instance) + '_resize', ignore_errors=True)

    def finish_revert_migration(self, context: RequestContext, instance: Instance,
                                network_info: list[VIF], power_on: bool = True,
                                block_device_info: dict[str, Any] | None = None) -> None:
        """The resized domain gone, the kept directory back (with the console
        log so far), the old domain defined and, unless it was off, started."""
        self._remove_domain(instance)
        inst_dir = instance_dir(instance)
        kept = inst_dir + '_resize'
        if os.path.exists(kept):
            log = os.path.join(inst_dir, 'console.log')
            if os.path.exists(log):
                shutil.copy2(log, os.path.join(kept, 'console.log'))
            shutil.rmtree(inst_dir, ignore_errors=True)
            os.rename(kept, inst_dir)
        spec = self._prepare_disks(context, instance, self._image_meta(context, instance),
                                   network_info, inst_dir, keep_disk=True,
                                   block_device_info=block_device_info)
        dom = self._define(spec)
        if power_on:
            dom.create()
        LOG.info('Guest %s back at %s vCPUs, %s MiB', instance['uuid'], instance['vcpus'],
                 instance['memory_mb'])

    # -- power -----------------------------------------------------------------

    def _wait_shutoff(self, dom: Any, timeout: float) -> bool:
        lv = _libvirt()
        deadline = time.monotonic() + timeout
        while True:
            if dom.info()[0] == lv.VIR_DOMAIN_SHUTOFF:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)

    def _clean_shutdown(self, dom: Any, timeout: float) -> bool:
        """Ask the guest (ACPI power button) to shut down; True if it did in time.

        The request is repeated, as a guest still booting misses the first.
        """
        lv = _libvirt()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not dom.isActive():
                return True
            try:
                dom.shutdown()
            except lv.libvirtError as e:
                if not dom.isActive():
                    return True
                LOG.info('ACPI shutdown request to %s failed: %s', dom.name(), e)
                return False
            if self._wait_shutoff(dom, min(SHUTDOWN_RETRY_INTERVAL,
                                           max(deadline - time.monotonic(), 0))):
                return True
        return not dom.isActive()

    def reboot(self, context: RequestContext, instance: Instance,
               network_info: list[VIF], reboot_type: str,
               block_device_info: dict[str, Any] | None = None) -> None:
        if reboot_type == 'SOFT':
            dom = self._lookup(instance)   # a soft reboot needs a guest to ask
            if dom.isActive():
                if self._clean_shutdown(dom, CONF.libvirt.wait_soft_reboot_seconds):
                    self._metadata_listen(instance['uuid'], dom)
                    dom.create()
                    LOG.info('Guest %s rebooted softly', instance['uuid'])
                    return
                LOG.warning('Guest %s did not shut down for a soft reboot in %ss; rebooting '
                            'it hard', instance['uuid'], CONF.libvirt.wait_soft_reboot_seconds)
        self._hard_reboot(context, instance, network_info, block_device_info)

    def _hard_reboot(self, ctx: RequestContext, instance: Instance,
                     network_info: list[VIF],
                     block_device_info: dict[str, Any] | None = None) -> None:
        """Power off, define the domain afresh from the server's record, start.

        As Nova's: a guest whose domain vanished (a host rebuilt, a domain
        undefined by hand) comes back with its disk, or, if the disk is gone
        too, with a new one from the image cache. This is how an operator
        recovers a host.
        """
        try:
            dom = self._lookup(instance)
            if dom.isActive():
                dom.destroy()
            if dom.hasManagedSaveImage(0):
                # A suspended guest rebooted hard boots afresh, as in Nova.
                dom.managedSaveRemove(0)
        except exception.InstanceNotFound:
            LOG.warning('The domain of %s is missing; defining it again', instance['uuid'])
        inst_dir = instance_dir(instance)
        os.makedirs(inst_dir, mode=0o755, exist_ok=True)
        spec = self._prepare_disks(ctx, instance, self._image_meta(ctx, instance),
                                   network_info, inst_dir, keep_disk=True,
                                   block_device_info=block_device_info)
        self._define(spec).create()

    def power_off(self, instance: Instance, timeout: int = 0,
                  retry_interval: int = 0) -> None:
        try:
            dom = self._lookup(instance)
        except exception.InstanceNotFound:
            LOG.warning('The domain of %s is missing: it is off', instance['uuid'])
            return
        self.metadata.close(instance['uuid'])
        if timeout and self._clean_shutdown(dom, timeout):
            return
        if dom.isActive():
            dom.destroy()

    def power_on(self, context: RequestContext, instance: Instance,
                 network_info: list[VIF],
                 block_device_info: dict[str, Any] | None = None) -> None:
        # As Nova's: a hard reboot, so a guest whose domain vanished comes back.
        self._hard_reboot(context, instance, network_info, block_device_info)

    # -- interfaces (minova/virt/libvirt/interfaces.py) ---------------------------------

    def attach_interface(self, context: RequestContext, instance: Instance,
                         image_meta: dict[str, Any], vif: VIF) -> None:
        interfaces.attach(_libvirt(), self._lookup(instance), vif)

    def detach_interface(self, context: RequestContext, instance: Instance,
                         vif: VIF) -> None:
        try:
            dom = self._lookup(instance)
        except exception.InstanceNotFound:
            return      # no guest, no NIC
        interfaces.detach(_libvirt(), dom, vif)

    # -- pause, suspend, crash dump ------------------------------------------------

    def pause(self, instance: Instance) -> None:
        self._lookup(instance).suspend()   # libvirt's suspend: vCPUs stopped, in memory

    def unpause(self, instance: Instance) -> None:
        self._lookup(instance).resume()

    def suspend(self, context: RequestContext, instance: Instance) -> None:
        """Managed save, as Nova's: memory to disk, the domain shut off."""
        self._lookup(instance).managedSave(0)
        self.metadata.close(instance['uuid'])

    def resume(self, context: RequestContext, instance: Instance,
               network_info: list[VIF],
               block_device_info: dict[str, Any] | None = None) -> None:
        # The definition already holds the attached volumes (attach persists them).
        dom = self._lookup(instance)
        if not dom.isActive():
            self._metadata_listen(instance['uuid'], dom)
            dom.create()   # restores the managed save image when there is one

    # -- rescue ------------------------------------------------------------------------

    def set_admin_password(self, instance: Instance, new_pass: str) -> None:
        """Nova's libvirt driver sets it through the QEMU guest agent; the
        guests here have no agent channel, so every guest refuses, as Nova's
        does for an image without hw_qemu_guest_agent."""
        raise exception.SetAdminPasswdNotSupported()

    def rescue(self, context: RequestContext, instance: Instance, network_info: list[VIF],
               image_meta: dict[str, Any], rescue_password: str,
               block_device_info: dict[str, Any] | None = None) -> None:
        """As Nova's: the domain's definition kept in unrescue.xml, the guest
        powered off, the domain defined again to boot a fresh overlay of the
        rescue image (disk.rescue, vda) with the server's own disk as vdb (the
        config drive, if any, vdc), and started. The console log stays."""
        lv = _libvirt()
        inst_dir = instance_dir(instance)
        os.makedirs(inst_dir, mode=0o755, exist_ok=True)
        saved = os.path.join(inst_dir, 'unrescue.xml')
        try:
            dom = self._lookup(instance)
        except exception.InstanceNotFound:
            # Unrescue then defines the domain afresh from the server's record.
            LOG.warning('The domain of %s is missing; rescuing from its record',
                        instance['uuid'])
            dom = None
        if dom is not None:
            if not os.path.exists(saved):   # a second try keeps the first's
                tmp = saved + '.tmp'
                with open(tmp, 'w') as f:
                    f.write(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE))
                os.replace(tmp, saved)
            if dom.isActive():
                dom.destroy()
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(inst_dir, 'disk.rescue'))
        image_id = image_meta.get('id')
        if image_id and image_id != instance.get('image_ref'):
            image = image_meta if image_meta.get('status') else \
                self.images.client.show(context, image_id)
        else:
            image = self._image_meta(context, instance)
        spec = self._prepare_disks(context, instance, image, network_info, inst_dir,
                                   keep_disk=True, rescue=True,
                                   block_device_info=block_device_info)
        self._define(spec).create()
        LOG.info('Guest %s (%s) rescued from image %s', spec.name, instance['uuid'],
                 image.get('id'))

    def unrescue(self, context: RequestContext, instance: Instance) -> None:
        """The rescue domain powered off, the server's own definition
        (unrescue.xml) defined again and started, the rescue disk deleted."""
        inst_dir = instance_dir(instance)
        saved = os.path.join(inst_dir, 'unrescue.xml')
        with contextlib.suppress(exception.InstanceNotFound):
            dom = self._lookup(instance)
            if dom.isActive():
                dom.destroy()
        if os.path.exists(saved):
            with open(saved) as f:
                dom = self._conn().defineXML(f.read())
            self._metadata_listen(instance['uuid'], dom)
            dom.create()
        else:
            self._hard_reboot(context, instance, instance.get('network_info') or [])
        for name in ('disk.rescue', 'unrescue.xml'):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(inst_dir, name))
        LOG.info('Guest %s unrescued', instance['uuid'])

    # -- snapshot (createImage, createBackup) -----------------------------------------

    def snapshot(self, context: RequestContext, instance: Instance, image_id: str,
                 update_task_state: Any) -> None:
        """The root disk flattened into one qcow2 (its overlay and the cached
        base it is backed by) and uploaded. A running guest is paused for the
        copy (QEMU drains and flushes its disk when the vCPUs stop) and runs on
        right after; a stopped or suspended one is copied as it stands."""
        lv = _libvirt()
        dom = self._lookup(instance)
        disk = os.path.join(instance_dir(instance), 'disk')
        if not os.path.exists(disk):
            raise exception.InstanceNotFound(instance_id=instance['uuid'])
        update_task_state(states.IMAGE_PENDING_UPLOAD)
        tmp_dir = os.path.join(instances_path(), 'snapshots')
        os.makedirs(tmp_dir, exist_ok=True)
        out = os.path.join(tmp_dir, f'{image_id}.qcow2')
        try:
            running = dom.info()[0] == lv.VIR_DOMAIN_RUNNING
            if running:
                dom.suspend()
            try:
                # -U: QEMU still holds the (now quiet) disk open.
                proc = subprocess.run(['qemu-img', 'convert', '-U', '-f', 'qcow2', '-O',
                                       'qcow2', disk, out], capture_output=True, text=True,
                                      timeout=1800)
            finally:
                if running:
                    dom.resume()
            if proc.returncode != 0:
                raise exception.MinovaException(
                    f'qemu-img convert of {instance["uuid"]} failed: {proc.stderr.strip()}')
            update_task_state(states.IMAGE_UPLOADING,
                              expected_state=states.IMAGE_PENDING_UPLOAD)
            driver.upload_snapshot(image_id, out, 'qcow2')
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(out)

    def trigger_crash_dump(self, instance: Instance) -> None:
        lv = _libvirt()
        dom = self._lookup(instance)
        try:
            dom.injectNMI(0)
        except lv.libvirtError as e:
            code = e.get_error_code()
            if code == lv.VIR_ERR_NO_SUPPORT:
                raise exception.TriggerCrashDumpNotSupported() from e
            if code == lv.VIR_ERR_OPERATION_INVALID:
                raise exception.InstanceNotRunning(instance_id=instance['uuid']) from e
            raise

    def get_console_output(self, context: RequestContext, instance: Instance) -> str:
        self._lookup(instance)
        path = os.path.join(instance_dir(instance), 'console.log')
        try:
            with open(path, 'rb') as f:
                f.seek(max(os.path.getsize(path) - MAX_CONSOLE_BYTES, 0))
                data = f.read()
        except FileNotFoundError:
            return ''
        return data.decode('utf-8', errors='replace')

    # -- remote consoles -----------------------------------------------------------

    def _serial_port(self, instance: Instance) -> tuple[str, int]:
        """A free port of [serial_console] port_range on proxyclient_address, as
        Nova's acquire_port: one no domain of ours names and that binds now.
        A guest being redefined (hard reboot) keeps its port if it is free."""
        address = CONF.serial_console.proxyclient_address
        low, high = console_conf.port_range()
        used: set[int] = set()
        mine: list[int] = []
        for dom in self._our_domains():
            with contextlib.suppress(_libvirt().libvirtError):
                ports = [p for _, p in vconfig.serial_tcp(dom.XMLDesc(0))]
                if dom.UUIDString() == instance['uuid']:
                    mine = ports
                used.update(ports)
        with _PORT_LOCK:
            now = time.monotonic()
            for port in [*mine, *range(low, high + 1)]:
                given = now - _PORTS_GIVEN.get(port, -1e9) < 300
                if (port not in mine and (port in used or given)) or \
                        not low <= port <= high:
                    continue
                with socket.socket() as sock:
                    try:
                        sock.bind((address, port))
                    except OSError:
                        continue
                _PORTS_GIVEN[port] = now
                return address, port
        raise exception.SocketPortRangeExhaustedException(host=address)

    def get_vnc_console(self, context: RequestContext, instance: Instance
                        ) -> driver.ConsoleInfo:
        """The live port of the guest's VNC display (libvirt's autoport)."""
        port = vconfig.vnc_port(self._lookup(instance).XMLDesc(0))
        if port is None:
            # VNC enabled now, but this guest was defined without a display.
            raise exception.ConsoleTypeUnavailable(console_type='vnc')
        return {'host': CONF.vnc.server_proxyclient_address, 'port': port,
                'internal_access_path': None}

    def get_serial_console(self, context: RequestContext, instance: Instance
                           ) -> driver.ConsoleInfo:
        ports = vconfig.serial_tcp(self._lookup(instance).XMLDesc(0))
        if not ports:
            raise exception.ConsoleTypeUnavailable(console_type='serial')
        host, port = ports[0]
        return {'host': host or CONF.serial_console.proxyclient_address, 'port': port,
                'internal_access_path': None}

    # -- host and guest usage ----------------------------------------------------

    def get_host_uptime(self) -> str:
        """What `uptime` prints on this host, as Nova's libvirt driver answers."""
        out = subprocess.run(['env', 'LANG=C', 'uptime'], capture_output=True, text=True,
                             check=True, timeout=30).stdout
        return out

    def get_diagnostics(self, instance: Instance) -> dict[str, Any]:
        return diagnostics.legacy(self._lookup(instance))

    def get_instance_diagnostics(self, instance: Instance) -> dict[str, Any]:
        dom = self._lookup(instance)
        return diagnostics.instance_diagnostics(dom, instance, _power_state(dom.info()[0]),
                                                self.host.virt_type)

    # -- live migration ------------------------------------------------------------

    def check_can_live_migrate_destination(self, context: RequestContext,
                                           instance: Instance,
                                           block_migration: bool | None) -> dict[str, Any]:
        """What the source needs to reach this host and define the guest here.
        Instance directories are never shared between hosts here, so 'auto'
        is a block migration (the disks copied into ones made here first)."""
        with contextlib.suppress(exception.InstanceNotFound):
            self._lookup(instance)
            raise exception.MigrationPreCheckError(
                reason=f'instance {instance["uuid"]} already has a domain on {self.host_name}')
        return {'block_migration': True if block_migration is None else bool(block_migration),
                'inbound_addr': CONF.libvirt.live_migration_inbound_addr or self.host_name,
                'dest_host': self.host_name, 'dest_deployment': self.deployment_id,
                'vnc_listen': CONF.vnc.server_listen if CONF.vnc.enabled else None}

    def pre_live_migration(self, context: RequestContext, instance: Instance,
                           migrate_data: dict[str, Any]) -> dict[str, Any]:
        """As Nova's: for a block migration the instance directory made here
        with a disk to copy into (a qcow2 overlay of the same size on this
        host's cached base image; libvirt cannot create it) and the config
        drive; the serial ports the guest will listen on here."""
        if not migrate_data.get('block_migration', True):
            return migrate_data
        inst_dir = instance_dir(instance)
        if os.path.exists(os.path.join(inst_dir, 'disk')):
            raise exception.MigrationPreCheckError(
                reason=f'The supplied disk path ({inst_dir}) already exists, it is '
                       f'expected not to exist.')
        os.makedirs(inst_dir, mode=0o755, exist_ok=True)
        migrate_data = dict(migrate_data, created_dir=inst_dir)
        # From the image service: the base is not cached on this host yet.
        image = self.images.client.show(context, instance['image_ref'])
        spec = self._prepare_disks(context, instance, image,
                                   instance.get('network_info') or [], inst_dir)
        open(spec.console_log, 'a').close()
        migrate_data['serial_listen_ports'] = [list(spec.serial_tcp)] if spec.serial_tcp \
            else []
        migrate_data['kernel'], migrate_data['ramdisk'] = spec.kernel, spec.ramdisk
        migrate_data['metadata_socket'] = spec.metadata_socket
        return migrate_data

    def live_migration(self, context: RequestContext, instance: Instance, dest: str,
                       migrate_data: dict[str, Any],
                       progress: Callable[[driver.MigrationProgress], None]) -> None:
        """migrateToURI3, peer to peer, the domain undefined here and defined
        there from its XML rewritten for the destination; the writable disks
        copied when it is a block migration."""
        lv = _libvirt()
        uuid = instance['uuid']
        dom = self._lookup(instance)
        block = bool(migrate_data.get('block_migration', True))
        xml = dom.XMLDesc(lv.VIR_DOMAIN_XML_MIGRATABLE | lv.VIR_DOMAIN_XML_SECURE)
        new_xml = vconfig.migration_xml(
            xml, migrate_data.get('dest_host') or dest, migrate_data.get('dest_deployment'),
            migrate_data.get('vnc_listen'),
            [(str(h), int(p)) for h, p in migrate_data.get('serial_listen_ports') or []],
            kernel=migrate_data.get('kernel'), ramdisk=migrate_data.get('ramdisk'),
            metadata_socket=migrate_data.get('metadata_socket'))
        params: dict[str, Any] = {
            lv.VIR_MIGRATE_PARAM_URI: f'tcp://{migrate_data.get("inbound_addr") or dest}',
            lv.VIR_MIGRATE_PARAM_DEST_XML: new_xml, lv.VIR_MIGRATE_PARAM_PERSIST_XML: new_xml}
        if block:
            params[lv.VIR_MIGRATE_PARAM_MIGRATE_DISKS] = migration.copied_disks(xml)
        uri = migration.dest_uri(migrate_data, dest)
        LOG.info('Live migrating %s to %s (%s, %s)', uuid, dest, uri,
                 'block migration' if block else 'shared storage')
        self._migrating[uuid] = dom
        start = time.monotonic()
        try:
            migration.run(dom, uri, params, migration.flags(block), progress,
                          aborted=lambda: uuid in self._aborted)
        except lv.libvirtError as e:
            if uuid in self._forced:   # the guest runs on here, as before
                with contextlib.suppress(lv.libvirtError):
                    if dom.info()[0] == lv.VIR_DOMAIN_PAUSED:
                        dom.resume()
            if uuid in self._aborted or e.get_error_code() == lv.VIR_ERR_OPERATION_ABORTED:
                raise exception.MigrationAborted(instance_id=uuid) from e
            raise exception.LiveMigrationFailed(instance_id=uuid, reason=str(e)) from e
        finally:
            self._migrating.pop(uuid, None)
            self._forced.discard(uuid)
            self._aborted.discard(uuid)
        LOG.info('Live migration of %s to %s done in %.1fs', uuid, dest,
                 time.monotonic() - start)

    def _migrating_domain(self, instance: Instance) -> Any:
        """The domain of the live migration running from here; InstanceNotFound
        when none runs (yet)."""
        dom = self._migrating.get(instance['uuid'])
        if dom is None:
            raise exception.InstanceNotFound(instance_id=instance['uuid'])
        return dom

    def live_migration_force_complete(self, instance: Instance) -> None:
        """As Nova's without post-copy: the guest paused on the source, so
        the last of its memory copies and it resumes on the destination."""
        dom = self._migrating_domain(instance)
        self._forced.add(instance['uuid'])
        dom.suspend()

    def live_migration_abort(self, instance: Instance) -> None:
        """The migration job aborted; asked before libvirt has started the
        job, the migration loop aborts it as soon as it has."""
        dom = self._migrating_domain(instance)
        self._aborted.add(instance['uuid'])
        lv = _libvirt()
        try:
            dom.abortJob()
        except lv.libvirtError as e:
            if e.get_error_code() != lv.VIR_ERR_OPERATION_INVALID:   # no job yet
                raise

    def post_live_migration_at_source(self, context: RequestContext, instance: Instance,
                                      migrate_data: dict[str, Any]) -> None:
        """The domain is undefined here already (UNDEFINE_SOURCE); the
        instance directory goes unless the destination shares it."""
        self._remove_domain(instance)
        if migrate_data.get('block_migration', True):
            shutil.rmtree(instance_dir(instance), ignore_errors=True)

    def post_live_migration_at_destination(self, context: RequestContext,
                                           instance: Instance,
                                           migrate_data: dict[str, Any]) -> None:
        """The guest defined here for good, and running again if forcing the
        migration to complete paused it (an ACTIVE server runs)."""
        lv = _libvirt()
        dom = self._lookup(instance)
        if not dom.isPersistent():
            self._conn().defineXML(dom.XMLDesc(lv.VIR_DOMAIN_XML_MIGRATABLE))
        self._metadata_listen(instance['uuid'], dom)
        if instance.get('vm_state') == states.ACTIVE and \
                dom.info()[0] == lv.VIR_DOMAIN_PAUSED:
            dom.resume()

    def rollback_live_migration_at_destination(self, context: RequestContext,
                                               instance: Instance,
                                               migrate_data: dict[str, Any]) -> None:
        """A half-arrived domain and what pre_live_migration made removed; a
        directory it did not make (it refused: one was there) stays."""
        self._remove_domain(instance)
        created = migrate_data.get('created_dir')
        if created and created == instance_dir(instance):
            shutil.rmtree(created, ignore_errors=True)
