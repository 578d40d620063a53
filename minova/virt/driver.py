"""The virt driver interface the compute manager drives.

A driver knows one hypervisor: what it has (get_available_resource), and how
to spawn, stop, start, reboot and destroy guests. The manager owns states,
placement and the DB; drivers never touch them.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

import os_traits

from minova.conf import CONF
from minova.context import RequestContext
from minova.virt.virtapi import VirtAPI

if TYPE_CHECKING:  # types only: drivers touch neither the DB nor placement
    from minova.clients.placement import AllocationRequest
    from minova.db.instances import VIF, Instance


class NodeResources(TypedDict):
    """What a hypervisor node has and uses (get_available_resource)."""
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    cpu_info: str                   # JSON: arch, model, vendor, features, topology
    disk_available_least: int | None


class GuestInfo(TypedDict):
    """What the hypervisor says of a guest now (get_info)."""
    state: int                      # a power state (minova.states)


class ConsoleInfo(TypedDict):
    """Where a console proxy connects to reach a guest's console."""
    host: str
    port: int
    internal_access_path: str | None


class MigrationProgress(TypedDict, total=False):
    """How far a live migration is, in bytes, as the driver last saw it (the
    migration record's memory_* and disk_* fields)."""
    memory_total: int
    memory_processed: int
    memory_remaining: int
    disk_total: int
    disk_processed: int
    disk_remaining: int


# The driver capabilities compute reports to placement as standard traits on
# its node's provider (Nova's CAPABILITY_TRAITS_MAP): a trait of a capability
# the driver has is added, of one it lacks is removed; the provider's other
# traits (an operator's, say) are left alone.
CAPABILITY_TRAITS = {
    'supports_attach_interface': os_traits.COMPUTE_NET_ATTACH_INTERFACE,
    'supports_device_tagging': os_traits.COMPUTE_DEVICE_TAGGING,
    'supports_tagged_attach_interface': os_traits.COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG,
    'supports_tagged_attach_volume': os_traits.COMPUTE_VOLUME_ATTACH_WITH_TAG,
    'supports_extend_volume': os_traits.COMPUTE_VOLUME_EXTEND,
    'supports_multiattach': os_traits.COMPUTE_VOLUME_MULTI_ATTACH,
    'supports_trusted_certs': os_traits.COMPUTE_TRUSTED_CERTS,
    'supports_accelerators': os_traits.COMPUTE_ACCELERATORS,
    'supports_migrate_to_same_host': os_traits.COMPUTE_SAME_HOST_COLD_MIGRATE,
    'supports_bfv_rescue': os_traits.COMPUTE_RESCUE_BFV,
    'supports_secure_boot': os_traits.COMPUTE_SECURITY_UEFI_SECURE_BOOT,
    'supports_socket_pci_numa_affinity': os_traits.COMPUTE_SOCKET_PCI_NUMA_AFFINITY,
    'supports_remote_managed_ports': os_traits.COMPUTE_REMOTE_MANAGED_PORTS,
    'supports_ephemeral_encryption': os_traits.COMPUTE_EPHEMERAL_ENCRYPTION,
    'supports_ephemeral_encryption_luks': os_traits.COMPUTE_EPHEMERAL_ENCRYPTION_LUKS,
    'supports_ephemeral_encryption_plain': os_traits.COMPUTE_EPHEMERAL_ENCRYPTION_PLAIN,
    'supports_address_space_passthrough': os_traits.COMPUTE_ADDRESS_SPACE_PASSTHROUGH,
    'supports_address_space_emulated': os_traits.COMPUTE_ADDRESS_SPACE_EMULATED,
    'supports_stateless_firmware': os_traits.COMPUTE_SECURITY_STATELESS_FIRMWARE,
    'supports_virtio_fs': os_traits.COMPUTE_STORAGE_VIRTIO_FS,
    'supports_mem_backing_file': os_traits.COMPUTE_MEM_BACKING_FILE,
    **{f'supports_image_type_{fmt}': getattr(os_traits, f'COMPUTE_IMAGE_TYPE_{fmt.upper()}')
       for fmt in ('aki', 'ami', 'ari', 'iso', 'qcow2', 'raw', 'vdi', 'vhd', 'vhdx',
                   'vmdk', 'ploop')},
}


