"""/os-instance_usage_audit_log[/{before}] (admin): the instance usage audit
of the last completed period on every compute host.

Nova's compute hosts record an audit task per period when instance usage
auditing is on; mini-Nova's do not audit, so every compute host is listed as
not run, in Nova's body. Periods are Nova's default unit, the month.
"""
from __future__ import annotations

import datetime
from typing import Any

import falcon

from minova import utils
from minova.api import errors, host_status, policy, util
from minova.api.handlers import services
from minova.api.schemas import types
from minova.api.versioned import schema_for
from minova.policies import usage as pol


def last_completed_month(before: datetime.datetime) -> tuple[datetime.datetime,
                                                             datetime.datetime]:
    """(begin, end) of the last month that ended at or before `before`."""
    def previous(month_start: datetime.datetime) -> datetime.datetime:
        if month_start.month == 1:
            return month_start.replace(year=month_start.year - 1, month=12)
        return month_start.replace(month=month_start.month - 1)

    end = datetime.datetime(before.year, before.month, 1)
    if end >= before:
        end = previous(end)
    return previous(end), end


def audit_log(before: datetime.datetime | None = None) -> dict[str, Any]:
    begin, end = last_completed_month(before or utils.utcnow())
    hosts = sorted({svc['host'] for _, svc in services.all_services(
        binary=host_status.COMPUTE_BINARY)})
    done = 0   # no compute host has run an audit task
    return {
        'period_beginning': str(begin), 'period_ending': str(end),
        'num_hosts': len(hosts), 'num_hosts_done': done, 'num_hosts_running': 0,
        'num_hosts_not_run': len(hosts), 'hosts_not_run': hosts,
        'total_instances': 0, 'total_errors': 0,
        'overall_status': ('ALL' if done == len(hosts) else f'{done} of {len(hosts)}')
        + ' hosts done. 0 errors.',
        'log': {},
    }


class AuditLogs:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        util.validated_query(req, schema_for(req, types.NO_QUERY))
        policy.authorize(util.ctx(req), pol.AUDIT_LOG % 'list', {})
        resp.media = {'instance_usage_audit_logs': audit_log()}


class AuditLog:
    def on_get(self, req: falcon.Request, resp: falcon.Response, before: str) -> None:
        util.validated_query(req, schema_for(req, types.NO_QUERY))
        policy.authorize(util.ctx(req), pol.AUDIT_LOG % 'show', {})
        fmt = '%Y-%m-%d %H:%M:%S.%f' if '.' in before else '%Y-%m-%d %H:%M:%S'
        try:
            when = datetime.datetime.strptime(before, fmt)
        except ValueError:
            raise errors.bad_request(f'Invalid timestamp for date {before}') from None
        resp.media = {'instance_usage_audit_log': audit_log(when)}
