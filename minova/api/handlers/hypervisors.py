"""/os-hypervisors: compute nodes of every cell (admin only).

Ids are node uuids from 2.53, cell-local integers before (refused with a 400
when the same integer names nodes in several cells, as for services).
"""
from __future__ import annotations

import re
from typing import Any

import falcon

from minova import exception, utils
from minova.api import errors, host_status, policy, util
from minova.api.schemas import hypervisors as schema
from minova.api.versioned import schema_for
from minova.api.views import hypervisors as view
from minova.cells import lookup, scatter
from minova.cells.mappings import CellMapping
from minova.db import compute_nodes as nodes_db
from minova.db import instances as instances_db
from minova.db import services as services_db
from minova.policies import admin as pol


class HypervisorNotFound(exception.NotFound):
    msg_fmt = 'Hypervisor %(hypervisor_id)s could not be found.'


def all_nodes() -> list[tuple[CellMapping, dict[str, Any]]]:
    """(cell, node with 'service') for every node in every cell that answered."""
    by_uuid = {c['uuid']: c for c in lookup.all_cells(include_cell0=False)}
    results = scatter.for_each_cell(_cell_nodes, cells=list(by_uuid.values()))
    out: list[tuple[CellMapping, dict[str, Any]]] = []
    for cell_uuid, result in results.items():
        if not isinstance(result, scatter.CellFailed):
            out.extend((by_uuid[cell_uuid], n) for n in result)
    out.sort(key=lambda cn: (cn[1]['id'], cn[1]['uuid']))
    return out


def _cell_nodes(cell: CellMapping) -> list[dict[str, Any]]:
    # Whole rows of both (the API shows most columns), joined here by host.
    url = cell['database_connection']
    computes = {s['host']: s for s in services_db.get_all(url, binary=host_status.COMPUTE_BINARY)}
    nodes = nodes_db.get_all(url)
    for node in nodes:
        node['service'] = computes.get(node['host'])
    return nodes


def _servers(cell: CellMapping, node: dict[str, Any]) -> list[dict[str, str]]:
    found = instances_db.get_all(cell['database_connection'],
                                 {'host': node['host'], 'node': node['hypervisor_hostname']},
                                 columns=['uuid', 'display_name'])
    return [{'name': i['display_name'], 'uuid': i['uuid']} for i in found]


def _show(req: falcon.Request, cell: CellMapping, node: dict[str, Any], detail: bool,
          with_servers: bool = False) -> dict[str, Any]:
    return view.show(req, node, detail, _servers(cell, node) if with_servers else None)


def _list(req: falcon.Request, resp: falcon.Response, detail: bool) -> None:
    policy.authorize(util.ctx(req), pol.HYPERVISORS % ('list-detail' if detail else 'list'),
                     {})
    row = schema_for(req, schema.TABLE)
    params = util.validated_query(req, row.list_query)
    nodes = all_nodes()
    pattern = util.last(params, 'hypervisor_hostname_pattern') if row.by_uuid else None
    with_servers = row.by_uuid and util.to_bool(util.last(params, 'with_servers', False))
    limit = marker = None
    if row.paging:
        limit, marker = util.limit_marker(params)
    if pattern is not None:
        if 'limit' in params or 'marker' in params:
            raise errors.bad_request('Paging over a list of hypervisors using a '
                                     'hypervisor_hostname_pattern is not supported.')
        nodes = [(c, n) for c, n in nodes if pattern in n['hypervisor_hostname']]
        if not nodes:
            raise errors.not_found(f"No hypervisor matching '{pattern}' could be found.")
        limit = None
    if marker is not None:
        key = 'uuid' if row.by_uuid else 'id'
        ids = [str(n[key]) for _, n in nodes]
        if marker not in ids:
            raise errors.bad_request(f'marker [{marker}] not found')
        nodes = nodes[ids.index(marker) + 1:]
    if limit is not None:
        nodes = nodes[:limit]
    items = [_show(req, c, n, detail, with_servers) for c, n in nodes]
    body: dict[str, Any] = {'hypervisors': items}
    if limit is not None:
        links = util.page_links(req, 'os-hypervisors/detail' if detail else 'os-hypervisors',
                                items, limit)
        if links:
            body['hypervisors_links'] = links
    resp.media = body