class ComputeDriver:
    """Base class; every method a driver lacks raises NotImplementedError."""

    capabilities: dict[str, bool] = {}     # a missing capability is one it lacks
    # Set by the compute manager before init_host (waits for Neutron's events).
    virtapi: VirtAPI = VirtAPI()

    def capabilities_as_traits(self) -> dict[str, bool]:
        """Each capability trait: whether this driver has it."""
        return {trait: bool(self.capabilities.get(cap))
                for cap, trait in CAPABILITY_TRAITS.items()}

    def init_host(self, host: str, deployment_id: str | None = None) -> None:
        """Connect to the hypervisor; called once before the service starts.

        deployment_id and host name the owner of every guest this driver
        creates; a driver on a shared hypervisor lists and touches only
        guests that name both (or that predate owners).
        """

    def get_available_nodes(self) -> list[str]:
        """Hypervisor node names this host manages (usually one)."""
        raise NotImplementedError

    def get_available_resource(self, nodename: str) -> NodeResources:
        """Totals and usage of a node."""
        raise NotImplementedError

    def list_instance_uuids(self) -> list[str]:
        """The guests of this deployment and host."""
        raise NotImplementedError

    def spawn(self, context: RequestContext, instance: Instance,
              image_meta: dict[str, Any], injected_files: list[Any],
              admin_password: str | None, allocations: AllocationRequest,
              network_info: list[VIF],
              block_device_info: dict[str, Any] | None = None) -> None:
        """Create and start the guest; return once it is running."""
        raise NotImplementedError

    def spawn_steps(self, instance: Instance) -> list[tuple[str, Any, Any]]:
        """The timed steps ([(event name, start, finish)]) of the last spawn of
        instance, taken once: the boot timeline records them as events of the
        'create' action. None timed: []."""
        return []

    def destroy(self, context: RequestContext, instance: Instance,
                network_info: list[VIF],
                block_device_info: dict[str, Any] | None = None,
                destroy_disks: bool = True) -> None:
        """Remove the guest and (optionally) its disks; a missing guest is fine."""
        raise NotImplementedError

    def rebuild(self, context: RequestContext, instance: Instance,
                image_meta: dict[str, Any], network_info: list[VIF],
                power_on: bool = True, preserve_ephemeral: bool = False,
                block_device_info: dict[str, Any] | None = None) -> None:
        """Replace the guest's root disk with a new one from image_meta (the
        server's new image; instance holds its new record) and start it again
        (power_on False: leave it shut off, a STOPPED server's rebuild).
        Nova's default: destroy the guest with its disks, spawn it afresh."""
        self.destroy(context, instance, network_info, block_device_info, True)
        self.spawn(context, instance, image_meta, [], None, {}, network_info,
                   block_device_info=block_device_info)
        if not power_on:
            self.power_off(instance)

    def reboot(self, context: RequestContext, instance: Instance,
               network_info: list[VIF], reboot_type: str,
               block_device_info: dict[str, Any] | None = None) -> None:
        raise NotImplementedError

    def power_off(self, instance: Instance, timeout: int = 0,
                  retry_interval: int = 0) -> None:
        raise NotImplementedError

    def power_on(self, context: RequestContext, instance: Instance,
                 network_info: list[VIF],
                 block_device_info: dict[str, Any] | None = None) -> None:
        raise NotImplementedError

    def pause(self, instance: Instance) -> None:
        """Freeze the guest's CPUs in memory (power state PAUSED)."""
        raise NotImplementedError

    def unpause(self, instance: Instance) -> None:
        raise NotImplementedError

    def suspend(self, context: RequestContext, instance: Instance) -> None:
        """Save the guest's memory to disk and stop it (libvirt: managed save)."""
        raise NotImplementedError

    def resume(self, context: RequestContext, instance: Instance,
               network_info: list[VIF],
               block_device_info: dict[str, Any] | None = None) -> None:
        """Run a suspended guest again from its saved memory."""
        raise NotImplementedError

    def trigger_crash_dump(self, instance: Instance) -> None:
        """Send the guest an NMI. Raises TriggerCrashDumpNotSupported or
        InstanceNotRunning (a Conflict) where it cannot."""
        raise NotImplementedError

    def set_admin_password(self, instance: Instance, new_pass: str) -> None:
        """Set the administrator password inside the running guest. Raises
        SetAdminPasswdNotSupported where this guest cannot take it."""
        raise NotImplementedError

    def rescue(self, context: RequestContext, instance: Instance, network_info: list[VIF],
               image_meta: dict[str, Any], rescue_password: str,
               block_device_info: dict[str, Any] | None = None) -> None:
        """Boot the guest from a fresh disk of the rescue image (image_meta: at
        least its 'id'; empty: the server's own image) with the server's own
        disk attached as its second disk; unrescue undoes it."""
        raise NotImplementedError

    # -- resize (Nova's driver calls, in the order a resize makes them) --------

    def migrate_disk_and_power_off(self, context: RequestContext, instance: Instance,
                                   dest: str, flavor: dict[str, Any],
                                   network_info: list[VIF]) -> None:
        """On the source: power the guest off and hand its disk to `dest`; the
        source keeps a copy until the resize is confirmed or reverted."""
        raise NotImplementedError

    def finish_migration(self, context: RequestContext, instance: Instance,
                         network_info: list[VIF], power_on: bool = True,
                         block_device_info: dict[str, Any] | None = None) -> None:
        """On the destination: the guest made with the instance's (new) flavor."""
        raise NotImplementedError

    def confirm_migration(self, context: RequestContext, instance: Instance,
                          network_info: list[VIF]) -> None:
        """On the source: the copy kept for a revert is dropped."""
        raise NotImplementedError

    def finish_revert_migration(self, context: RequestContext, instance: Instance,
                                network_info: list[VIF], power_on: bool = True,
                                block_device_info: dict[str, Any] | None = None) -> None:
        """On the source: the guest back from the copy kept for a revert."""
        raise NotImplementedError

    # -- live migration (Nova's driver calls, in the order a live migration
    # makes them; migrate_data is a plain dict the driver fills and reads) ----

    def check_can_live_migrate_destination(self, context: RequestContext,
                                           instance: Instance,
                                           block_migration: bool | None) -> dict[str, Any]:
        """On the destination: whether the guest can come here, and what the
        source needs to send it (e.g. this host's inbound address). Returns
        migrate_data; block_migration None means 'auto' (the driver decides and
        records 'block_migration' in migrate_data). Raises MigrationPreCheckError
        when it cannot."""
        raise NotImplementedError

    def pre_live_migration(self, context: RequestContext, instance: Instance,
                           migrate_data: dict[str, Any]) -> dict[str, Any]:
        """On the destination: the disks and directories the guest needs made
        before it arrives. Returns migrate_data, updated."""
        raise NotImplementedError

    def live_migration(self, context: RequestContext, instance: Instance, dest: str,
                       migrate_data: dict[str, Any],
                       progress: Callable[[MigrationProgress], None]) -> None:
        """On the source: move the running guest to `dest`; blocks until it
        runs there, calling progress() now and then. Raises MigrationAborted
        if live_migration_abort stopped it, any other error if it failed (the
        guest then still runs here)."""
        raise NotImplementedError

    def live_migration_force_complete(self, instance: Instance) -> None:
        """On the source: finish the running live migration now (pause the
        guest or switch to post-copy) rather than wait for it to converge."""
        raise NotImplementedError

    def live_migration_abort(self, instance: Instance) -> None:
        """On the source: stop the running live migration; live_migration then
        raises MigrationAborted and the guest keeps running here."""
        raise NotImplementedError

    def post_live_migration_at_source(self, context: RequestContext, instance: Instance,
                                      migrate_data: dict[str, Any]) -> None:
        """On the source, once the guest runs on the destination: its local
        files here removed."""
        raise NotImplementedError

    def post_live_migration_at_destination(self, context: RequestContext,
                                           instance: Instance,
                                           migrate_data: dict[str, Any]) -> None:
        """On the destination, once the guest runs here: made this host's own
        (e.g. a persistent definition)."""
        raise NotImplementedError

    def rollback_live_migration_at_destination(self, context: RequestContext,
                                               instance: Instance,
                                               migrate_data: dict[str, Any]) -> None:
        """On the destination, after a failed or aborted live migration: what
        pre_live_migration made (and any half-arrived guest) removed."""
        raise NotImplementedError

    def unrescue(self, context: RequestContext, instance: Instance) -> None:
        """The guest running again on its own disk, the rescue disk gone."""
        raise NotImplementedError

    def snapshot(self, context: RequestContext, instance: Instance, image_id: str,
                 update_task_state: Callable[..., None]) -> None:
        """Copy the guest's root disk into the queued image image_id (upload_snapshot).

        update_task_state(states.IMAGE_PENDING_UPLOAD) once the copy is being
        made, update_task_state(states.IMAGE_UPLOADING,
        expected_state=states.IMAGE_PENDING_UPLOAD) before the upload, as Nova's
        drivers call it. InstanceNotFound when the guest is gone."""
        raise NotImplementedError

    def attach_interface(self, context: RequestContext, instance: Instance,
                         image_meta: dict[str, Any], vif: VIF) -> None:
        """Plug a NIC for `vif` (a Neutron port already bound to this host) into the
        running or stopped guest. A failure raises a MinovaException; the manager
        then releases the port (InterfaceAttachFailed)."""
        raise NotImplementedError

    def detach_interface(self, context: RequestContext, instance: Instance,
                         vif: VIF) -> None:
        """Unplug the guest's NIC of `vif`; a NIC already gone is fine."""
        raise NotImplementedError

    # -- volumes (issue 21; block_device_info: see docs/volumes.md) ----------------

    def get_volume_connector(self, instance: Instance) -> dict[str, Any]:
        """This host's connector for Cinder's attachment update: ip, host,
        initiator, multipath, enforce_multipath, platform, os_type, do_local_attach."""
        raise NotImplementedError

    def attach_volume(self, context: RequestContext, connection_info: dict[str, Any],
                      instance: Instance, mountpoint: str, disk_bus: str | None = None,
                      device_type: str | None = None,
                      encryption: dict[str, Any] | None = None) -> None:
        """Hot-plug the volume onto a running or paused guest and keep it in the
        guest's definition (a shut-off guest: the definition only). Raises
        VolumeDriverNotFound (unknown driver_volume_type) or VolumeAttachFailed."""
        raise NotImplementedError

    def detach_volume(self, context: RequestContext, connection_info: dict[str, Any],
                      instance: Instance, mountpoint: str,
                      encryption: dict[str, Any] | None = None) -> None:
        """Unplug the volume once the guest has released it (a device already
        gone is success); DeviceDetachFailed when the guest does not let go."""
        raise NotImplementedError

    def extend_volume(self, context: RequestContext, connection_info: dict[str, Any],
                      instance: Instance, requested_size: int) -> None:
        """Tell the guest its volume grew to requested_size bytes."""
        raise NotImplementedError

    def swap_volume(self, context: RequestContext, old_connection_info: dict[str, Any],
                    new_connection_info: dict[str, Any], instance: Instance,
                    mountpoint: str, resize_to: int) -> None:
        """Copy the guest's disk at mountpoint onto the new volume and switch to it."""
        raise NotImplementedError

    def get_info(self, instance: Instance) -> GuestInfo:
        """The guest's power state; raises InstanceNotFound if it is gone."""
        raise NotImplementedError

    def get_console_output(self, context: RequestContext, instance: Instance) -> str:
        raise NotImplementedError

    def get_vnc_console(self, context: RequestContext, instance: Instance) -> ConsoleInfo:
        """Where the guest's VNC display listens, for the proxy: host, port and
        internal_access_path (None). ConsoleTypeUnavailable when it has none."""
        raise NotImplementedError

    def get_serial_console(self, context: RequestContext, instance: Instance
                           ) -> ConsoleInfo:
        """Where the guest's TCP serial port listens, as get_vnc_console."""
        raise NotImplementedError

    def get_host_uptime(self) -> str:
        """What `uptime` prints on the hypervisor host (GET /os-hypervisors/{id}/uptime)."""
        raise NotImplementedError

    def get_diagnostics(self, instance: Instance) -> dict[str, Any]:
        """The guest's usage as a flat driver-specific dict (diagnostics before 2.48)."""
        raise NotImplementedError

    def get_instance_diagnostics(self, instance: Instance) -> dict[str, Any]:
        """The guest's usage in Nova's 2.48 shape: state, driver, hypervisor,
        hypervisor_os, uptime, config_drive, num_cpus/nics/disks, cpu_details,
        nic_details, disk_details, memory_details (see minova/api/handlers/
        server_diagnostics.py for every key)."""
        raise NotImplementedError


def upload_snapshot(image_id: str, path: str, disk_format: str) -> None:
    """Send a snapshot's data to the image service (Image API v2: the formats
    set, then PUT /v2/images/{id}/file); the image becomes active."""
    from minova.clients import image as image_client
    image_client.shared_client().upload(image_id, path, disk_format, 'bare')


def load_driver(name: str | None = None) -> ComputeDriver:
    """Instantiate `[DEFAULT] compute_driver` (e.g. fake.FakeDriver)."""
    name = name or CONF.compute_driver
    module_name, _, cls_name = name.rpartition('.')
    module = importlib.import_module(f'minova.virt.{module_name}')
    return getattr(module, cls_name)()
