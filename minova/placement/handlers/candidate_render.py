"""The JSON body of a one-group GET /allocation_candidates, as joined text.

Building a dict per candidate and per summary and then encoding them cost
more than the queries at 1,000 providers. Here each provider summary is
encoded once and kept, keyed by the database and the answer's shape
(microversion fields, requested classes) and the provider's id, with
everything it is made of: the provider's line as this request read it (its
uuid, version, which stands for its inventories and traits, and usages,
see db/candidate_lines.py) and, for a provider that is not a root, the
uuids of its root and parent; the inventories and traits of a summary built
anew are those candidate_lines keeps for the provider's version. An
allocation request is the same text for every candidate but the provider's
uuid, so it is a template filled in per candidate. The output is what
json.dumps writes for the same answer.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from minova.placement.db import candidate_lines, candidates, names

Getter = Callable[[dict[str, Any]], Any]

_SENTINEL = '@@provider-uuid@@'
_MAX_CACHED = 50_000   # per shape
_MAX_SHAPES = 16
# shape -> provider id -> (what the summary is made of, its text): one entry
# per provider and shape, replaced when the provider changes.
_fragments: dict[tuple[Any, ...], dict[int, tuple[tuple[Any, ...], str]]] = {}


def _request_template(group: candidates.RequestGroup, dict_form: bool,
                      fields: list[tuple[str, Getter]]) -> list[str]:
    """The allocation request's text split where the provider uuid goes."""
    resources = dict(group.resources)
    if dict_form:
        body: dict[str, Any] = {'allocations': {_SENTINEL: {'resources': resources}}}
    else:  # 1.10 and 1.11: a list of {resource_provider, resources}
        body = {'allocations': [{'resource_provider': {'uuid': _SENTINEL},
                                 'resources': resources}]}
    if fields:
        candidate = {'allocations': {_SENTINEL: resources},
                     'mappings': {group.suffix: [_SENTINEL]}}
        body.update((name, get(candidate)) for name, get in fields)
    return json.dumps(body).split(_SENTINEL)


def _summary(uuid: str, record: dict[str, candidate_lines.Inventory], used: dict[str, int],
             traits: list[str], row: dict[str, Any], all_classes: bool,
             requested: frozenset[str], fields: list[tuple[str, Getter]]) -> str:
    # an inventory: (total, reserved, min_unit, max_unit, step_size, ratio)
    resources = {rc: {'capacity': int((inv[0] - inv[1]) * inv[5]), 'used': used.get(rc, 0)}
                 for rc, inv in record.items() if all_classes or rc in requested}
    if not (resources or all_classes):
        return ''
    summary: dict[str, Any] = {'resources': resources}
    provider = {'row': row, 'traits': traits}
    summary.update((name, get(provider)) for name, get in fields)
    return f'{json.dumps(uuid)}: {json.dumps(summary)}'


def render(conn: Connection, lines: candidate_lines.Lines | None,
           group: candidates.RequestGroup, *, dict_form: bool, all_classes: bool,
           request_fields: list[tuple[str, Getter]],
           summary_fields: list[tuple[str, Getter]]) -> str:
    if lines is None:
        return '{"allocation_requests": [], "provider_summaries": {}}'
    requested = frozenset(group.resources)
    shape = (str(conn.engine.url), all_classes, None if all_classes else requested,
             tuple(name for name, _ in summary_fields))
    uuid_of = {p[0]: p[1] for p in lines.providers}
    fragments: list[str | None] = []
    missing: dict[int, tuple[Any, ...]] = {}   # index in fragments -> key
    kept = _fragments.get(shape)
    if kept is None:
        if len(_fragments) >= _MAX_SHAPES:
            _fragments.clear()
        kept = _fragments[shape] = {}
    for pid, _, version, root, parent, used, _, line in lines.providers:
        # the line: the provider's uuid, version and usages, and for one not
        # a root the uuids of its root and parent as they are now (a root's
        # own uuid is in its line)
        made_of: Any = line if root == pid else (
            line, uuid_of[root], None if parent is None else uuid_of[parent])
        found = kept.get(pid)
        if found is not None and found[0] == made_of:
            fragments.append(found[1])
        else:
            missing[len(fragments)] = (pid, version, made_of, used, root, parent)
            fragments.append(None)
    if missing:
        built = _build(conn, list(missing.values()), uuid_of, all_classes, requested,
                       summary_fields)
        if len(kept) + len(built) > _MAX_CACHED:
            kept.clear()   # many providers: start again
        for i, (pid, _, made_of, *_) in missing.items():
            fragments[i] = built[pid]
            kept[pid] = (made_of, built[pid])
    template = _request_template(group, dict_form, request_fields)
    uuids = [uuid_of[pid] for pid in lines.candidates]
    if len(template) == 2:   # the uuid once in a request: one join for them all
        head, tail = template
        requests = head + f'{tail}, {head}'.join(uuids) + tail
    else:
        requests = ', '.join([uuid.join(template) for uuid in uuids])
    summaries = ', '.join([f for f in fragments if f])
    return f'{{"allocation_requests": [{requests}], "provider_summaries": {{{summaries}}}}}'


def _build(conn: Connection, missing: list[tuple[Any, ...]], uuid_of: dict[int, str],
           all_classes: bool, requested: frozenset[str],
           fields: list[tuple[str, Getter]]) -> dict[int, str]:
    """Encode the summaries not kept yet, from the inventories and traits
    candidate_lines keeps by provider version (read now if it has not)."""
    static = candidate_lines.static(conn, {pid: version for pid, version, *_ in missing})
    rc_names = names.rc_names(conn)
    trait_names = names.trait_names(conn, {t for _, _, have in static.values() for t in have})
    built = {}
    for pid, _, _, usage, root, parent in missing:
        uuid = uuid_of[pid]
        _, invs, have = static[pid]
        records = {rc_names.get(rc) or names.rc_name(conn, rc): inv
                   for rc, inv in invs.items()}
        used = {rc_names.get(rc) or names.rc_name(conn, rc): amount for rc, amount in usage}
        row = {'uuid': uuid, 'root_provider_uuid': uuid_of[root],
               'parent_provider_uuid': None if parent is None else uuid_of[parent]}
        built[pid] = _summary(uuid, records, used, sorted(trait_names[t] for t in have), row,
                              all_classes, requested, fields)
    return built
