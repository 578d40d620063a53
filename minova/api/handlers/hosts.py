"""/os-hosts: Nova's deprecated host API (2.1-2.42; 404 from 2.43, as Nova's).

The index lists the enabled services' hosts with their topic and zone; a
host shows its compute node's totals and its servers' use. Enabling,
maintenance mode and power actions need the virt driver, and no driver
mini-Nova has implements them (nor does Nova's libvirt driver): Nova's 501.
"""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception
from minova.api import errors, host_status, policy, util, versioned
from minova.api.handlers import services
from minova.api.schemas import proxies as schema
from minova.cells import lookup, mappings
from minova.cells.mappings import CellMapping
from minova.db import compute_nodes as nodes_db
from minova.db import instances as instances_db
from minova.db import services as services_db
from minova.policies import legacy as pol

_MODE = {'type': 'string', 'enum': ['enable', 'disable', 'Enable', 'Disable', 'ENABLE',
                                    'DISABLE']}
UPDATE = {'type': 'object', 'properties': {'status': _MODE, 'maintenance_mode': _MODE},
          'anyOf': [{'required': ['status']}, {'required': ['maintenance_mode']}],
          'additionalProperties': False}
_API_BINARIES = ('minova-osapi_compute', 'minova-metadata', 'minova-api')
NOT_SUPPORTED = 'The requested functionality is not supported.'


def _compute_cell(host: str) -> CellMapping:
    """The cell of a compute host; 404 with Nova's messages when it has none."""
    mapping = mappings.host_mapping_get(host)   # HostMappingNotFound: 404
    for cell in lookup.all_cells():
        if cell['id'] == mapping['cell_id']:
            return cell
    raise exception.HostMappingNotFound(name=host)


def _resource(host: str, project: str, cpu: int, memory_mb: int, disk_gb: int
              ) -> dict[str, Any]:
    return {'resource': {'host': host, 'project': project, 'cpu': cpu,
                         'memory_mb': memory_mb, 'disk_gb': disk_gb}}


class Hosts:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = util.validated_query(req, versioned.require(req, schema.HOSTS))
        policy.authorize(util.ctx(req), pol.HOSTS % 'list', {})
        zone = util.last(params, 'zone')
        hosts = []
        for _, svc in services.all_services():
            if svc['disabled'] or svc['binary'] in _API_BINARIES:
                continue
            svc_zone = host_status.zone(svc['binary'], svc['host'])
            if zone and svc_zone != zone:
                continue
            hosts.append({'host_name': svc['host'],
                          'service': svc.get('topic') or svc['binary'].split('-', 1)[-1],
                          'zone': svc_zone})
        resp.media = {'hosts': hosts}


class Host:
    def on_get(self, req: falcon.Request, resp: falcon.Response, host: str) -> None:
        versioned.require(req, schema.HOSTS)
        policy.authorize(util.ctx(req), pol.HOSTS % 'show', {})
        url = _compute_cell(host)['database_connection']
        nodes = nodes_db.get_all(url, host=host)
        if not nodes:
            raise exception.ComputeHostNotFound(host=host)
        node = nodes[0]
        found = instances_db.get_all(url, {'host': host})
        out = [_resource(host, '(total)', node['vcpus'], node['memory_mb'], node['local_gb']),
               _resource(host, '(used_now)', node['vcpus_used'], node['memory_mb_used'],
                         node['local_gb_used'])]
        used = [0, 0, 0]
        by_project: dict[str, list[int]] = {}
        for inst in found:
            use = [inst.get('vcpus') or 0, inst.get('memory_mb') or 0,
                   (inst.get('root_gb') or 0) + (inst.get('ephemeral_gb') or 0)]
            totals = by_project.setdefault(inst['project_id'], [0, 0, 0])
            for i, n in enumerate(use):
                used[i] += n
                totals[i] += n
        out.append(_resource(host, '(used_max)', *used))
        out.extend(_resource(host, project, *t) for project, t in by_project.items())
        resp.media = {'host': out}

    def on_put(self, req: falcon.Request, resp: falcon.Response, host: str) -> None:
        versioned.require(req, schema.HOSTS)
        util.validated_body(req, UPDATE)
        policy.authorize(util.ctx(req), pol.HOSTS % 'update', {})
        _refuse(host)


def _refuse(host: str) -> None:
    """A host operation for the virt driver: the host must exist; then Nova's 501."""
    url = _compute_cell(host)['database_connection']
    if not services_db.get_all(url, host=host, binary=host_status.COMPUTE_BINARY):
        raise exception.ComputeHostNotFound(host=host)
    raise errors.HTTPFault(501, NOT_SUPPORTED)


def _power_action(rule: str) -> type:
    class PowerAction:
        def on_get(self, req: falcon.Request, resp: falcon.Response, host: str) -> None:
            versioned.require(req, schema.HOSTS)
            policy.authorize(util.ctx(req), pol.HOSTS % rule, {})
            _refuse(host)
    return PowerAction


Reboot = _power_action('reboot')
Shutdown = _power_action('shutdown')
Startup = _power_action('start')
