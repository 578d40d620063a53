"""GET /allocation_candidates."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import falcon

from minova.db import engines
from minova.placement import errors, util
from minova.placement.db import candidate_lines, candidates, inventories, names
from minova.placement.handlers import candidate_render
from minova.placement.schemas import allocation_candidate as schema

Groups = dict[str, candidates.RequestGroup]

# Which keys a microversion takes is the schema's business; any key that
# got past it and looks like a group parameter is one.
_GROUP_PARAM = re.compile(r'^(resources|required|member_of|in_tree)([a-zA-Z0-9_-]{1,64})?$')


def _groups(req: falcon.Request) -> Groups:
    groups: Groups = {}
    for key in req.params:
        m = _GROUP_PARAM.match(key)
        if not m:
            continue
        kind, suffix = m.group(1), m.group(2) or ''
        group = groups.setdefault(suffix, candidates.RequestGroup(suffix=suffix))
        if kind == 'member_of':
            group.member_of, group.forbidden_aggs = util.parse_member_of(
                util.query_all(req, key), util.want(req, '1.24'), util.want(req, '1.32'))
        elif kind == 'required':
            group.required, group.forbidden = util.parse_traits(
                util.query_all(req, key), util.want(req, '1.22'), util.want(req, '1.39'))
        elif kind == 'resources':
            group.resources = util.parse_resources(util.query(req, key) or '', key)
        else:
            value = util.query(req, key) or ''
            if not util.is_uuid(value):
                raise errors.bad_request(f"Invalid query string parameters: '{value}' is not "
                                         f"a 'uuid' in {key}", errors.QUERYPARAM_BAD_VALUE)
            group.in_tree = util.normalize_uuid(value)
    return groups


def _check_orphans(groups: Groups, same_subtrees: list[set[str]]) -> None:
    """Up to 1.35 every group needs resources."""
    unsuffixed = groups.get('')
    if unsuffixed is not None and not unsuffixed.resources:
        if unsuffixed.member_of or unsuffixed.forbidden_aggs:
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


def _check_subtree_groups(groups: Groups, same_subtrees: list[set[str]]) -> None:
    """From 1.36 a group without resources is one that `same_subtree` names."""
    resourceless = {s for s, g in groups.items() if not g.resources}
    if len(resourceless) == len(groups):
        raise errors.bad_request('There must be at least one resources or resources[$S] '
                                 'parameter.', errors.QUERY_MISSING_VALUE)
    named = set().union(*same_subtrees)
    bad = sorted(resourceless - named)
    if bad:
        raise errors.bad_request('Resourceless suffixed group request should be specified '
                                 f'in `same_subtree` query param: bad group(s) - {bad}.',
                                 errors.QUERY_BAD_VALUE)
    unknown = sorted(named - set(groups))
    if unknown:
        raise errors.bad_request(f'Real suffixes should be specified in `same_subtree`: '
                                 f'{unknown} not found in {sorted(groups)}.',
                                 errors.QUERY_BAD_VALUE)


GROUP_CHECKS: tuple[tuple[str, Callable[[Groups, list[set[str]]], None]], ...] = (
    ('1.36', _check_subtree_groups), ('1.10', _check_orphans))


def _root_required(req: falcon.Request) -> tuple[set[str], set[str]]:
    values = util.query_all(req, 'root_required')
    if not values:
        return set(), set()
    if len(values) > 1:
        raise errors.bad_request("Query parameter 'root_required' may be specified only "
                                 'once.', errors.ILLEGAL_DUPLICATE_QUERYPARAM)
    required, forbidden = util.parse_traits(values, allow_forbidden=True,
                                            conflict_code=errors.QUERY_BAD_VALUE)
    return {n for any_of in required for n in any_of}, forbidden


def _same_subtrees(req: falcon.Request) -> list[set[str]]:
    result = []
    for value in util.query_all(req, 'same_subtree'):
        suffixes = {s.strip() for s in value.split(',')}
        if '' in suffixes:
            raise errors.bad_request('Empty string (unsuffixed group) can not be specified '
                                     'in `same_subtree` ', errors.QUERY_BAD_VALUE)
        result.append(suffixes)
    return result


def _first_int(req: falcon.Request, name: str) -> int | None:
    # As upstream: the first value counts (the schema saw the last one).
    values = util.query_all(req, name)
    if not values:
        return None
    if not values[0].isdigit() or int(values[0]) < 1:
        raise errors.bad_request(f'Invalid query string parameters: {name} must be a '
                                 f'positive integer. Got: {values[0]}')
    return int(values[0])


def _check_names(conn: Any, groups: Groups, root_traits: set[str]) -> None:
    rcs = {rc for g in groups.values() for rc in g.resources}
    unknown = sorted(rcs - set(names.ids_for(conn, 'rc', rcs)))
    if unknown:
        raise errors.bad_request('Invalid resource class in resources parameter: No such '
                                 f'resource class {unknown[0]}.')
    traits = set(root_traits)
    for g in groups.values():
        traits |= g.forbidden.union(*g.required)
    unknown = sorted(traits - set(names.ids_for(conn, 'trait', traits)))
    if unknown:
        raise errors.bad_request(f'Invalid trait(s) in "required" parameter: No such '
                                 f'trait(s): {", ".join(unknown)}.')


Getter = Callable[[dict[str, Any]], Any]

# One request group is answered as text (db/candidate_lines.py,
# candidate_render.py); tests turn this off to compare with the general path.
ONE_GROUP_AS_TEXT = True

# Fields of an allocation request, from: (version, field, getter of the
# candidate {'allocations': {uuid: resources}, 'mappings': ...}).
REQUEST_FIELDS: tuple[tuple[str, str, Getter], ...] = (
    ('1.34', 'mappings', lambda c: c['mappings']),
)
# Fields of a provider summary besides `resources`: (version, field, getter
# of {'row': provider row, 'traits': names}).
SUMMARY_FIELDS: tuple[tuple[str, str, Getter], ...] = (
    ('1.17', 'traits', lambda p: p['traits']),
    ('1.29', 'parent_provider_uuid', lambda p: p['row']['parent_provider_uuid']),
    ('1.29', 'root_provider_uuid', lambda p: p['row']['root_provider_uuid']),
)


def _fields(req: falcon.Request, table: tuple[tuple[str, str, Getter], ...]
            ) -> list[tuple[str, Getter]]:
    return [(name, get) for version, name, get in table if util.want(req, version)]


def _requests(req: falcon.Request, result: candidates.Result) -> list[dict[str, Any]]:
    fields = _fields(req, REQUEST_FIELDS)
    dict_form = util.want(req, '1.12')
    out = []
    for alloc, mapping in zip(result.candidates, result.mappings, strict=True):
        if dict_form:
            body: dict[str, Any] = {
                'allocations': {u: {'resources': r} for u, r in alloc.items()}}
        else:  # 1.10 and 1.11: a list of {resource_provider, resources}
            body = {'allocations': [{'resource_provider': {'uuid': u}, 'resources': r}
                                    for u, r in alloc.items()]}
        if fields:
            candidate = {'allocations': alloc, 'mappings': mapping}
            body.update((name, get(candidate)) for name, get in fields)
        out.append(body)
    return out


def _summaries(req: falcon.Request, result: candidates.Result,
               requested: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    all_classes = util.want(req, '1.27')
    fields = _fields(req, SUMMARY_FIELDS)
    for pid, row in result.providers.items():
        resources = {}
        for rc, record in result.inventories[pid].items():
            if all_classes or rc in requested:
                resources[rc] = {'capacity': inventories.capacity(record),
                                 'used': result.usages[pid].get(rc, 0)}
        summary: dict[str, Any] = {'resources': resources}
        provider = {'row': row, 'traits': result.traits[pid]}
        summary.update((name, get(provider)) for name, get in fields)
        if resources or all_classes:
            out[row['uuid']] = summary
    return out


@util.handler('placement:allocation_candidates:list', '1.10')
def list_allocation_candidates(req: falcon.Request, resp: falcon.Response) -> None:
    util.validate_query(req, util.for_version(req, schema.GET))
    groups = _groups(req)
    root_required, root_forbidden = _root_required(req)
    same_subtrees = _same_subtrees(req)
    util.for_version(req, GROUP_CHECKS)(groups, same_subtrees)
    policy: list[str | None] = [*util.query_all(req, 'group_policy')[:1]] or [None]
    if policy[0] is None and len([s for s in groups if s]) > 1:
        raise errors.bad_request(
            'The "group_policy" parameter is required when specifying more than one '
            '"resources{N}" parameter.', errors.QUERYPARAM_MISSING_VALUE)
    limit = _first_int(req, 'limit')
    with engines.reader(req.context.url) as conn:
        _check_names(conn, groups, root_required | root_forbidden)
        if len(groups) == 1 and ONE_GROUP_AS_TEXT:
            # One group: each candidate is one provider, read and written
            # as text (see db/candidate_lines.py and candidate_render.py).
            group = next(iter(groups.values()))
            lines = candidate_lines.single_group(
                conn, group, root_required=root_required, root_forbidden=root_forbidden,
                limit=limit)
            body = candidate_render.render(
                conn, lines, group, dict_form=util.want(req, '1.12'),
                all_classes=util.want(req, '1.27'),
                request_fields=_fields(req, REQUEST_FIELDS),
                summary_fields=_fields(req, SUMMARY_FIELDS))
            util.send_json_text(resp, body)
            return
        result = candidates.find(
            conn, list(groups.values()), limit=limit,
            group_policy=policy[0], root_required=root_required,
            root_forbidden=root_forbidden, same_subtrees=same_subtrees)
    requested = {rc for g in groups.values() for rc in g.resources}
    util.send_json(resp, {'allocation_requests': _requests(req, result),
                          'provider_summaries': _summaries(req, result, requested)})
