"""The compute API's networking calls (os-interface, security group actions).

Attaching waits for the host (compute RPC 1.14 call: the new port is the
answer); detaching is cast, its outcome in the instance action, as in Nova.
Both need a server ACTIVE, PAUSED or STOPPED with no task running and refuse a
locked server to non-admins.
"""
from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from minova import exception, states
from minova.compute import rpcapi as compute_rpcapi
from minova.db import actions
from minova.network import is_neutron

if TYPE_CHECKING:
    from minova.cells.mappings import CellMapping
    from minova.context import RequestContext
    from minova.db.instances import VIF, Instance

LOG = logging.getLogger(__name__)

INTERFACE_VM_STATES = (states.ACTIVE, states.PAUSED, states.STOPPED)


class NetworkAPIMixin:
    """Mixed into minova.compute.api.API."""

    if TYPE_CHECKING:
        @staticmethod
        def check_lock(ctx: RequestContext, instance: Instance) -> None: ...

        @staticmethod
        def check_states(instance: Instance, action: str, vm_states: Collection[str],
                         task_states: Collection[str | None] | None = (None,)) -> None: ...

        def _on_host(self, instance: Instance) -> tuple[CellMapping, str]: ...

    def _interface_action(self, ctx: RequestContext, instance: Instance, action: str
                          ) -> tuple[CellMapping, str]:
        if not is_neutron():
            raise exception.NotSupported()
        self.check_lock(ctx, instance)
        self.check_states(instance, action, INTERFACE_VM_STATES)
        cell, host = self._on_host(instance)
        actions.action_start(cell['database_connection'], instance['uuid'], action,
                             ctx.request_id, ctx.user_id, ctx.project_id)
        return cell, host

    def attach_interface(self, ctx: RequestContext, instance: Instance,
                         network_id: str | None, port_id: str | None,
                         requested_ip: str | None, tag: str | None = None) -> VIF:
        cell, host = self._interface_action(ctx, instance, 'attach_interface')
        vif: Any = compute_rpcapi.for_cell(cell).attach_interface(
            ctx, host, instance, network_id, port_id, requested_ip, tag)
        return dict(vif)

    def detach_interface(self, ctx: RequestContext, instance: Instance,
                         port_id: str) -> None:
        cell, host = self._interface_action(ctx, instance, 'detach_interface')
        compute_rpcapi.for_cell(cell).detach_interface(ctx, host, instance, port_id)

    @staticmethod
    def release_ports_locally(ctx: RequestContext, instance: Instance) -> None:
        """A server deleted by the API itself (never built, host down): its ports
        released, as Nova's local delete does."""
        if not is_neutron():
            return
        from minova.network import api as network_api
        try:
            network_api.deallocate_for_instance(ctx, instance)
        except Exception:
            LOG.exception('Could not release the ports of %s', instance['uuid'])
