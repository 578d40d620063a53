"""Client side of the compute RPC API (topic 'compute', server = host).

On RabbitMQ a cast to host H lands on the queue 'compute.H'.

Version history:
  1.0 - initial: build_and_run_instance, terminate_instance, reboot_instance,
        stop_instance, start_instance
  1.1 - adds get_console_output (a call)
  1.2 - adds get_host_uptime, get_diagnostics, get_instance_diagnostics (calls) and
        external_instance_event (a cast)
  1.3 - adds pause_instance, unpause_instance, suspend_instance, resume_instance,
        trigger_crash_dump (casts)
  1.4 - adds get_vnc_console and get_serial_console (calls)
  1.5 - adds rebuild_instance (a cast)
  1.6 - adds snapshot_instance, backup_instance
  1.7 - adds rescue_instance, unrescue_instance (casts)
  1.8 - adds soft_delete_instance, restore_instance (casts)
  1.9 - adds prep_resize, resize_instance, finish_resize, confirm_resize,
        revert_resize, finish_revert_resize (casts)
  1.10 - adds set_admin_password (a call)
  1.11 - adds shelve_instance, shelve_offload_instance, unshelve_instance (casts)
  1.12 - live migration: check_can_live_migrate_destination, pre_live_migration,
         post_live_migration_at_destination, rollback_live_migration_at_destination
         (calls, to the destination); live_migration, live_migration_force_complete,
         live_migration_abort (casts, to the source)
  1.13 - adds evacuate_instance (a cast)
  1.14 - adds attach_interface (a call) and detach_interface (a cast)
  1.15 - adds reserve_block_device_name (a call) and attach_volume (a cast)
  1.16 - adds detach_volume and swap_volume (casts)
  1.17 - external_instance_event acts on volume-extended (the guest's disk grows)
  1.18 - rebuild_instance takes reimage_boot_volume (2.93: Cinder reimages the
         root volume of a volume-backed server); reserve_block_device_name takes
         multiattach (the host refuses a volume its driver cannot share)
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import oslo_messaging as messaging

from minova import rpc
from minova.context import RequestContext

if TYPE_CHECKING:
    from minova.cells.mappings import CellMapping
    from minova.clients.placement import AllocationRequest
    from minova.db.build_requests import RequestSpec
    from minova.db.instances import Instance
    from minova.scheduler.rpcapi import Selection

TOPIC = 'compute'
VERSION = '1.18'


class ComputeAPI:
    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.client = rpc.get_client(messaging.Target(topic=TOPIC, version='1.0'),
                                     version_cap=VERSION, url=url)

    def _prepare(self, host: str) -> Any:
        return self.client.prepare(server=host, version='1.0')

    def build_and_run_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                               request_spec: RequestSpec, node: str,
                               allocations: AllocationRequest,
                               alternates: list[Selection]) -> None:
        self._prepare(host).cast(ctxt, 'build_and_run_instance', instance=instance,
                                 request_spec=request_spec, node=node,
                                 allocations=allocations, alternates=alternates)

    def terminate_instance(self, ctxt: RequestContext, host: str,
                           instance: Instance) -> None:
        self._prepare(host).cast(ctxt, 'terminate_instance', instance=instance)

    def reboot_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                        reboot_type: str) -> None:
        self._prepare(host).cast(ctxt, 'reboot_instance', instance=instance,
                                 reboot_type=reboot_type)

    def stop_instance(self, ctxt: RequestContext, host: str, instance: Instance) -> None:
        self._prepare(host).cast(ctxt, 'stop_instance', instance=instance)

    def start_instance(self, ctxt: RequestContext, host: str, instance: Instance) -> None:
        self._prepare(host).cast(ctxt, 'start_instance', instance=instance)

    def get_console_output(self, ctxt: RequestContext, host: str, instance: Instance,
                           tail_length: int | None) -> str:
        return self.client.prepare(server=host, version='1.1').call(
            ctxt, 'get_console_output', instance=instance, tail_length=tail_length)

    def get_host_uptime(self, ctxt: RequestContext, host: str) -> str:
        return self.client.prepare(server=host, version='1.2').call(ctxt, 'get_host_uptime')

    def get_diagnostics(self, ctxt: RequestContext, host: str,
                        instance: Instance) -> dict[str, Any]:
        return self.client.prepare(server=host, version='1.2').call(
            ctxt, 'get_diagnostics', instance=instance)

    def get_instance_diagnostics(self, ctxt: RequestContext, host: str,
                                 instance: Instance) -> dict[str, Any]:
        return self.client.prepare(server=host, version='1.2').call(
            ctxt, 'get_instance_diagnostics', instance=instance)

    def get_vnc_console(self, ctxt: RequestContext, host: str, instance: Instance,
                        console_type: str) -> dict[str, Any]:
        return self.client.prepare(server=host, version='1.4').call(
            ctxt, 'get_vnc_console', instance=instance, console_type=console_type)

    def get_serial_console(self, ctxt: RequestContext, host: str, instance: Instance,
                           console_type: str) -> dict[str, Any]:
        return self.client.prepare(server=host, version='1.4').call(
            ctxt, 'get_serial_console', instance=instance, console_type=console_type)

    def external_instance_event(self, ctxt: RequestContext, host: str,
                                instances: list[Instance],
                                events: list[dict[str, Any]]) -> None:
        self.client.prepare(server=host, version='1.2').cast(
            ctxt, 'external_instance_event', instances=instances, events=events)

    def _cast_13(self, ctxt: RequestContext, host: str, method: str,
                 instance: Instance) -> None:
        self.client.prepare(server=host, version='1.3').cast(ctxt, method, instance=instance)

    def pause_instance(self, ctxt: RequestContext, host: str, instance: Instance) -> None:
        self._cast_13(ctxt, host, 'pause_instance', instance)

    def unpause_instance(self, ctxt: RequestContext, host: str, instance: Instance) -> None:
        self._cast_13(ctxt, host, 'unpause_instance', instance)

    def suspend_instance(self, ctxt: RequestContext, host: str, instance: Instance) -> None:
        self._cast_13(ctxt, host, 'suspend_instance', instance)

    def resume_instance(self, ctxt: RequestContext, host: str, instance: Instance) -> None:
        self._cast_13(ctxt, host, 'resume_instance', instance)

    def trigger_crash_dump(self, ctxt: RequestContext, host: str, instance: Instance) -> None:
        self._cast_13(ctxt, host, 'trigger_crash_dump', instance)

    def rebuild_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                         image: dict[str, Any], preserve_ephemeral: bool,
                         reimage_boot_volume: bool = False) -> None:
        kwargs: dict[str, Any] = {}
        if reimage_boot_volume:     # only a 1.18 host knows it
            kwargs['reimage_boot_volume'] = True
        self.client.prepare(server=host, version='1.18' if kwargs else '1.5').cast(
            ctxt, 'rebuild_instance', instance=instance, image=image,
            preserve_ephemeral=preserve_ephemeral, **kwargs)

    def snapshot_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                          image_id: str) -> None:
        self.client.prepare(server=host, version='1.6').cast(
            ctxt, 'snapshot_instance', instance=instance, image_id=image_id)

    def backup_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                        image_id: str, backup_type: str, rotation: int) -> None:
        self.client.prepare(server=host, version='1.6').cast(
            ctxt, 'backup_instance', instance=instance, image_id=image_id,
            backup_type=backup_type, rotation=rotation)

    def set_admin_password(self, ctxt: RequestContext, host: str, instance: Instance,
                           new_pass: str) -> None:
        """A call, as Nova's: the API answers with the host's outcome."""
        self.client.prepare(server=host, version='1.10').call(
            ctxt, 'set_admin_password', instance=instance, new_pass=new_pass)

    def attach_interface(self, ctxt: RequestContext, host: str, instance: Instance,
                         network_id: str | None, port_id: str | None,
                         requested_ip: str | None, tag: str | None = None) -> Any:
        return self.client.prepare(server=host, version='1.14').call(
            ctxt, 'attach_interface', instance=instance, network_id=network_id,
            port_id=port_id, requested_ip=requested_ip, tag=tag)

    def detach_interface(self, ctxt: RequestContext, host: str, instance: Instance,
                         port_id: str) -> None:
        self.client.prepare(server=host, version='1.14').cast(
            ctxt, 'detach_interface', instance=instance, port_id=port_id)

    def rescue_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                        rescue_password: str, rescue_image_ref: str | None) -> None:
        self.client.prepare(server=host, version='1.7').cast(
            ctxt, 'rescue_instance', instance=instance, rescue_password=rescue_password,
            rescue_image_ref=rescue_image_ref)

    def unrescue_instance(self, ctxt: RequestContext, host: str, instance: Instance) -> None:
        self.client.prepare(server=host, version='1.7').cast(
            ctxt, 'unrescue_instance', instance=instance)

    def soft_delete_instance(self, ctxt: RequestContext, host: str,
                             instance: Instance) -> None:
        self.client.prepare(server=host, version='1.8').cast(
            ctxt, 'soft_delete_instance', instance=instance)

    def restore_instance(self, ctxt: RequestContext, host: str, instance: Instance) -> None:
        self.client.prepare(server=host, version='1.8').cast(
            ctxt, 'restore_instance', instance=instance)

    # -- resize (1.9): each step a cast to the host that does it, as in Nova --

    def _cast_19(self, ctxt: RequestContext, host: str, method: str, **kwargs: Any) -> None:
        self.client.prepare(server=host, version='1.9').cast(ctxt, method, **kwargs)

    def prep_resize(self, ctxt: RequestContext, host: str, instance: Instance,
                    flavor: dict[str, Any], migration: dict[str, Any], node: str) -> None:
        """To the destination: ready to take the server with `flavor`."""
        self._cast_19(ctxt, host, 'prep_resize', instance=instance, flavor=flavor,
                      migration=migration, node=node)

    def resize_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                        flavor: dict[str, Any], migration: dict[str, Any]) -> None:
        """To the source: power off and hand the disk over."""
        self._cast_19(ctxt, host, 'resize_instance', instance=instance, flavor=flavor,
                      migration=migration)

    def finish_resize(self, ctxt: RequestContext, host: str, instance: Instance,
                      flavor: dict[str, Any], migration: dict[str, Any]) -> None:
        """To the destination: the guest up with the new flavor (VERIFY_RESIZE)."""
        self._cast_19(ctxt, host, 'finish_resize', instance=instance, flavor=flavor,
                      migration=migration)

    def confirm_resize(self, ctxt: RequestContext, host: str, instance: Instance,
                       migration: dict[str, Any]) -> None:
        """To the source: its copy and its allocation dropped."""
        self._cast_19(ctxt, host, 'confirm_resize', instance=instance, migration=migration)

    def revert_resize(self, ctxt: RequestContext, host: str, instance: Instance,
                      migration: dict[str, Any]) -> None:
        """To the destination: its guest destroyed, then back to the source."""
        self._cast_19(ctxt, host, 'revert_resize', instance=instance, migration=migration)

    def finish_revert_resize(self, ctxt: RequestContext, host: str, instance: Instance,
                             migration: dict[str, Any]) -> None:
        """To the source: the old flavor, allocation and guest back."""
        self._cast_19(ctxt, host, 'finish_revert_resize', instance=instance,
                      migration=migration)

    # -- shelve (1.11) --

    def shelve_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                        image_id: str) -> None:
        """Power off, snapshot into image_id: SHELVED (and offloaded at once
        with [DEFAULT] shelved_offload_time 0)."""
        self.client.prepare(server=host, version='1.11').cast(
            ctxt, 'shelve_instance', instance=instance, image_id=image_id)

    def shelve_offload_instance(self, ctxt: RequestContext, host: str,
                                instance: Instance) -> None:
        """The guest, its disks and its allocations gone: SHELVED_OFFLOADED."""
        self.client.prepare(server=host, version='1.11').cast(
            ctxt, 'shelve_offload_instance', instance=instance)

    def unshelve_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                          image: dict[str, Any] | None, node: str) -> None:
        """To the host the scheduler chose: spawn from the shelve image."""
        self.client.prepare(server=host, version='1.11').cast(
            ctxt, 'unshelve_instance', instance=instance, image=image, node=node)
    # -- live migration (1.12) --------------------------------------------------

    def _112(self, host: str) -> Any:
        return self.client.prepare(server=host, version='1.12')

    def check_can_live_migrate_destination(self, ctxt: RequestContext, host: str,
                                           instance: Instance,
                                           block_migration: bool | None) -> dict[str, Any]:
        """To the destination: can it take the guest? Its migrate_data."""
        return self._112(host).call(ctxt, 'check_can_live_migrate_destination',
                                    instance=instance, block_migration=block_migration)

    def pre_live_migration(self, ctxt: RequestContext, host: str, instance: Instance,
                           migrate_data: dict[str, Any]) -> dict[str, Any]:
        """To the destination: ready the disks; migrate_data updated."""
        return self._112(host).call(ctxt, 'pre_live_migration', instance=instance,
                                    migrate_data=migrate_data)

    def live_migration(self, ctxt: RequestContext, host: str, instance: Instance,
                       dest: str, migration: dict[str, Any],
                       migrate_data: dict[str, Any]) -> None:
        """To the source: move the running guest to dest."""
        self._112(host).cast(ctxt, 'live_migration', instance=instance, dest=dest,
                             migration=migration, migrate_data=migrate_data)

    def post_live_migration_at_destination(self, ctxt: RequestContext, host: str,
                                           instance: Instance, migration: dict[str, Any],
                                           migrate_data: dict[str, Any]) -> None:
        """To the destination: the server is its own now."""
        self._112(host).call(ctxt, 'post_live_migration_at_destination', instance=instance,
                             migration=migration, migrate_data=migrate_data)

    def rollback_live_migration_at_destination(self, ctxt: RequestContext, host: str,
                                               instance: Instance,
                                               migrate_data: dict[str, Any]) -> None:
        """To the destination: what pre_live_migration made, removed."""
        self._112(host).call(ctxt, 'rollback_live_migration_at_destination',
                             instance=instance, migrate_data=migrate_data)

    def live_migration_force_complete(self, ctxt: RequestContext, host: str,
                                      instance: Instance, migration: dict[str, Any]) -> None:
        self._112(host).cast(ctxt, 'live_migration_force_complete', instance=instance,
                             migration=migration)

    def live_migration_abort(self, ctxt: RequestContext, host: str, instance: Instance,
                             migration: dict[str, Any]) -> None:
        self._112(host).cast(ctxt, 'live_migration_abort', instance=instance,
                             migration=migration)

    # -- evacuate (1.13) --

    def evacuate_instance(self, ctxt: RequestContext, host: str, instance: Instance,
                          migration: dict[str, Any], node: str,
                          target_state: str | None) -> None:
        """1.13, to the destination of an evacuation: the server rebuilt there
        from its image (Nova's rebuild_instance with recreate)."""
        self.client.prepare(server=host, version='1.13').cast(
            ctxt, 'evacuate_instance', instance=instance, migration=migration, node=node,
            target_state=target_state)

    # -- volumes (1.15, 1.16) -------------------------------------------------------

    def reserve_block_device_name(self, ctxt: RequestContext, host: str,
                                  instance: Instance, volume_id: str,
                                  disk_bus: str | None, device_type: str | None,
                                  tag: str | None, delete_on_termination: bool,
                                  multiattach: bool = False) -> dict[str, Any]:
        kwargs: dict[str, Any] = {'multiattach': True} if multiattach else {}
        return self.client.prepare(server=host, version='1.18' if kwargs else '1.15').call(
            ctxt, 'reserve_block_device_name', instance=instance, volume_id=volume_id,
            disk_bus=disk_bus, device_type=device_type, tag=tag,
            delete_on_termination=delete_on_termination, **kwargs)

    def attach_volume(self, ctxt: RequestContext, host: str, instance: Instance,
                      bdm: dict[str, Any]) -> None:
        self.client.prepare(server=host, version='1.15').cast(
            ctxt, 'attach_volume', instance=instance, bdm=bdm)

    def detach_volume(self, ctxt: RequestContext, host: str, instance: Instance,
                      volume_id: str, attachment_id: str | None) -> None:
        self.client.prepare(server=host, version='1.16').cast(
            ctxt, 'detach_volume', instance=instance, volume_id=volume_id,
            attachment_id=attachment_id)

    def swap_volume(self, ctxt: RequestContext, host: str, instance: Instance,
                    old_volume_id: str, new_volume_id: str, new_attachment_id: str) -> None:
        self.client.prepare(server=host, version='1.16').cast(
            ctxt, 'swap_volume', instance=instance, old_volume_id=old_volume_id,
            new_volume_id=new_volume_id, new_attachment_id=new_attachment_id)


_by_url: dict[str, ComputeAPI] = {}
_by_url_lock = threading.Lock()


def for_cell(cell: CellMapping | None) -> ComputeAPI:
    """The compute RPC client on a cell's own message bus (one per bus,
    shared); None: this service's own bus (a cell conductor's, whose computes
    are all in its cell)."""
    url = (cell and cell.get('transport_url')) or rpc.transport_url()
    with _by_url_lock:
        api = _by_url.get(url)
        if api is None:
            api = _by_url[url] = ComputeAPI(url=url)
    return api
