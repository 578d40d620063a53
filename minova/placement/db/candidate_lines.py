"""One request group's allocation candidates, from a few simple reads.

At thousands of providers, GET /allocation_candidates spent its time in the
database driver decoding rows one at a time (PyMySQL is pure Python: about
10 µs a row, and a summary took seven rows per provider), and then in the
database joining inventories, usages, traits and aggregates provider by
provider (100 ms at 10,000 providers, where a scan of an index is 2 ms).

Here every request reads, each as one row on MySQL/MariaDB (GROUP_CONCAT
joining short lines; rows on the other engines, whose drivers are C):

- every provider's id, uuid, generation, root and parent;
- every provider's usages (sums of allocations by class);
- the providers of each aggregate asked for (member_of, forbidden).

Inventories and traits are only written in a transaction that bumps the
provider's generation (inventories.replace/delete_one,
providers.set_traits), so what this process read of them is kept keyed by
(id, generation) and read again only when the generation read now differs:
the capacity check (inventory − usage ≥ request, min/max unit, step size,
reserved, allocation ratio) and the trait check run in Python on the kept
inventories and traits and on this request's usages. Nothing that can
change without a generation bump (usages, aggregates, trees) is kept, so no
answer is stale whichever worker process or writer changed what.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from minova.placement import tables as t
from minova.placement.db import candidates, names, providers

rp = t.resource_providers
inv = t.inventories
alloc = t.allocations
rpt = t.resource_provider_traits
rpa = t.resource_provider_aggregates

# MariaDB's GROUP_CONCAT stops at group_concat_max_len (1 MiB by default:
# about 10,000 lines); the session limit is raised before the reads, and a
# result still cut short (max_allowed_packet) is noticed by its line count
# and read again as rows.
_GROUP_CONCAT_MAX = 1 << 31


@dataclass
class Lines:
    candidates: list[int]                              # provider ids, answer order
    providers: list[tuple[int, str, str, int, int | None]]
    # ^ (id, uuid, version, root id, parent id) of every provider in the
    #   candidates' trees, by id; version: its generation and creation time
    #   (a database made anew may give the same id and generation to another
    #   provider)
    usages: dict[int, tuple[tuple[int, int], ...]]     # id -> ((rc id, used), ...)


def _text(col: Any) -> Any:
    return sa.cast(col, sa.String)


def _keys(inner: sa.Select) -> list[str]:
    return [c.name for c in inner.selected_columns if c.name.startswith('k')]


def _statements(conn: Connection, inner: sa.Select) -> tuple[sa.Select | None, sa.Select]:
    """(a statement answering `inner`'s `line` column as one row (count,
    text), or None on engines other than MySQL; the same lines as rows, in
    the order of `inner`'s `k*` columns). The joined lines come in no order:
    sorting them in GROUP_CONCAT cost MariaDB 20 ms at 10,000 providers,
    sorting them here a few."""
    ordered = inner.order_by(*(sa.literal_column(k) for k in _keys(inner)))
    if conn.dialect.name != 'mysql':
        return None, ordered
    return sa.select(sa.func.count(), sa.literal_column(
        "GROUP_CONCAT(x.line SEPARATOR ';')")).select_from(inner.subquery('x')), ordered


def _lines(conn: Connection, stmts: tuple[sa.Select | None, sa.Select],
           params: dict[str, Any] | None = None) -> list[str]:
    joined, rows = stmts
    if joined is not None:
        count, text = conn.execute(joined, params or {}).one()
        lines = text.split(';') if text else []
        if len(lines) == count:
            return lines
    return [row[-1] for row in conn.execute(rows, params or {})]   # line is last


# Statements built once per engine (building them cost more than running them).
_built: dict[tuple[str, str], tuple[sa.Select | None, sa.Select]] = {}


def _once(conn: Connection, name: str, inner: Any) -> tuple[sa.Select | None, sa.Select]:
    key = (name, conn.dialect.name)
    found = _built.get(key)
    if found is None:
        found = _built[key] = _statements(conn, inner())
    return found


def _version() -> Any:
    return _text(rp.c.generation) + '/' + sa.func.coalesce(_text(rp.c.created_at), '')


def _providers_stmt() -> sa.Select:
    return sa.select(rp.c.id.label('k0'), (
        _text(rp.c.id) + '|' + rp.c.uuid + '|' + _version() + '|'
        + _text(rp.c.root_provider_id) + '|'
        + sa.func.coalesce(_text(rp.c.parent_provider_id), '')).label('line'))


def _usages_stmt() -> sa.Select:
    used = sa.func.sum(alloc.c.used)
    return (sa.select(alloc.c.resource_provider_id.label('k0'),
                      alloc.c.resource_class_id.label('k1'),
                      (_text(alloc.c.resource_provider_id) + ':'
                       + _text(alloc.c.resource_class_id) + ':' + _text(used)).label('line'))
            .group_by(alloc.c.resource_provider_id, alloc.c.resource_class_id))


def _aggregate_stmt() -> sa.Select:
    return (sa.select(rpa.c.resource_provider_id.label('k0'),
                      _text(rpa.c.resource_provider_id).label('line'))
            .where(rpa.c.aggregate_uuid.in_(sa.bindparam('aggs', expanding=True)))
            .distinct())


# -- what a provider's generation stands for ----------------------------------

Inventory = tuple[int, int, int, int, int, float]   # total, reserved, min, max, step, ratio
Static = tuple[str, dict[int, Inventory], frozenset[int]]   # version, {rc id: inv}, traits
# (database, provider id) -> what its version stands for
_kept: dict[tuple[str, int], Static] = {}
_MAX_KEPT = 200_000


def _static(conn: Connection, wanted: dict[int, str]) -> dict[int, Static]:
    """{provider id: (version, inventories, traits)} for {id: version},
    reading those not kept at that version (and keeping them)."""
    db = str(conn.engine.url)
    out = {}
    missing = []
    for pid, version in wanted.items():
        kept = _kept.get((db, pid))
        if kept is not None and kept[0] == version:
            out[pid] = kept
        else:
            missing.append(pid)
    if not missing:
        return out
    invs: dict[int, dict[int, Inventory]] = {pid: {} for pid in missing}
    traits: dict[int, set[int]] = {pid: set() for pid in missing}
    gens = dict.fromkeys(missing, '')
    for chunk in providers.chunks(missing, 5000):
        # The generation is read again with them: the one read before may be
        # older than what is read now (engines without one snapshot per
        # transaction), and what is kept must be keyed by its own.
        gens.update(conn.execute(sa.select(rp.c.id, _version()).where(
            providers.in_ids(rp.c.id, chunk))).all())
        for pid, rc, *values in conn.execute(sa.select(
                inv.c.resource_provider_id, inv.c.resource_class_id, inv.c.total,
                inv.c.reserved, inv.c.min_unit, inv.c.max_unit, inv.c.step_size,
                inv.c.allocation_ratio).where(providers.in_ids(inv.c.resource_provider_id,
                                                               chunk))):
            invs[pid][rc] = tuple(values)
        for pid, trait in conn.execute(sa.select(
                rpt.c.resource_provider_id, rpt.c.trait_id).where(
                providers.in_ids(rpt.c.resource_provider_id, chunk))):
            traits[pid].add(trait)
    if len(_kept) + len(missing) > _MAX_KEPT:
        _kept.clear()
    for pid in missing:
        entry = (gens[pid], invs[pid], frozenset(traits[pid]))
        out[pid] = entry
        if gens[pid] == wanted[pid]:
            _kept[(db, pid)] = entry
    return out


def _room(record: Inventory | None, amount: int) -> float | None:
    """The capacity of `record` if `amount` fits its units at all."""
    if record is None:
        return None
    total, reserved, min_unit, max_unit, step, ratio = record
    if not (min_unit <= amount <= max_unit) or amount % step:
        return None
    return (total - reserved) * ratio


# request shape -> provider id -> (version, ((rc, amount, capacity), ...)
# when the provider fits the request with no usage, else None)
_decided: dict[Any, dict[int, tuple[str, tuple[tuple[int, int, float], ...] | None]]] = {}
_MAX_SHAPES = 16   # flavors, roughly: each holds one entry per provider


def _fits_alone(records: dict[int, Inventory], have: frozenset[int],
                amounts: list[tuple[int, int]], traits: candidates.TraitIds
                ) -> tuple[tuple[int, int, float], ...] | None:
    if not _traits_ok(have, traits):
        return None
    rooms = []
    for rc, amount in amounts:
        room = _room(records.get(rc), amount)
        if room is None or room < amount:
            return None
        rooms.append((rc, amount, room))
    return tuple(rooms)


def _traits_ok(have: frozenset[int], traits: candidates.TraitIds) -> bool:
    required, forbidden = traits
    return all(have & any_of for any_of in required) and not (have & forbidden)


def single_group(conn: Connection, group: candidates.RequestGroup, *,
                 root_required: set[str] | None, root_forbidden: set[str] | None,
                 limit: int | None) -> Lines | None:
    """Candidates of one request group, each one provider; None: no candidate."""
    root_traits = candidates.root_trait_ids(conn, root_required, root_forbidden)
    if root_traits is False:
        return None
    rc_ids = names.ids_for(conn, 'rc', list(group.resources))
    traits = candidates.trait_ids(conn, group.required, group.forbidden)
    if len(rc_ids) != len(group.resources) or traits is None or not group.resources:
        return None
    amounts = [(rc_ids[rc], amount) for rc, amount in group.resources.items()]
    if conn.dialect.name == 'mysql':
        info = conn.connection.info   # lives as long as the pooled connection
        if not info.get('minova_group_concat_max'):
            conn.exec_driver_sql(f'SET SESSION group_concat_max_len = {_GROUP_CONCAT_MAX}')
            info['minova_group_concat_max'] = True
    every: list[tuple[int, str, str, int, int | None]] = []
    for line in _lines(conn, _once(conn, 'providers', _providers_stmt)):
        id_text, uuid, version, root_text, parent_text = line.split('|')
        every.append((int(id_text), uuid, version, int(root_text),
                      int(parent_text) if parent_text else None))
    every.sort()
    pool: set[int] | None = None
    if group.in_tree is not None:
        trees = [root for _, uuid, _, root, _ in every if uuid == group.in_tree]
        if not trees:
            return None
        pool = {pid for pid, _, _, root, _ in every if root == trees[0]}
    aggregates = _once(conn, 'aggregate', _aggregate_stmt)
    for any_of in group.member_of:
        members = {int(p) for p in _lines(conn, aggregates, {'aggs': sorted(any_of)})}
        pool = members if pool is None else pool & members
    if group.forbidden_aggs:
        banned = {int(p) for p in _lines(conn, aggregates,
                                         {'aggs': sorted(group.forbidden_aggs)})}
    else:
        banned = set()
    usages: dict[int, list[tuple[int, int]]] = {}
    for line in _lines(conn, _once(conn, 'usages', _usages_stmt)):
        holder, rc_text, used_text = line.split(':')
        usages.setdefault(int(holder), []).append((int(rc_text), int(used_text)))
    looked_at = [row for row in every if (pool is None or row[0] in pool)
                 and row[0] not in banned]
    # What does not depend on usages (units, step, capacity, traits) is
    # decided once per provider version and request shape.
    shape = (str(conn.engine.url), tuple(amounts), traits)
    decided = _decided.get(shape)
    if decided is None:
        if len(_decided) >= _MAX_SHAPES:
            _decided.clear()
        decided = _decided[shape] = {}
    undecided = {pid: version for pid, _, version, _, _ in looked_at
                 if decided.get(pid, ('',))[0] != version}
    if root_traits is not None:
        version_of = {pid: version for pid, _, version, _, _ in every}
        roots_static = _static(conn, {root: version_of[root] for *_, root, _ in looked_at})
    if undecided:
        for pid, (version, records, have) in _static(conn, undecided).items():
            decided[pid] = (version, _fits_alone(records, have, amounts, traits))
    chosen = []
    for pid, _, _, root, _ in looked_at:
        rooms = decided[pid][1]
        if rooms is None:
            continue
        if root_traits is not None and not _traits_ok(roots_static[root][2], root_traits):
            continue
        used = usages.get(pid)
        if used is not None:
            by_rc = dict(used)
            if any(room < by_rc.get(rc, 0) + amount for rc, amount, room in rooms):
                continue
        chosen.append((root, pid))
    if not chosen:
        return None
    chosen.sort()   # as the general path: trees in root order, providers by id
    if limit is not None:
        chosen = chosen[:limit]
    roots = {root for root, _ in chosen}
    return Lines(candidates=[pid for _, pid in chosen],
                 providers=[row for row in every if row[3] in roots],
                 usages={pid: tuple(sorted(u)) for pid, u in usages.items()})
