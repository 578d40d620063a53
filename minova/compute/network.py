"""The compute host's networking (Nova's network calls in ComputeManager).

Without [neutron] servers get the embedded networking: 'none' no NIC, 'auto'
one NIC on QEMU user-mode networking where the driver has it (no host-side
address, so no subnets: the server's addresses stay honestly empty). With
[neutron] the ports are Neutron's (minova/network/api.py): allocated for the
build on this host, released when it fails or the server is deleted, one
attached or detached at a time (compute RPC 1.14), and the server's network
info cache refreshed on network-changed, a VIF dropped on network-vif-deleted.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from minova import exception, utils
from minova.network import is_neutron

if TYPE_CHECKING:
    from minova.conductor.rpcapi import ConductorAPI
    from minova.context import RequestContext
    from minova.db.build_requests import RequestSpec
    from minova.db.instances import VIF, Instance
    from minova.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)

# Network errors Nova does not reschedule for: the next host would fail alike.
NO_RESCHEDULE = (exception.NoMoreFixedIps, exception.ExternalNetworkAttachForbidden,
                 exception.VirtualInterfaceCreateException, exception.FixedIpInvalidOnHost,
                 exception.UnableToAutoAllocateNetwork)


def no_reschedule_reason(e: BaseException) -> str | None:
    """Nova's BuildAbortException reason for a network error, else None."""
    if isinstance(e, exception.NoMoreFixedIps):
        return (f'Failed to allocate the network(s) with error {e}, not rescheduling.')
    if isinstance(e, NO_RESCHEDULE):
        return 'Failed to allocate the network(s), not rescheduling.'
    return None


def _requested_ports(spec: RequestSpec | None) -> set[str]:
    requested = (spec or {}).get('requested_networks')
    if isinstance(requested, list):
        return {r['port_id'] for r in requested if r.get('port_id')}
    return set()


