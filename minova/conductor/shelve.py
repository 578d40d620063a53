"""unshelve in conductor (rpc 1.6), as Nova's ComputeTaskManager.

A SHELVED server is started where it is (task state powering-on, the host's
start_instance). A SHELVED_OFFLOADED one: its shelve image looked up
('get_image_info'), a host chosen by the scheduler with the request spec the
API sent ('schedule_instances'; the scheduler claims it in placement), the
server given that host's zone, then unshelve_instance cast to that host. No
host: SHELVED_OFFLOADED again, task state cleared, a fault saying why.
"""
from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any, Literal

from minova import exception, states
from minova.cells import lookup
from minova.compute import rpcapi as compute_rpcapi
from minova.context import RequestContext
from minova.db import actions, engines, instances

if TYPE_CHECKING:
    from minova.db.build_requests import RequestSpec
    from minova.db.instances import Instance
    from minova.scheduler.rpcapi import SchedulerAPI

LOG = logging.getLogger(__name__)


def _message(e: BaseException) -> str:
    message = getattr(e, 'message', None)
    if isinstance(message, str) and message:
        return message
    return str(e) or e.__class__.__name__


class ShelveMixin:
    scheduler: SchedulerAPI
    placement: Any

    def unshelve_instance(self, context: RequestContext, instance: Instance,
                          request_spec: RequestSpec) -> None:
        uuid = instance['uuid']
        cell_uuid = instance.get('cell_uuid')
        cell = lookup.get(cell_uuid) if cell_uuid else None
        url = cell['database_connection'] if cell else engines.cell_url()
        if instance.get('vm_state') == states.SHELVED:
            inst = instances.update(url, uuid, {'task_state': states.POWERING_ON},
                                    [states.UNSHELVING])
            compute_rpcapi.for_cell(cell).start_instance(context, str(instance['host']), inst)
            return
        if instance.get('vm_state') != states.SHELVED_OFFLOADED:
            LOG.error('Unshelve of %s in vm_state %s', uuid, instance.get('vm_state'))
            instances.update(url, uuid, {'vm_state': states.ERROR, 'task_state': None})
            return
        event = 'get_image_info'
        claimed = False
        try:
            image = self._shelve_image(context, url, instance)
            if image is False:
                return
            event = 'schedule_instances'
            actions.event_start(url, uuid, context.request_id, event)
            spec: RequestSpec = {**request_spec}
            spec.update({'instance_uuid': uuid, 'project_id': instance['project_id'],
                         'user_id': instance['user_id'], 'num_instances': 1})
            flavor = instance.get('flavor')
            if flavor:
                spec['flavor'] = flavor
            # As Nova: a forced host of the boot does not bind the unshelve.
            spec.pop('force_hosts', None)
            spec.pop('force_nodes', None)
            selection = self.scheduler.select_destinations(
                context, spec, [uuid], return_alternates=False)[0][0]
            claimed = True
            host, node = selection['service_host'], selection['nodename']
            from minova.conductor.manager import _host_zone
            inst = instances.update(url, uuid, {'availability_zone': _host_zone(host)},
                                    [states.UNSHELVING])
            actions.event_finish(url, uuid, context.request_id, event)
            compute_rpcapi.for_cell(cell).unshelve_instance(context, host, inst,
                                                            image, node)
        except Exception as e:
            LOG.warning('Unshelve of %s found no host: %s', uuid, e)
            if claimed:
                with contextlib.suppress(Exception):
                    self.placement.delete_allocation_for_instance(context, uuid)
            with contextlib.suppress(exception.InstanceNotFound):
                instances.fault_create(url, uuid, getattr(e, 'code', 500) or 500,
                                       _message(e), None, None)
                instances.update(url, uuid, {'task_state': None})
            with contextlib.suppress(Exception):
                actions.event_finish(url, uuid, context.request_id, event, result='Error',
                                     exc_tb=_message(e), details=_message(e))

    @staticmethod
    def _shelve_image(context: RequestContext, url: str, instance: Instance
                      ) -> dict[str, Any] | None | Literal[False]:
        """The shelve image (None: the server has none); False when it is gone:
        the server is then in ERROR with Nova's fault."""
        from minova.clients import image as image_client
        uuid = instance['uuid']
        image_id = (instance.get('system_metadata') or {}).get('shelved_image_id')
        if not image_id:
            return None
        event = 'get_image_info'
        actions.event_start(url, uuid, context.request_id, event)
        try:
            image = image_client.shared_client().show(context, image_id)
        except image_client.ImageNotFound as e:
            reason = f'Unshelve attempted but the image {image_id} cannot be found.'
            LOG.error('%s (%s)', reason, uuid)
            with contextlib.suppress(exception.InstanceNotFound):
                instances.update(url, uuid, {'vm_state': states.ERROR, 'task_state': None})
                instances.fault_create(url, uuid, 404, reason, _message(e), None)
            actions.event_finish(url, uuid, context.request_id, event, result='Error',
                                 exc_tb=reason, details=reason)
            return False
        actions.event_finish(url, uuid, context.request_id, event)
        return image
