"""What every move of a server (resize, cold and live migration) does the
same way in conductor: its migration record, the source allocation held by
the migration while the server's moves to the destination, the request the
scheduler places the move with, and the undoing of all that when no
destination is found.

As in Nova: while a move is in progress the migration (as a placement
consumer) holds the server's allocation on the source and the server holds
its claim on the destination.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Any

from minova import exception
from minova.cells import lookup
from minova.cells.mappings import CellMapping
from minova.context import RequestContext
from minova.db import actions, build_requests, engines, instances, server_migrations
from minova.db.build_requests import RequestSpec
from minova.db.instances import Instance

LOG = logging.getLogger(__name__)


def fault_message(error: BaseException) -> str:
    """What a fault says of an error: a minova error's own message; of
    anything else (a remote error included) its text, else its class."""
    message = getattr(error, 'message', None)
    if isinstance(message, str) and message:
        return message
    return str(error) or error.__class__.__name__


def cell_of(instance: Instance) -> tuple[CellMapping | None, str]:
    """The server's cell (None: this conductor's own) and its DB URL."""
    cell_uuid = instance.get('cell_uuid')
    cell = lookup.get(cell_uuid) if cell_uuid else None
    return cell, cell['database_connection'] if cell else engines.cell_url()


def flavor_row_id(flavorid: Any) -> int | None:
    """The id of a flavor in the API DB (a migration's instance type ids)."""
    from minova.db import flavors
    try:
        return int(flavors.get_by_flavor_id(str(flavorid))['id'])
    except Exception:   # deleted meanwhile, or no API DB here
        return None


def create_migration(url: str, instance: Instance, migration_type: str, status: str,
                     new_flavor: dict[str, Any]) -> dict[str, Any]:
    """The record of a move of instance from its host, in status."""
    old = instance.get('flavor') or {}
    return server_migrations.create(url, {
        'instance_uuid': instance['uuid'], 'migration_type': migration_type,
        'status': status,
        'source_compute': instance['host'], 'source_node': instance.get('node'),
        'old_instance_type_id': flavor_row_id(old.get('flavorid')),
        'new_instance_type_id': flavor_row_id(new_flavor.get('flavorid')),
        'user_id': instance.get('user_id'), 'project_id': instance.get('project_id')})


def move_spec(instance: Instance, flavor: dict[str, Any]) -> RequestSpec:
    """The server's request spec as the scheduler places a move of it: its
    boot request's, for `flavor`, without the boot's forced hosts or requested
    destination (2.74), which named where it was built, not where it goes."""
    uuid = instance['uuid']
    spec: RequestSpec = dict(  # type: ignore[assignment]
        build_requests.spec_get_many([uuid]).get(uuid) or {})
    spec.update({'instance_uuid': uuid, 'flavor': flavor,  # type: ignore[typeddict-item]
                 'project_id': instance['project_id'],
                 'user_id': instance['user_id'], 'num_instances': 1})
    for key in ('force_hosts', 'force_nodes', 'requested_destination'):
        spec.pop(key, None)  # type: ignore[misc]
    return spec


def give_back_source(placement: Any, context: RequestContext, instance_uuid: str,
                     migration: dict[str, Any]) -> None:
    """The migration's source allocation back to the server (replacing any
    claim the server got on a destination), as a move that ends where it
    began."""
    try:
        placement.move_allocations(context, migration['uuid'], instance_uuid)
    except Exception:
        LOG.exception('Allocation of migration %s could not go back to %s',
                      migration['uuid'], instance_uuid)


def fail_move(placement: Any, context: RequestContext, url: str, instance: Instance,
              migration: dict[str, Any], event: str, error: BaseException,
              held: bool, values: dict[str, Any] | None = None) -> None:
    """A move conductor could not start: the source allocation back on the
    server (if the migration held it), the migration 'error', a fault, the
    task state cleared (plus `values`), the event closed with the error."""
    uuid = instance['uuid']
    if held:
        give_back_source(placement, context, uuid, migration)
    with contextlib.suppress(Exception):
        server_migrations.update(url, migration['uuid'], {'status': 'error'})
    message = fault_message(error)
    with contextlib.suppress(exception.InstanceNotFound):
        instances.fault_create(url, uuid, getattr(error, 'code', 500) or 500, message,
                               None, None)
        instances.update(url, uuid, dict(values or {}, task_state=None))
    actions.event_finish(url, uuid, context.request_id, event, result='Error',
                         exc_tb=message, details=message)
