"""Allocation candidates.

One SQL query per request group finds the providers that can satisfy the
whole group on their own (capacity, traits, aggregates, tree); the groups are
then combined per provider tree in Python, re-checking capacity where several
groups land on the same provider. Details for the summaries come from three
bulk queries (providers, inventories + usages, traits).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from minova.placement import tables as t
from minova.placement.db import inventories, names, providers

rp = t.resource_providers


@dataclass
class RequestGroup:
    suffix: str = ''
    resources: dict[str, int] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)
    member_of: list[set[str]] = field(default_factory=list)
    in_tree: str | None = None


@dataclass
class Result:
    candidates: list[dict[str, dict[str, int]]]   # [{rp uuid: {rc: amount}}]
    mappings: list[dict[str, list[str]]]
    providers: dict[int, dict[str, Any]]           # id -> provider row
    inventories: dict[int, dict[str, dict]]
    usages: dict[int, dict[str, int]]
    traits: dict[int, list[str]]


def _empty() -> Result:
    return Result([], [], {}, {}, {}, {})


def _group_providers(conn: Connection, group: RequestGroup, root_id: int | None,
                     root_clause: Any) -> list[tuple[int, int]] | None:
    """(provider id, root id) pairs that satisfy the group; None: unknown name."""
    if group.in_tree is not None:
        tree = providers.get(conn, group.in_tree)
        if tree is None or root_id not in (None, tree['root_provider_id']):
            return None
        root_id = tree['root_provider_id']
    rc_ids = names.ids_for(conn, 'rc', list(group.resources))
    if len(rc_ids) != len(group.resources):
        return None
    req = names.ids_for(conn, 'trait', group.required)
    if len(req) != len(group.required):
        return None
    forb = set(names.ids_for(conn, 'trait', group.forbidden).values())
    amounts = {rc_ids[rc]: amount for rc, amount in group.resources.items()}
    # The statement depends on the request's shape, not on its amounts or
    # tree: built once per shape (building it was a third of the request).
    key = None if root_clause else (
        tuple(sorted(amounts)), root_id is not None, frozenset(req.values()),
        frozenset(forb), tuple(tuple(sorted(aggs)) for aggs in group.member_of))
    stmt = _statements.get(key) if key is not None else None
    if stmt is None:
        q = sa.select(rp.c.id, rp.c.root_provider_id)
        if root_id is not None:
            q = q.where(rp.c.root_provider_id == sa.bindparam('root_id', type_=sa.Integer))
        stmt = q.where(
            *providers.capacity_filter(conn, {rc: sa.bindparam(f'amount_{rc}', type_=sa.Integer)
                                              for rc in amounts}),
            *providers.trait_filter(set(req.values()), forb),
            *providers.member_of_filter(group.member_of), *root_clause).order_by(rp.c.id)
        if key is not None:
            if len(_statements) >= _MAX_STATEMENTS:
                _statements.clear()
            _statements[key] = stmt
    params: dict[str, Any] = {f'amount_{rc}': amount for rc, amount in amounts.items()}
    if root_id is not None:
        params['root_id'] = root_id
    return [(r.id, r.root_provider_id) for r in conn.execute(stmt, params)]


_statements: dict[Any, Any] = {}
_MAX_STATEMENTS = 256


def _fits(pid: int, demand: dict[str, int], invs: dict[int, dict[str, dict]],
          used: dict[int, dict[str, int]]) -> bool:
    for rc, amount in demand.items():
        record = invs[pid].get(rc)
        if record is None or amount > record['max_unit']:
            return False
        if used[pid].get(rc, 0) + amount > inventories.capacity(record):
            return False
    return True


def find(conn: Connection, groups: list[RequestGroup], *, limit: int | None,
         group_policy: str | None, in_tree: str | None,
         root_required: set[str] | None = None) -> Result:
    root_id = None
    if in_tree is not None:
        tree = providers.get(conn, in_tree)
        if tree is None:
            return _empty()
        root_id = tree['root_provider_id']
    root_clause: list[Any] = []
    # Groups without resources (an unnumbered group carrying only traits or
    # aggregates) constrain the root provider of the tree.
    resource_groups = [g for g in groups if g.resources]
    for g in groups:
        if g.resources:
            continue
        req = names.ids_for(conn, 'trait', g.required)
        if len(req) != len(g.required):
            return _empty()
        forb = set(names.ids_for(conn, 'trait', g.forbidden).values())
        root_clause += providers.trait_filter(set(req.values()), forb, rp.c.root_provider_id)
        root_clause += providers.member_of_filter(g.member_of, rp.c.root_provider_id)

    per_group: list[dict[int, list[int]]] = []   # root -> provider ids, per group
    root_of: dict[int, int] = {}
    for g in resource_groups:
        pairs = _group_providers(conn, g, root_id, root_clause)
        if not pairs:
            return _empty()
        by_root: dict[int, list[int]] = {}
        for pid, root in pairs:
            by_root.setdefault(root, []).append(pid)
            root_of[pid] = root
        per_group.append(by_root)
    roots = sorted(set.intersection(*(set(m) for m in per_group)))
    if not roots:
        return _empty()
    single = len(resource_groups) == 1
    needed = sorted({pid for m in per_group for r in roots for pid in m.get(r, [])})
    invs = inventories.get_all(conn, needed) if not single else {}
    used = inventories.usages(conn, needed) if not single else {}
    candidates: list[dict[str, dict[str, int]]] = []
    mappings: list[dict[str, list[str]]] = []
    chosen: list[tuple[int, ...]] = []
    seen: set[tuple] = set()
    if single:
        # One group: each provider is one candidate; nothing to combine or dedupe.
        only = resource_groups[0]
        pids = [pid for root in roots for pid in per_group[0][root]]
        if limit is not None:
            pids = pids[:limit]
        chosen = [(pid,) for pid in pids]
        candidates = [{pid: dict(only.resources)} for pid in pids]  # type: ignore[misc]
        mappings = [{only.suffix: [pid]} for pid in pids]  # type: ignore[misc]
        roots = []
    for root in roots:
        if limit is not None and len(chosen) >= limit:
            break
        for combo in itertools.product(*(m[root] for m in per_group)):
            if limit is not None and len(chosen) >= limit:
                break
            numbered = [pid for g, pid in zip(resource_groups, combo, strict=True)
                        if g.suffix]
            if group_policy == 'isolate' and len(set(numbered)) != len(numbered):
                continue
            demand: dict[int, dict[str, int]] = {}
            for g, pid in zip(resource_groups, combo, strict=True):
                for rc, amount in g.resources.items():
                    demand.setdefault(pid, {})
                    demand[pid][rc] = demand[pid].get(rc, 0) + amount
            if not single and not all(_fits(p, d, invs, used) for p, d in demand.items()):
                continue
            key = tuple(sorted((p, tuple(sorted(d.items()))) for p, d in demand.items()))
            if key in seen:
                continue
            seen.add(key)
            chosen.append(combo)
            candidates.append({pid: dict(d) for pid, d in demand.items()})  # type: ignore
            mapping: dict[str, list[int]] = {}
            for g, pid in zip(resource_groups, combo, strict=True):
                mapping.setdefault(g.suffix, []).append(pid)
            mappings.append(mapping)  # type: ignore[arg-type]
    # Summaries cover every provider in the trees of the candidates.
    cand_roots = sorted({root_of[p] for c in chosen for p in c})
    tree_ids: list[int] = []
    for chunk in providers.chunks(cand_roots):
        tree_ids += conn.execute(sa.select(rp.c.id).where(
            rp.c.root_provider_id.in_(chunk))).scalars().all()
    rows = providers.get_many(conn, tree_ids)
    uuid_of = {pid: row['uuid'] for pid, row in rows.items()}
    return Result(
        candidates=[{uuid_of[p]: d for p, d in c.items()} for c in candidates],
        mappings=[{s: [uuid_of[p] for p in ps] for s, ps in m.items()} for m in mappings],
        providers=rows,
        inventories=inventories.get_all(conn, tree_ids),
        usages=inventories.usages(conn, tree_ids),
        traits=providers.get_traits(conn, tree_ids))
