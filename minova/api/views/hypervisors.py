"""Hypervisor bodies per microversion: one table of (version, field, getter) rows.

`node` is a compute_nodes row with its compute service under 'service' (None
when the node has none); `servers` the node's servers when asked for
(with_servers, or the /servers route before 2.53).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import falcon

from minova.api.views.fields import OMIT, Field, Fields
from minova.db import services as services_db

BASIC = 'basic'
DETAIL = 'detail'
_DETAIL = frozenset({DETAIL})

# The usage fields Nova dropped in 2.88 (they are placement's now).
USAGE_FIELDS = ('vcpus', 'memory_mb', 'local_gb', 'vcpus_used', 'memory_mb_used',
                'local_gb_used', 'free_ram_mb', 'free_disk_gb', 'running_vms',
                'disk_available_least')


@dataclass
class Render:
    node: dict[str, Any]
    servers: list[dict[str, str]] | None = None

    @property
    def service(self) -> dict[str, Any] | None:
        svc: dict[str, Any] | None = self.node.get('service')
        return svc


def _service(key: str) -> Any:
    def get(r: Render) -> dict[str, Any]:
        svc = r.service
        return {'host': r.node['host'], 'id': svc[key] if svc else None,
                'disabled_reason': svc.get('disabled_reason') if svc else None}
    return get


def _cpu_info_object(r: Render) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads(r.node.get('cpu_info') or '{}')
    except ValueError:
        return {}
    return found


def _usage(name: str) -> Field[Render]:
    return Field('2.1', name, lambda r: r.node.get(name) or 0, _DETAIL, until='2.88')


FIELDS: Fields[Render] = Fields(
    Field('2.1', 'id', lambda r: r.node['id'], until='2.53'),
    Field('2.53', 'id', lambda r: r.node['uuid']),
    Field('2.1', 'hypervisor_hostname', lambda r: r.node['hypervisor_hostname']),
    Field('2.1', 'state', lambda r: 'up' if r.service and services_db.is_up(r.service)
          else 'down'),
    Field('2.1', 'status', lambda r: 'disabled' if r.service and r.service['disabled']
          else 'enabled'),
    Field('2.1', 'hypervisor_type', lambda r: r.node.get('hypervisor_type'), _DETAIL),
    Field('2.1', 'hypervisor_version', lambda r: r.node.get('hypervisor_version'), _DETAIL),
    Field('2.1', 'host_ip', lambda r: r.node.get('host_ip'), _DETAIL),
    Field('2.1', 'service', _service('id'), _DETAIL, until='2.53'),
    Field('2.53', 'service', _service('uuid'), _DETAIL),
    Field('2.88', 'uptime', lambda r: None, _DETAIL),
    *(_usage(name) for name in USAGE_FIELDS),
    Field('2.1', 'current_workload', lambda r: 0, _DETAIL, until='2.88'),
    Field('2.1', 'cpu_info', lambda r: r.node.get('cpu_info') or '{}', _DETAIL, until='2.28'),
    Field('2.28', 'cpu_info', _cpu_info_object, _DETAIL, until='2.88'),
    # Before 2.75 a node without servers has no `servers` key.
    Field('2.1', 'servers', lambda r: r.servers or OMIT, until='2.75'),
    Field('2.75', 'servers', lambda r: OMIT if r.servers is None else r.servers),
)


def show(req: falcon.Request, node: dict[str, Any], detail: bool,
         servers: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return FIELDS.render(req, Render(node, servers), DETAIL if detail else BASIC)
