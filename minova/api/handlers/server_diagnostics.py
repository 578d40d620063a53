"""GET /servers/{id}/diagnostics (admin): the guest's usage from its driver.

Before 2.48 the body is whatever the driver reports (a flat dict of counters);
from 2.48 it has Nova's fixed shape, every key present (null where the driver
cannot say). A driver without diagnostics is Nova's 501, a server that is not
on a host or not running a 409.
"""
from __future__ import annotations

from typing import Any

import falcon

from minova.api import policy, util
from minova.api.handlers import servers
from minova.api.schemas import server_diagnostics as schema
from minova.api.versioned import schema_for
from minova.policies import servers as pol

# Nova's 2.48 body: top-level fields, then the lists and objects with their fields.
_FIELDS = ('state', 'driver', 'hypervisor', 'hypervisor_os', 'uptime', 'config_drive',
           'num_cpus', 'num_nics', 'num_disks')
_LISTS = {
    'cpu_details': ('id', 'time', 'utilisation'),
    'nic_details': ('mac_address', 'rx_octets', 'rx_errors', 'rx_drop', 'rx_packets',
                    'rx_rate', 'tx_octets', 'tx_errors', 'tx_drop', 'tx_packets',
                    'tx_rate'),
    'disk_details': ('read_bytes', 'read_requests', 'write_bytes', 'write_requests',
                     'errors_count'),
}
_OBJECTS = {'memory_details': ('maximum', 'used')}


def view_v248(diags: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {name: diags.get(name) for name in _FIELDS}
    for name, fields in _LISTS.items():
        out[name] = [{f: item.get(f) for f in fields} for item in diags.get(name) or []]
    for name, fields in _OBJECTS.items():
        obj = diags.get(name) or {}
        out[name] = {f: obj.get(f) for f in fields}
    return out


class Diagnostics:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        row = schema_for(req, schema.TABLE)
        util.validated_query(req, row.query)
        instance = servers.get_server(req, server_id, action='')
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.DIAGNOSTICS, {'project_id': instance['project_id']})
        api = util.compute_api()
        if row.fixed_shape:
            resp.media = view_v248(api.get_instance_diagnostics(ctx, instance))
        else:
            resp.media = dict(api.get_diagnostics(ctx, instance))
