"""Allocation candidates.

One SQL query per request group finds the providers that can satisfy the
whole group on their own (capacity, traits, aggregates, tree, and the traits
of the tree's root); the groups are then combined per provider tree in
Python, one provider per group, re-checking capacity where several groups
land on the same provider and applying group_policy and same_subtree. Each
combination is a candidate, its mappings saying which group is where.
Details for the summaries come from three bulk queries (providers,
inventories + usages, traits).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from minova.placement import tables as t
from minova.placement.db import inventories, names, providers

rp = t.resource_providers


@dataclass
class RequestGroup:
    suffix: str = ''
    resources: dict[str, int] = field(default_factory=dict)
    required: list[set[str]] = field(default_factory=list)   # any-of sets, all needed
    forbidden: set[str] = field(default_factory=set)
    member_of: list[set[str]] = field(default_factory=list)  # any-of sets, all needed
    forbidden_aggs: set[str] = field(default_factory=set)
    in_tree: str | None = None


@dataclass
class Result:
    candidates: list[dict[str, dict[str, int]]]   # [{rp uuid: {rc: amount}}]
    mappings: list[dict[str, list[str]]]          # [{suffix: [rp uuid]}]
    providers: dict[int, dict[str, Any]]           # id -> provider row
    inventories: dict[int, dict[str, dict]]
    usages: dict[int, dict[str, int]]
    traits: dict[int, list[str]]


def _empty() -> Result:
    return Result([], [], {}, {}, {}, {})


TraitIds = tuple[tuple[frozenset[int], ...], frozenset[int]]


def _trait_ids(conn: Connection, required: list[set[str]],
               forbidden: set[str]) -> TraitIds | None:
    """Trait names -> ids (required any-of sets, forbidden); None when a
    required set names no known trait (nothing can match)."""
    ids = names.ids_for(conn, 'trait', set().union(forbidden, *required))
    req = []
    for any_of in required:
        known = frozenset(ids[n] for n in any_of if n in ids)
        if not known:
            return None
        req.append(known)
    return (tuple(sorted(req, key=sorted)),
            frozenset(ids[n] for n in forbidden if n in ids))


trait_ids = _trait_ids


def _group_providers(conn: Connection, group: RequestGroup,
                     root_traits: TraitIds | None) -> list[tuple[int, int]] | None:
    """(provider id, root id) pairs that satisfy the group; None: unknown name."""
    found = group_statement(conn, group, root_traits)
    if found is None:
        return None
    stmt, params = found
    return [(pid, root) for pid, root in conn.execute(stmt, params).all()]


def group_statement(conn: Connection, group: RequestGroup, root_traits: TraitIds | None
                    ) -> tuple[sa.Select, dict[str, Any]] | None:
    """SELECT (id, root_provider_id) of the providers that satisfy the group
    on their own, ordered by id, and its parameters; None: nothing can match
    (an unknown name, or a group that names no provider)."""
    if not (group.resources or group.required or group.member_of):
        # As upstream: a group without resources is found by the traits or
        # aggregates it requires; with none of them it matches no provider.
        return None
    root_id = None
    if group.in_tree is not None:
        tree = providers.get(conn, group.in_tree)
        if tree is None:
            return None
        root_id = tree['root_provider_id']
    rc_ids = names.ids_for(conn, 'rc', list(group.resources))
    if len(rc_ids) != len(group.resources):
        return None
    traits = _trait_ids(conn, group.required, group.forbidden)
    if traits is None:
        return None
    amounts = {rc_ids[rc]: amount for rc, amount in group.resources.items()}
    # The statement depends on the request's shape, not on its amounts or
    # tree: built once per shape (building it was a third of the request).
    key = (tuple(sorted(amounts)), root_id is not None, traits, root_traits,
           tuple(tuple(sorted(aggs)) for aggs in group.member_of),
           tuple(sorted(group.forbidden_aggs)))
    stmt = _statements.get(key)
    if stmt is None:
        q = sa.select(rp.c.id, rp.c.root_provider_id)
        if root_id is not None:
            q = q.where(rp.c.root_provider_id == sa.bindparam('root_id', type_=sa.Integer))
        if root_traits is not None:
            q = q.where(*providers.trait_filter(*root_traits, rp.c.root_provider_id))
        stmt = q.where(
            *providers.capacity_filter(conn, {rc: sa.bindparam(f'amount_{rc}', type_=sa.Integer)
                                              for rc in amounts}),
            *providers.trait_filter(*traits),
            *providers.aggregate_filter(group.member_of, group.forbidden_aggs),
        ).order_by(rp.c.id)
        if len(_statements) >= _MAX_STATEMENTS:
            _statements.clear()
        _statements[key] = stmt
    params: dict[str, Any] = {f'amount_{rc}': amount for rc, amount in amounts.items()}
    if root_id is not None:
        params['root_id'] = root_id
    return stmt, params


def root_trait_ids(conn: Connection, root_required: set[str] | None,
                   root_forbidden: set[str] | None) -> TraitIds | None | Literal[False]:
    """The root traits filter; None: no filter; False: nothing can match."""
    if not (root_required or root_forbidden):
        return None
    found = _trait_ids(conn, [{n} for n in sorted(root_required or ())],
                       root_forbidden or set())
    return False if found is None else found


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


def _parents(conn: Connection, roots: list[int]) -> dict[int, int | None]:
    out: dict[int, int | None] = {}
    for chunk in providers.chunks(roots):
        out.update((r.id, r.parent_provider_id) for r in conn.execute(
            sa.select(rp.c.id, rp.c.parent_provider_id).where(
                providers.in_ids(rp.c.root_provider_id, chunk))))
    return out


def _same_subtree(pids: set[int], parents: dict[int, int | None]) -> bool:
    """One of `pids` is an ancestor of (or is) all the others."""
    common: set[int] | None = None
    for pid in pids:
        line: set[int] = set()
        node: int | None = pid
        while node is not None:
            line.add(node)
            node = parents[node]
        common = line if common is None else common & line
    return bool(common and common & pids)


def find(conn: Connection, groups: list[RequestGroup], *, limit: int | None,
         group_policy: str | None, root_required: set[str] | None = None,
         root_forbidden: set[str] | None = None,
         same_subtrees: list[set[str]] | None = None) -> Result:
    """Candidates for the groups: each group on one provider of a tree.

    A group without resources (1.36) names a provider by its traits,
    aggregates or tree alone; `root_required`/`root_forbidden` (1.35) are
    traits of the root of the tree; in each set of `same_subtrees` (1.36)
    the providers of those groups have one among them that is an ancestor
    of (or is) all the others. Two candidates are different when their
    allocations or their mappings (which group is on which provider) are.
    """
    root_traits = root_trait_ids(conn, root_required, root_forbidden)
    if root_traits is False:
        return _empty()
    per_group: list[dict[int, list[int]]] = []   # root -> provider ids, per group
    root_of: dict[int, int] = {}
    for g in groups:
        pairs = _group_providers(conn, g, root_traits)
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
    if len(groups) == 1:
        # One group: each provider is one candidate; nothing to combine.
        only = groups[0]
        pids = [pid for root in roots for pid in per_group[0][root]]
        if limit is not None:
            pids = pids[:limit]
        chosen: list[tuple[int, ...]] = [(pid,) for pid in pids]
        demands = [{pid: dict(only.resources)} for pid in pids]
    else:
        chosen, demands = _combine(conn, groups, per_group, roots, limit=limit,
                                   group_policy=group_policy,
                                   same_subtrees=same_subtrees or [])
    # Summaries cover every provider in the trees of the candidates.
    cand_roots = sorted({root_of[p] for c in chosen for p in c})
    tree_ids: list[int] = []
    for chunk in providers.chunks(cand_roots):
        tree_ids += conn.execute(sa.select(rp.c.id).where(
            providers.in_ids(rp.c.root_provider_id, chunk))).scalars().all()
    rows = providers.get_many(conn, tree_ids)
    uuid_of = {pid: row['uuid'] for pid, row in rows.items()}
    return Result(
        candidates=[{uuid_of[p]: d for p, d in c.items()} for c in demands],
        mappings=[{g.suffix: [uuid_of[p]] for g, p in zip(groups, c, strict=True)}
                  for c in chosen],
        providers=rows,
        inventories=inventories.get_all(conn, tree_ids),
        usages=inventories.usages(conn, tree_ids),
        traits=providers.get_traits(conn, tree_ids))


def _combine(conn: Connection, groups: list[RequestGroup],
             per_group: list[dict[int, list[int]]], roots: list[int], *,
             limit: int | None, group_policy: str | None, same_subtrees: list[set[str]]
             ) -> tuple[list[tuple[int, ...]], list[dict[int, dict[str, int]]]]:
    """One provider per group, tree by tree: (combos, their demands)."""
    needed = sorted({pid for g, m in zip(groups, per_group, strict=True) if g.resources
                     for r in roots for pid in m.get(r, [])})
    invs = inventories.get_all(conn, needed)
    used = inventories.usages(conn, needed)
    parents = _parents(conn, roots) if same_subtrees else {}
    index = {g.suffix: i for i, g in enumerate(groups)}
    subtrees = [[index[s] for s in sorted(st)] for st in same_subtrees]
    suffixed = [i for i, g in enumerate(groups) if g.suffix]
    chosen: list[tuple[int, ...]] = []
    demands: list[dict[int, dict[str, int]]] = []
    for root in roots:
        for combo in itertools.product(*(m[root] for m in per_group)):
            if limit is not None and len(chosen) >= limit:
                return chosen, demands
            if (group_policy == 'isolate'
                    and len({combo[i] for i in suffixed}) != len(suffixed)):
                continue
            if not all(_same_subtree({combo[i] for i in st}, parents) for st in subtrees):
                continue
            demand: dict[int, dict[str, int]] = {}
            for g, pid in zip(groups, combo, strict=True):
                if g.resources:
                    mine = demand.setdefault(pid, {})
                    for rc, amount in g.resources.items():
                        mine[rc] = mine.get(rc, 0) + amount
            if all(_fits(p, d, invs, used) for p, d in demand.items()):
                chosen.append(combo)
                demands.append(demand)
    return chosen, demands