class NetworkMixin:
    """ComputeManager's networking; see the module's docstring."""

    host: str
    driver: ComputeDriver
    conductor: ConductorAPI
    _update: Callable[..., Instance]
    _event: Callable[..., contextlib.AbstractContextManager[None]]
    _instance_lock: Callable[[str], contextlib.AbstractContextManager[None]]

    _cache_locks: dict[str, threading.Lock]
    _cache_locks_guard = threading.Lock()

    @contextlib.contextmanager
    def _nw_cache_lock(self, uuid: str) -> Iterator[None]:
        """Serialises the read-refresh-write of one server's network info cache
        (events, attach, detach, heal), as Nova's refresh_cache lock; never the
        instance lock, which a build holds while it waits for Neutron's events."""
        with self._cache_locks_guard:
            locks = self.__dict__.setdefault('_cache_locks', {})
            lock = locks.setdefault(uuid, threading.Lock())
        with lock:
            yield

    # -- build and delete -------------------------------------------------------

    @staticmethod
    def _networking_waits(spec: RequestSpec) -> bool:
        """Whether the build's networking waits on another service (Neutron)."""
        return spec.get('requested_networks') != 'none' and is_neutron()

    def _allocate_network(self, ctx: RequestContext, instance: Instance,
                          spec: RequestSpec) -> list[VIF]:
        requested = spec.get('requested_networks')
        if is_neutron():
            from minova.network import api as network_api
            return network_api.allocate_for_instance(
                ctx, instance, requested, self.host, spec.get('security_groups') or [])
        if requested == 'auto' and self.driver.capabilities.get('supports_user_mode_network'):
            vif_id = utils.generate_uuid()
            mac = 'fa:16:3e:' + ':'.join(vif_id[i:i + 2] for i in (0, 2, 4))
            return [{'id': vif_id, 'address': mac, 'type': 'user',
                     'network': {'id': None, 'label': 'user-mode', 'subnets': []}}]
        return []

    def _deallocate_network(self, ctx: RequestContext | None, instance: Instance,
                            spec: RequestSpec | None = None,
                            raise_on_failure: bool = False) -> None:
        """Release the server's ports. The ports a user asked for (in the cache or
        the request spec) are unbound and kept. A failure is logged (a failed
        build goes on), or raised with raise_on_failure (a delete: as Nova's
        _try_deallocate_network, the server goes to ERROR and can be deleted
        again, rather than leaving its ports behind)."""
        if not is_neutron():
            return
        from minova.network import api as network_api
        try:
            network_api.deallocate_for_instance(ctx, instance,
                                                preserve=_requested_ports(spec))
        except Exception:
            LOG.exception('Could not release the ports of %s', instance['uuid'])
            if raise_on_failure:
                raise

    def _bind_ports_here(self, instance: Instance) -> list[VIF]:
        """A server arriving on this host (resize, migration, revert): its ports
        bound here; its VIFs (the cached ones without Neutron)."""
        cached = list(instance.get('network_info') or [])
        if not is_neutron() or not cached:
            return cached
        from minova.network import api as network_api
        return network_api.bind_ports_to_host(instance, self.host)

    def _heal_instance_info_cache(self) -> None:
        """Nova's periodic task: the network info cache of one server of this host
        made again from Neutron per run, the servers taken in turn (those not
        being built or deleted)."""
        if not is_neutron():
            return
        from minova import states
        from minova.context import get_admin_context
        from minova.network import api as network_api
        ctx = get_admin_context()
        queue: list[str] = getattr(self, '_heal_queue', [])
        if not queue:
            queue = [i['uuid'] for i in self.conductor.instance_get_all_by_host(ctx, self.host)
                     if i.get('vm_state') != states.BUILDING
                     and i.get('task_state') != states.DELETING]
        while queue:
            uuid = queue.pop(0)
            found = self.conductor.instance_get_all_by_uuids(ctx, [uuid])
            if not found or found[0].get('host') != self.host:
                continue
            try:
                with self._nw_cache_lock(uuid):
                    fresh = self._fresh(ctx, found[0])
                    self._update(ctx, uuid,
                                 {'network_info': network_api.build_network_info(fresh)})
                LOG.debug('Network info cache of %s healed', uuid)
            except exception.InstanceNotFound:
                pass
            except Exception:
                LOG.exception('Could not heal the network info cache of %s', uuid)
            break
        self._heal_queue = queue

    # -- events --------------------------------------------------------------------

    def _handle_network_event(self, context: RequestContext, instance: Instance,
                              name: str, tag: str | None) -> None:
        if not is_neutron() or name not in ('network-changed', 'network-vif-deleted'):
            return
        from minova.network import api as network_api
        uuid = instance['uuid']
        # The record as it is now: the event's copy may predate an attach or
        # detach that Neutron's event follows.
        with self._nw_cache_lock(uuid):
            try:
                instance = self._fresh(context, instance)
            except exception.InstanceNotFound:
                return      # deleted meanwhile: nothing to refresh
            if name == 'network-changed':
                nw_info = network_api.build_network_info(instance)
            else:
                gone = [v for v in instance.get('network_info') or [] if v.get('id') == tag]
                for vif in gone:
                    with contextlib.suppress(NotImplementedError, exception.MinovaException):
                        self.driver.detach_interface(context, instance, vif)
                nw_info = [v for v in instance.get('network_info') or []
                           if v.get('id') != tag]
            with contextlib.suppress(exception.InstanceNotFound):
                self._update(context, uuid, {'network_info': nw_info})
        LOG.info('Network info of %s refreshed on %s-%s', uuid, name, tag)

    # -- interfaces (compute RPC 1.14) ------------------------------------------------

    def _fresh(self, context: RequestContext, instance: Instance) -> Instance:
        found = self.conductor.instance_get_all_by_uuids(context, [instance['uuid']])
        if not found:
            raise exception.InstanceNotFound(instance_id=instance['uuid'])
        return found[0]

    def _interface_fault(self, context: RequestContext, uuid: str,
                         e: Exception) -> None:
        with contextlib.suppress(exception.InstanceNotFound):
            self.conductor.instance_fault_create(
                context, uuid, getattr(e, 'code', 500) or 500, str(e) or type(e).__name__,
                traceback.format_exc(), self.host)

    def attach_interface(self, context: RequestContext, instance: Instance,
                         network_id: str | None, port_id: str | None,
                         requested_ip: str | None, tag: str | None = None) -> VIF:
        """A port made on network_id (or the port port_id taken), bound to this host
        and plugged into the guest; the new VIF (Nova's attach_interface)."""
        from minova.network import api as network_api
        uuid = instance['uuid']
        with self._instance_lock(uuid), self._event(context, uuid,
                                                     'compute_attach_interface'):
            if not is_neutron():
                raise exception.NotSupported()
            instance = self._fresh(context, instance)
            requested: Any = ([{'network_id': network_id, 'port_id': port_id,
                                'address': requested_ip, 'tag': tag}]
                              if network_id or port_id else None)
            vifs = network_api.allocate_for_instance(context, instance, requested, self.host)
            if not vifs:
                raise exception.InterfaceAttachFailedNoNetwork(
                    project_id=instance['project_id'])
            vif = vifs[0]
            try:
                self.driver.attach_interface(context, instance, {}, vif)
            except Exception as e:
                LOG.warning('Attaching port %s to %s failed: %s', vif['id'], uuid, e)
                with_vif: Instance = {**instance, 'network_info': vifs}
                network_api.deallocate_port(with_vif, vif['id'])
                if isinstance(e, NotImplementedError):
                    raise exception.NotSupported() from None
                raise exception.InterfaceAttachFailed(instance_uuid=uuid) from e
            with self._nw_cache_lock(uuid):
                current = self._fresh(context, instance).get('network_info') or []
                cache = [v for v in current if v['id'] != vif['id']]
                self._update(context, uuid, {'network_info': cache + [vif]})
            LOG.info('Port %s attached to %s', vif['id'], uuid)
            return vif

    def detach_interface(self, context: RequestContext, instance: Instance,
                         port_id: str) -> None:
        """The guest's NIC of port_id unplugged and the port released (deleted if
        made for the server, else unbound)."""
        from minova.network import api as network_api
        uuid = instance['uuid']
        with self._instance_lock(uuid):
            try:
                with self._event(context, uuid, 'compute_detach_interface'):
                    instance = self._fresh(context, instance)
                    cache = list(instance.get('network_info') or [])
                    condemned = next((v for v in cache if v.get('id') == port_id), None)
                    if condemned is None:
                        raise exception.PortNotFound(f'Port {port_id} is not attached')
                    try:
                        self.driver.detach_interface(context, instance, condemned)
                    except NotImplementedError:
                        raise exception.NotSupported() from None
                    except exception.MinovaException as e:
                        LOG.warning('Detaching port %s from %s failed: %s', port_id, uuid, e)
                        raise exception.InterfaceDetachFailed(instance_uuid=uuid) from e
                    network_api.deallocate_port(instance, port_id)
                    with self._nw_cache_lock(uuid):
                        current = self._fresh(context, instance).get('network_info') or []
                        self._update(context, uuid, {'network_info': [
                            v for v in current if v.get('id') != port_id]})
                    LOG.info('Port %s detached from %s', port_id, uuid)
            except exception.InstanceNotFound:
                return
            except Exception as e:
                self._interface_fault(context, uuid, e)
