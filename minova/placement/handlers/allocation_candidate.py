"""GET /allocation_candidates."""
from __future__ import annotations

import re
from typing import Any

import falcon

from minova.db import engines
from minova.placement import errors, util
from minova.placement.db import candidates, inventories, names

_GROUP_PARAM = re.compile(r'^(resources|required|member_of|in_tree)([1-9][0-9]*)?$')


def _groups(req: falcon.Request) -> tuple[list[candidates.RequestGroup], str | None]:
    granular = util.want(req, '1.25')
    groups: dict[str, candidates.RequestGroup] = {}
    allowed = {'resources'}
    if util.want(req, '1.16'):
        allowed.add('limit')
    if util.want(req, '1.17'):
        allowed.add('required')
    if util.want(req, '1.21'):
        allowed.add('member_of')
    if granular:
        allowed.add('group_policy')
    if util.want(req, '1.31'):
        allowed.add('in_tree')
    for key in req.params:
        m = _GROUP_PARAM.match(key)
        if key in allowed or (m and granular and m.group(2) and m.group(1) in allowed):
            continue
        raise errors.bad_request(f'Invalid query string parameters: {key!r} is not allowed',
                                 errors.QUERYPARAM_BAD_VALUE)
    for key in req.params:
        m = _GROUP_PARAM.match(key)
        if not m:
            continue
        kind, suffix = m.group(1), m.group(2) or ''
        group = groups.setdefault(suffix, candidates.RequestGroup(suffix=suffix))
        if kind == 'member_of':
            group.member_of = util.parse_member_of(util.query_all(req, key),
                                                   util.want(req, '1.24'))
            continue
        value = util.query(req, key) or ''
        if kind == 'resources':
            group.resources = util.parse_resources(value, key)
        elif kind == 'required':
            group.required, group.forbidden = util.parse_traits(value, util.want(req, '1.22'))
        else:
            if not util.is_uuid(value):
                raise errors.bad_request(f"Invalid query string parameters: '{value}' is not "
                                         f"a 'uuid' in {key}", errors.QUERYPARAM_BAD_VALUE)
            group.in_tree = util.normalize_uuid(value)
    unsuffixed = groups.get('')
    if unsuffixed is not None and not unsuffixed.resources:
        # As upstream before root_required (1.35): traits and aggregates of the
        # unsuffixed group need resources of that group.
        if unsuffixed.member_of:
            raise errors.bad_request('All member_of parameters must be associated with '
                                     'resources. Found the following orphaned member_of '
                                     'keys: member_of')
        if unsuffixed.required or unsuffixed.forbidden:
            raise errors.bad_request('All traits parameters must be associated with '
                                     'resources. Found the following orphaned traits '
                                     'keys: required')
    for suffix, group in groups.items():
        if suffix and not group.resources:
            raise errors.bad_request(
                f'Resources are required when using request group {suffix}',
                errors.QUERYPARAM_MISSING_VALUE)
    if not any(g.resources for g in groups.values()):
        raise errors.bad_request("Invalid query string parameters: 'resources' is a "
                                 'required property', errors.QUERYPARAM_MISSING_VALUE)
    policy = util.query(req, 'group_policy')
    if policy not in (None, 'none', 'isolate'):
        raise errors.bad_request(f"Invalid query string parameters: group_policy must be "
                                 f"'none' or 'isolate'. Got: {policy}",
                                 errors.QUERYPARAM_BAD_VALUE)
    if policy is None and len([s for s in groups if s]) > 1:
        raise errors.bad_request(
            'The "group_policy" parameter is required when specifying more than one '
            '"resources{N}" parameter.', errors.QUERYPARAM_MISSING_VALUE)
    return list(groups.values()), policy


def _check_names(conn: Any, groups: list[candidates.RequestGroup]) -> None:
    rcs = {rc for g in groups for rc in g.resources}
    unknown = sorted(rcs - set(names.ids_for(conn, 'rc', rcs)))
    if unknown:
        raise errors.bad_request('Invalid resource class in resources parameter: No such '
                                 f'resource class {unknown[0]}.')
    traits = {n for g in groups for n in g.required | g.forbidden}
    unknown = sorted(traits - set(names.ids_for(conn, 'trait', traits)))
    if unknown:
        raise errors.bad_request(f'Invalid trait(s) in "required" parameter: No such '
                                 f'trait(s): {", ".join(unknown)}.')


def _request(req: falcon.Request, alloc: dict[str, dict[str, int]],
             mapping: dict[str, list[str]], dict_form: bool) -> dict[str, Any]:
    if dict_form:
        return {'allocations': {u: {'resources': r} for u, r in alloc.items()}}
    return {'allocations': [{'resource_provider': {'uuid': u}, 'resources': r}
                            for u, r in alloc.items()]}


def _summaries(req: falcon.Request, result: candidates.Result,
               requested: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    all_classes = util.want(req, '1.27')
    with_traits, with_tree = util.want(req, '1.17'), util.want(req, '1.29')
    for pid, row in result.providers.items():
        resources = {}
        for rc, record in result.inventories[pid].items():
            if all_classes or rc in requested:
                resources[rc] = {'capacity': inventories.capacity(record),
                                 'used': result.usages[pid].get(rc, 0)}
        summary: dict[str, Any] = {'resources': resources}
        if with_traits:
            summary['traits'] = result.traits[pid]
        if with_tree:
            summary['parent_provider_uuid'] = row['parent_provider_uuid']
            summary['root_provider_uuid'] = row['root_provider_uuid']
        if resources or all_classes:
            out[row['uuid']] = summary
    return out


@util.handler('placement:allocation_candidates:list', '1.10')
def list_allocation_candidates(req: falcon.Request, resp: falcon.Response) -> None:
    groups, policy = _groups(req)
    limit = None
    raw_limit = util.query(req, 'limit')
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if limit < 1:
            raise errors.bad_request(f"Invalid query string parameters: limit must be a "
                                     f"positive integer. Got: {raw_limit}",
                                     errors.QUERYPARAM_BAD_VALUE)
    with engines.reader(req.context.url) as conn:
        _check_names(conn, groups)
        result = candidates.find(conn, groups, limit=limit, group_policy=policy,
                                 in_tree=None)
    requested = {rc for g in groups for rc in g.resources}
    dict_form = util.want(req, '1.12')
    util.send_json(resp, {
        'allocation_requests': [_request(req, a, m, dict_form)
                                for a, m in zip(result.candidates, result.mappings,
                                                strict=True)],
        'provider_summaries': _summaries(req, result, requested),
    })
