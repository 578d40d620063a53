"""/os-simple-tenant-usage[/{tenant_id}]: hours of use per project in a period.

As Nova computes it: every instance (deleted ones too) launched before the
period's end and not terminated before its start counts the hours it ran
inside the period, and its flavor's vCPUs, RAM and disk times those hours.
`start` and `end` default to now (an end in the future is now); `detailed=1`
lists each server. From 2.40 the servers are paged (limit, marker = instance
uuid) with a next link.
"""
from __future__ import annotations

import collections
import datetime
from typing import Any

import falcon

from minova import utils
from minova.api import errors, policy, util
from minova.api.schemas import simple_tenant_usage as schema
from minova.api.versioned import schema_for
from minova.conf import CONF
from minova.db.instances import Instance
from minova.policies import usage as pol

_FORMATS = ('%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%d %H:%M:%S.%f')


def _time(value: datetime.datetime | None) -> str | None:
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f') if value is not None else None


def _parse(value: str | None) -> datetime.datetime:
    if not value:
        return utils.utcnow()
    for fmt in _FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise errors.bad_request('Invalid datetime string: Datetime is in invalid format')


def _period_of(req: falcon.Request, params: dict[str, list[str]]
               ) -> tuple[datetime.datetime, datetime.datetime, bool]:
    first = {name: values[0] if (values := params.get(name)) else None
             for name in ('start', 'end', 'detailed')}
    start, stop = _parse(first['start']), _parse(first['end'])
    if not start < stop:
        raise errors.bad_request('Invalid start time. The start time cannot occur after the '
                                 'end time.')
    return start, min(stop, utils.utcnow()), first['detailed'] == '1'


def _hours(launched: datetime.datetime | None, terminated: datetime.datetime | None,
           start: datetime.datetime, stop: datetime.datetime) -> float:
    if not launched or (terminated and terminated < start) or launched > stop:
        return 0
    end = min(stop, terminated) if terminated else stop
    return (end - max(launched, start)).total_seconds() / 3600.0


def _server_usage(inst: Instance, start: datetime.datetime,
                  stop: datetime.datetime) -> dict[str, Any]:
    flavor = inst.get('flavor') or {}
    # Times as the cell DB holds them (datetimes: parse_time passes them through).
    launched = utils.parse_time(inst['launched_at'])
    ended = utils.parse_time(inst.get('terminated_at'))
    assert launched is not None, 'get_active_by_window reads servers launched before the end'
    uptime = (ended if ended else utils.utcnow()) - launched
    return {'hours': _hours(launched, ended, start, stop), 'flavor': flavor.get('name') or '',
            'instance_id': inst['uuid'], 'name': inst.get('display_name'),
            'tenant_id': inst.get('project_id'),
            'memory_mb': flavor.get('memory_mb', inst.get('memory_mb')),
            'local_gb': ((flavor.get('root_gb', inst.get('root_gb')) or 0)
                         + (flavor.get('ephemeral_gb', inst.get('ephemeral_gb')) or 0)),
            'vcpus': flavor.get('vcpus', inst.get('vcpus')),
            'started_at': _time(launched), 'ended_at': _time(ended),
            'state': 'terminated' if ended else inst.get('vm_state'),
            'uptime': int(uptime.total_seconds())}


def _usages(req: falcon.Request, params: dict[str, list[str]], project_id: str | None,
            detailed: bool | None = None
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """(tenant summaries, server usages, page size); detailed None: as the query says."""
    start, stop, asked = _period_of(req, params)
    detailed = asked if detailed is None else detailed
    # Before 2.40 a page is [api] max_limit servers, with no way to the next one.
    limit, marker = (util.limit_marker(params) if schema_for(req, schema.TABLE).paging
                     else (CONF.api.max_limit, None))
    found = util.compute_api().get_active_by_window(util.ctx(req), start, stop, project_id,
                                                    limit, marker)
    tenants: dict[str, dict[str, Any]] = collections.OrderedDict()
    servers = []
    for inst in found:
        info = _server_usage(inst, start, stop)
        summary = tenants.get(info['tenant_id'])
        if summary is None:
            summary = {'tenant_id': info['tenant_id'], 'total_local_gb_usage': 0,
                       'total_vcpus_usage': 0, 'total_memory_mb_usage': 0,
                       'total_hours': 0, 'start': _time(start), 'stop': _time(stop)}
            if detailed:
                summary['server_usages'] = []
            tenants[info['tenant_id']] = summary
        summary['total_local_gb_usage'] += info['local_gb'] * info['hours']
        summary['total_vcpus_usage'] += info['vcpus'] * info['hours']
        summary['total_memory_mb_usage'] += info['memory_mb'] * info['hours']
        summary['total_hours'] += info['hours']
        servers.append(info)
        if detailed:
            summary['server_usages'].append(info)
    return list(tenants.values()), servers, limit


class Usages:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        policy.authorize(util.ctx(req), pol.USAGE % 'list')
        row = schema_for(req, schema.TABLE)
        params = util.validated_query(req, row.index_query)
        tenants, servers, limit = _usages(req, params, None)
        body: dict[str, Any] = {'tenant_usages': tenants}
        if row.paging:
            links = util.page_links(req, 'os-simple-tenant-usage', servers, limit,
                                    key='instance_id')
            if links:
                body['tenant_usages_links'] = links
        resp.media = body


class Usage:
    def on_get(self, req: falcon.Request, resp: falcon.Response, tenant_id: str) -> None:
        policy.authorize(util.ctx(req), pol.USAGE % 'show', {'project_id': tenant_id})
        row = schema_for(req, schema.TABLE)
        params = util.validated_query(req, row.show_query)
        tenants, servers, limit = _usages(req, params, tenant_id, True)
        body: dict[str, Any] = {'tenant_usage': tenants[0] if tenants else {}}
        if row.paging:
            links = util.page_links(req, f'os-simple-tenant-usage/{tenant_id}', servers,
                                    limit, key='instance_id')
            if links:
                body['tenant_usage_links'] = links
        resp.media = body
