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
from minova.api.handlers.quota_sets import LEGACY_V236, LEGACY_V257, LIMIT_SCHEMA
from minova.api.schemas import types
from minova.conf import CONF
from minova.db import quotas as quotas_db
from minova.policies import quotas as pol

_SERVER_GROUPS = ('server_groups', 'server_group_members')
_ALL = list(quota.RESOURCES) + list(LEGACY_V236) + list(LEGACY_V257)

# Resources a class shows and takes, newest first.
RESOURCES = [
    ('2.57', [r for r in _ALL if r not in LEGACY_V236 and r not in LEGACY_V257]),
    ('2.50', [r for r in _ALL if r not in LEGACY_V236]),
    ('2.1', [r for r in _ALL if r not in _SERVER_GROUPS]),
]
SHOW_QUERY = [('2.102', types.query({}, strict=True)), ('2.1', types.query({}, strict=False))]


def _update_schema(names: list[str]) -> dict[str, Any]:
    # Before 2.50 the schema takes server group limits it does not show, as Nova's.
    props = {n: LIMIT_SCHEMA for n in names + [r for r in _SERVER_GROUPS if r not in names]}
    return {'type': 'object',
            'properties': {'quota_class_set': {'type': 'object', 'properties': props,
                                               'additionalProperties': False}},
            'required': ['quota_class_set'], 'additionalProperties': False}


def _limits(class_name: str) -> dict[str, int]:
    limits: dict[str, int] = {r: getattr(CONF.quota, r) for r in quota.RESOURCES}
    limits.update(LEGACY_V236)
    limits.update(LEGACY_V257)
    limits.update(quotas_db.get_class(class_name))
    return limits


def _view(names: list[str], class_name: str) -> dict[str, Any]:
    limits = _limits(class_name)
    return {name: limits[name] for name in names}


class QuotaClassSet:
    def on_get(self, req: falcon.Request, resp: falcon.Response, class_name: str) -> None:
        util.validated_query(req, util.for_version(req, SHOW_QUERY))
        policy.authorize(util.ctx(req), pol.QUOTA_CLASS_SETS % 'show', {})
        body = _view(util.for_version(req, RESOURCES), class_name)
        body['id'] = class_name
        resp.media = {'quota_class_set': body}

    def on_put(self, req: falcon.Request, resp: falcon.Response, class_name: str) -> None:
        names = util.for_version(req, RESOURCES)
        body = util.validated_body(req, _update_schema(names))['quota_class_set']
        policy.authorize(util.ctx(req), pol.QUOTA_CLASS_SETS % 'update', {})
        try:
            strutils.check_string_length(class_name, 'quota_class_name', 1, 255)
        except ValueError as e:
            raise errors.bad_request(str(e)) from None
        quotas_db.set_class(class_name, {k: int(v) for k, v in body.items()})
        resp.media = {'quota_class_set': _view(names, class_name)}
