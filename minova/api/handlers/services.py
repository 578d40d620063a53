"""/os-services: the services of every cell (admin only).

Service rows live in each cell's DB. From 2.53 services are named by uuid.
Before 2.53 they are named by their integer id, which is only unique within a
cell: a request naming an id that exists in several cells is refused with a
400 (use 2.53+ and the uuid), never applied to an arbitrary one.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import falcon

from minova import exception, utils
from minova.api import errors, host_status, policy, util
from minova.api.schemas import services as schema
from minova.api.versioned import Schema, schema_for
from minova.api.views import services as view
from minova.cells import lookup, mappings, scatter
from minova.cells.mappings import CellMapping
from minova.db import compute_nodes as nodes_db
from minova.db import instances as instances_db
from minova.db import services as services_db
from minova.policies import admin as pol

LOG = logging.getLogger(__name__)


def all_services(host: str | None = None, binary: str | None = None
                 ) -> list[tuple[CellMapping, dict[str, Any]]]:
    """(cell, service) for every live service in every cell that answered."""
    def fetch(cell: CellMapping) -> list[dict[str, Any]]:
        return services_db.get_all(cell['database_connection'], host=host,
                                   binary=host_status.db_binary(binary) if binary else None)
    by_uuid = {c['uuid']: c for c in lookup.all_cells(include_cell0=False)}
    out: list[tuple[CellMapping, dict[str, Any]]] = []
    for cell_uuid, result in scatter.for_each_cell(fetch, cells=list(by_uuid.values())
                                                      ).items():
        if isinstance(result, scatter.CellFailed):
            continue
        out.extend((by_uuid[cell_uuid], svc) for svc in result)
    return out


def find(req: falcon.Request, service_id: str) -> tuple[CellMapping, dict[str, Any]]:
    """(cell, service) named by uuid (2.53+) or by a cell-local integer id."""
    if schema_for(req, schema.TABLE).by_uuid:
        if not utils.is_uuid_like(service_id):
            raise errors.bad_request(f'Invalid uuid {service_id}')
        matches = [(c, s) for c, s in all_services() if s['uuid'] == service_id]
    else:
        try:
            number = int(service_id)
        except ValueError:
            raise errors.bad_request(f'Invalid service id {service_id}') from None
        matches = [(c, s) for c, s in all_services() if s['id'] == number]
        if len(matches) > 1:
            raise errors.bad_request(
                f'Service id {service_id} refers to multiple services in different cells; '
                'use microversion 2.53 or later and the service uuid.')
    if not matches:
        raise exception.ServiceNotFound(service_id=service_id)
    return matches[0]


class Services:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        policy.authorize(util.ctx(req), pol.SERVICES % 'list', {})
        params = util.validated_query(req, schema_for(req, schema.TABLE).index_query)
        found = all_services(util.last(params, 'host'), util.last(params, 'binary'))
        resp.media = {'services': [view.show(req, s) for _, s in found]}


def _legacy_update(req: falcon.Request, actions: Mapping[str, Schema], action: str
                   ) -> dict[str, Any]:
    if action not in actions:
        raise errors.not_found(f'Unknown action {action}')
    body = util.validated_body(req, actions[action])
    binary = host_status.db_binary(body['binary'])
    matches = all_services(body['host'], binary)
    if not matches:
        raise errors.not_found(f"Could not find binary {body['binary']} on host {body['host']}.")
    cell, svc = matches[0]
    url = cell['database_connection']
    out = {'host': body['host'], 'binary': body['binary']}
    if action == 'enable':
        services_db.update(url, svc['id'], {'disabled': False, 'disabled_reason': None})
        out['status'] = 'enabled'
    elif action == 'disable':
        services_db.update(url, svc['id'], {'disabled': True})
        out['status'] = 'disabled'
    elif action == 'disable-log-reason':
        reason = body.get('disabled_reason')
        if not reason:
            raise errors.bad_request('Missing disabled reason field')
        services_db.update(url, svc['id'], {'disabled': True, 'disabled_reason': reason})
        out.update(status='disabled', disabled_reason=reason)
    else:
        forced = util.to_bool(body['forced_down'])
        services_db.update(url, svc['id'], {'forced_down': forced})
        out['forced_down'] = forced
    return {'service': out}


def _update(req: falcon.Request, update: Schema, service_id: str) -> dict[str, Any]:
    body = util.validated_body(req, update)
    cell, svc = find(req, service_id)
    if svc['binary'] != host_status.COMPUTE_BINARY:
        raise errors.bad_request(f"Updating a {host_status.api_binary(svc['binary'])} service is "
                                 'not supported. Only nova-compute services can be updated.')
    status = body.get('status')
    if 'disabled_reason' in body and status != 'disabled':
        raise errors.bad_request('Specifying a disabled reason is only allowed when '
                                 'disabling a service.')
    if not body:
        raise errors.bad_request('No updates were requested. Fields which can be updated '
                                 'are: status, disabled_reason, forced_down')
    values: dict[str, Any] = {}
    if status == 'enabled':
        values.update(disabled=False, disabled_reason=None)
    elif status == 'disabled':
        values.update(disabled=True, disabled_reason=body.get('disabled_reason'))
    if 'forced_down' in body:
        values['forced_down'] = util.to_bool(body['forced_down'])
    updated = services_db.update(cell['database_connection'], svc['id'], values)
    return {'service': view.show(req, updated)}


def _delete_resource_provider(ctx: Any, node_uuid: str) -> None:
    """Remove the node's resource provider from placement; a failure only logs."""
    try:
        from minova.clients import placement as placement_client
        placement_client.Client().delete_resource_provider(ctx, node_uuid)
    except Exception as e:  # placement down, or the provider already gone
        LOG.warning('Could not delete resource provider %s: %s', node_uuid, e)


def _delete(req: falcon.Request, service_id: str) -> None:
    cell, svc = find(req, service_id)
    url = cell['database_connection']
    if svc['binary'] == host_status.COMPUTE_BINARY:
        hosted = instances_db.get_all(url, {'host': svc['host']}, limit=1, columns=['uuid'])
        if hosted:
            raise errors.conflict('Unable to delete compute service that is hosting '
                                  'instances. Migrate or delete the instances first.')
        for node in nodes_db.get_all(url, host=svc['host']):
            _delete_resource_provider(util.ctx(req), node['uuid'])
        nodes_db.destroy_by_host(url, svc['host'])
        mappings.host_mapping_delete(svc['host'])
    services_db.destroy(url, svc['id'])


class Service:
    def on_put(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        policy.authorize(util.ctx(req), pol.SERVICES % 'update', {})
        row = schema_for(req, schema.TABLE)
        if row.update is not None:
            resp.media = _update(req, row.update, service_id)
        else:
            resp.media = _legacy_update(req, row.legacy_actions, service_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        policy.authorize(util.ctx(req), pol.SERVICES % 'delete', {})
        _delete(req, service_id)
        resp.status = 204