def _find(req: falcon.Request, hypervisor_id: str) -> tuple[CellMapping, dict[str, Any]]:
    nodes = all_nodes()
    if schema_for(req, schema.TABLE).by_uuid:
        if not utils.is_uuid_like(hypervisor_id):
            raise errors.bad_request(f'Invalid uuid {hypervisor_id}')
        matches = [(c, n) for c, n in nodes if n['uuid'] == hypervisor_id]
    else:
        if not re.fullmatch(r'\d+', hypervisor_id):
            raise HypervisorNotFound(hypervisor_id=hypervisor_id)
        matches = [(c, n) for c, n in nodes if n['id'] == int(hypervisor_id)]
        if len(matches) > 1:
            raise errors.bad_request(
                f'Hypervisor id {hypervisor_id} refers to nodes in several cells; use '
                'microversion 2.53 or later and the hypervisor uuid.')
    if not matches:
        raise HypervisorNotFound(hypervisor_id=hypervisor_id)
    return matches[0]


class Hypervisors:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detail=False)


class HypervisorsDetail:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detail=True)


class Hypervisor:
    def on_get(self, req: falcon.Request, resp: falcon.Response, hypervisor_id: str) -> None:
        policy.authorize(util.ctx(req), pol.HYPERVISORS % 'show', {})
        with_servers = False
        query = schema_for(req, schema.TABLE).show_query
        if query is not None:
            params = util.validated_query(req, query)
            with_servers = util.to_bool(util.last(params, 'with_servers', False))
        cell, node = _find(req, hypervisor_id)
        resp.media = {'hypervisor': _show(req, cell, node, True, with_servers)}


def _search(req: falcon.Request, pattern: str, rule: str
            ) -> list[tuple[CellMapping, dict[str, Any]]]:
    if not schema_for(req, schema.TABLE).search:
        raise errors.not_found()
    policy.authorize(util.ctx(req), pol.HYPERVISORS % rule, {})
    nodes = [(c, n) for c, n in all_nodes() if pattern in n['hypervisor_hostname']]
    if not nodes:
        raise errors.not_found(f"No hypervisor matching '{pattern}' could be found.")
    return nodes


class Search:
    def on_get(self, req: falcon.Request, resp: falcon.Response, hypervisor_id: str) -> None:
        nodes = _search(req, hypervisor_id, 'search')
        resp.media = {'hypervisors': [_show(req, c, n, False) for c, n in nodes]}


class SearchServers:
    def on_get(self, req: falcon.Request, resp: falcon.Response, hypervisor_id: str) -> None:
        nodes = _search(req, hypervisor_id, 'servers')
        resp.media = {'hypervisors': [_show(req, c, n, False, True) for c, n in nodes]}


class Uptime:
    """Before 2.88 only: what `uptime` prints on the node's host (libvirt), or
    Nova's 501 from a driver that cannot say (fake)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, hypervisor_id: str) -> None:
        if not schema_for(req, schema.TABLE).statistics:
            raise errors.not_found()
        policy.authorize(util.ctx(req), pol.HYPERVISORS % 'uptime', {})
        cell, node = _find(req, hypervisor_id)
        if node.get('service') is None:
            raise errors.not_found(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
        out = _show(req, cell, node, False)
        out['uptime'] = util.compute_api().get_host_uptime(util.ctx(req), cell, node['host'])
        resp.media = {'hypervisor': out}


class Statistics:
    """GET /os-hypervisors/statistics (before 2.88): totals over all nodes."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not schema_for(req, schema.TABLE).statistics:
            raise errors.not_found()
        policy.authorize(util.ctx(req), pol.HYPERVISORS % 'statistics', {})
        nodes = [n for _, n in all_nodes()]
        stats: dict[str, int] = {'count': len(nodes), 'current_workload': 0}
        for name in view.USAGE_FIELDS:
            stats[name] = sum(n.get(name) or 0 for n in nodes)
        resp.media = {'hypervisor_statistics': stats}
