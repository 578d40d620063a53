"""/os-quota-class-sets/{class}: the limits a quota class sets (admin only).

A class shows every resource: its own limit where it sets one, the [quota]
default otherwise. PUT stores limits for any class name; the class "default"
is the deployment's default for every project without its own limits (as
Nova's DB quota driver). Per microversion, as Nova: server_groups and
server_group_members only from 2.50, the network resources (always -1
here: no nova-network) before 2.50, injected files before 2.57.
"""
from __future__ import annotations

from typing import Any

import falcon
from oslo_utils import strutils

from minova import quota
from minova.api import errors, policy, util
from minova.api.schemas import quota_class_sets as schema
from minova.api.schemas.quota_sets import LEGACY_V236, LEGACY_V257
from minova.api.versioned import schema_for
from minova.conf import CONF
from minova.db import quotas as quotas_db
from minova.policies import quotas as pol


def _limits(class_name: str) -> dict[str, int]:
    limits: dict[str, int] = {r: getattr(CONF.quota, r) for r in quota.RESOURCES}
    limits.update(LEGACY_V236)
    limits.update(LEGACY_V257)
    limits.update(quotas_db.get_class(class_name))
    return limits


def _view(names: tuple[str, ...], class_name: str) -> dict[str, Any]:
    limits = _limits(class_name)
    return {name: limits[name] for name in names}


class QuotaClassSet:
    def on_get(self, req: falcon.Request, resp: falcon.Response, class_name: str) -> None:
        row = schema_for(req, schema.TABLE)
        util.validated_query(req, row.show_query)
        policy.authorize(util.ctx(req), pol.QUOTA_CLASS_SETS % 'show', {})
        body = _view(row.resources, class_name)
        body['id'] = class_name
        resp.media = {'quota_class_set': body}

    def on_put(self, req: falcon.Request, resp: falcon.Response, class_name: str) -> None:
        row = schema_for(req, schema.TABLE)
        body = util.validated_body(req, row.update)['quota_class_set']
        policy.authorize(util.ctx(req), pol.QUOTA_CLASS_SETS % 'update', {})
        try:
            strutils.check_string_length(class_name, 'quota_class_name', 1, 255)
        except ValueError as e:
            raise errors.bad_request(str(e)) from None
        quotas_db.set_class(class_name, {k: int(v) for k, v in body.items()})
        resp.media = {'quota_class_set': _view(row.resources, class_name)}
