"""One request group's allocation candidates, from a few simple reads.

At thousands of providers, GET /allocation_candidates spent its time in the
database driver decoding rows one at a time (PyMySQL is pure Python: about
10 µs a row, and a summary took seven rows per provider), and then in the
database joining inventories, usages, traits and aggregates provider by
provider (100 ms at 10,000 providers, where a scan of an index is 2 ms).

Here every request reads, each as one row (GROUP_CONCAT joining short
lines; rows on engines without it):

- every provider's id, uuid, generation, root, parent and usages (sums of
  allocations by class), one line per provider (on MariaDB the usages are a
  read of their own, joined to the providers' lines here);
- the providers of each aggregate asked for (member_of, forbidden).

A provider's line is everything this request needs of it but its
inventories and traits: what a line decides (does the provider fit the
request, as read from its kept inventories and traits; its parsed fields) is
kept per request shape keyed by the line's text, so a provider whose line
did not change since the last request costs one dict look-up.

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
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

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


# What a provider's line says, and decides for one request shape: (id, uuid,
# version, root id, parent id, usages ((rc id, used), ...) by rc, fits the
# request (units, capacity left, traits; not root traits nor aggregates),
# the line itself). Version: its generation and creation time (a database
# made anew may give the same id and generation to another provider).
Provider = tuple[int, str, str, int, int | None, tuple[tuple[int, int], ...], bool, str]


@dataclass
class Lines:
    candidates: list[int]          # provider ids, answer order
    providers: list[Provider]      # every provider in the candidates' trees, by id


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
    joined = _JOIN.get(conn.dialect.name)
    if joined is None:
        return None, ordered
    return sa.select(sa.func.count(), sa.literal_column(joined)).select_from(
        inner.subquery('x')), ordered


_JOIN = {'mysql': "GROUP_CONCAT(x.line SEPARATOR ';')",
         'sqlite': "group_concat(x.line, ';')"}


class _Listed(FunctionElement[str]):
    """`expr` of a group's rows joined by ',' (in no set order)."""
    type = sa.String()
    name = 'listed'
    inherit_cache = True


@compiles(_Listed, 'mysql')
def _listed_mysql(element: _Listed, compiler: Any, **kw: Any) -> str:
    return f"GROUP_CONCAT({compiler.process(element.clauses, **kw)} SEPARATOR ',')"


@compiles(_Listed, 'postgresql')
def _listed_postgresql(element: _Listed, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


@compiles(_Listed)
def _listed(element: _Listed, compiler: Any, **kw: Any) -> str:   # SQLite
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


def _lines(conn: Connection, stmts: tuple[sa.Select | None, sa.Select],
           params: dict[str, Any] | None = None) -> list[str]:
    joined, rows = stmts
    if joined is not None:
        count, text = conn.execute(joined, params or {}).one()
        lines = text.split(';') if text else []
        if len(lines) == count:
            return lines
    return [row[-1] for row in conn.execute(rows, params or {}).all()]   # line is last


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


def _sums() -> sa.Subquery:
    return (sa.select(alloc.c.resource_provider_id.label('rp'),
                      alloc.c.resource_class_id.label('rc'),
                      sa.func.sum(alloc.c.used).label('used'))
            .group_by(alloc.c.resource_provider_id, alloc.c.resource_class_id)
            .subquery('sums'))


def _provider_text() -> Any:
    return (_text(rp.c.id) + '|' + rp.c.uuid + '|' + _version() + '|'
            + _text(rp.c.root_provider_id) + '|'
            + sa.func.coalesce(_text(rp.c.parent_provider_id), ''))


def _state_stmt() -> sa.Select:
    """id|uuid|version|root|parent|rc:used,rc:used per provider."""
    sums = _sums()
    per_rp = (sa.select(sums.c.rp, _Listed(
        _text(sums.c.rc) + ':' + _text(sums.c.used)).label('used'))
        .group_by(sums.c.rp).subquery('per_rp'))
    return sa.select(rp.c.id.label('k0'), (
        _provider_text() + '|' + sa.func.coalesce(per_rp.c.used, '')).label('line')
    ).select_from(rp.outerjoin(per_rp, per_rp.c.rp == rp.c.id))


def _providers_stmt() -> sa.Select:
    return sa.select(rp.c.id.label('k0'), _provider_text().label('line'))


def _usages_stmt() -> sa.Select:
    sums = _sums()
    return sa.select(sums.c.rp.label('k0'), sums.c.rc.label('k1'), (
        _text(sums.c.rp) + '|' + _text(sums.c.rc) + ':' + _text(sums.c.used)).label('line'))


def _state_lines(conn: Connection) -> list[str]:
    """Every provider's line (see _state_stmt)."""
    if conn.dialect.name != 'mysql':
        return _lines(conn, _once(conn, 'state', _state_stmt))
    # MariaDB materializes a derived table holding a GROUP_CONCAT (a BLOB)
    # on disk: the usages are read as lines of their own and joined here.
    used: dict[str, list[str]] = {}
    for line in _lines(conn, _once(conn, 'usages', _usages_stmt)):
        holder, _, rest = line.partition('|')
        used.setdefault(holder, []).append(rest)
    out = []
    for line in _lines(conn, _once(conn, 'providers', _providers_stmt)):
        mine = used.get(line[:line.index('|')])
        out.append(f"{line}|{','.join(mine) if mine else ''}")
    return out


def _aggregate_stmt() -> sa.Select:
    return (sa.select(rpa.c.resource_provider_id.label('k0'),
                      _text(rpa.c.resource_provider_id).label('line'))
            .where(rpa.c.aggregate_uuid.in_(sa.bindparam('aggs', expanding=True)))
            .distinct())


# -- what a provider's generation stands for ----------------------------------

Inventory = tuple[int, int, int, int, int, float]   # total, reserved, min, max, step, ratio
_INVENTORY = (inv.c.resource_provider_id, inv.c.resource_class_id, inv.c.total,
              inv.c.reserved, inv.c.min_unit, inv.c.max_unit, inv.c.step_size,
              inv.c.allocation_ratio)
Static = tuple[str, dict[int, Inventory], frozenset[int]]   # version, {rc id: inv}, traits
# (database, provider id) -> what its version stands for
_kept: dict[tuple[str, int], Static] = {}
_MAX_KEPT = 200_000


def static(conn: Connection, wanted: dict[int, str]) -> dict[int, Static]:
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
        gens.update(conn.execute(*providers.by_ids(
            'candidate_lines.versions', lambda w: sa.select(rp.c.id, _version()).where(w), rp.c.id,
            chunk)).all())
        for pid, rc, *values in conn.execute(*providers.by_ids(
                'candidate_lines.inventories', lambda w: sa.select(*_INVENTORY).where(w),
                inv.c.resource_provider_id, chunk)):
            invs[pid][rc] = tuple(values)
        for pid, trait in conn.execute(*providers.by_ids(
                'candidate_lines.traits',
                lambda w: sa.select(rpt.c.resource_provider_id, rpt.c.trait_id).where(w),
                rpt.c.resource_provider_id, chunk)):
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


# request shape -> a provider's line -> what it says and decides
_seen: dict[Any, dict[str, Provider]] = {}
_MAX_SHAPES = 16   # flavors, roughly: each holds a line per provider


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


def _decide(conn: Connection, lines: list[str], amounts: list[tuple[int, int]],
            traits: candidates.TraitIds) -> tuple[list[Provider], list[Provider]]:
    """(what `lines` say and decide, those of them that may be kept: read
    at the version they name)."""
    parsed = []
    for line in lines:
        id_text, uuid, version, root_text, parent_text, used_text = line.split('|')
        sums = tuple(sorted((int(rc), int(n)) for rc, n in
                            (u.split(':') for u in used_text.split(',') if u)))
        parsed.append((int(id_text), uuid, version, int(root_text),
                       int(parent_text) if parent_text else None, sums, line))
    read = static(conn, {p[0]: p[2] for p in parsed})
    out: list[Provider] = []
    keep: list[Provider] = []
    for pid, uuid, version, root, parent, used, line in parsed:
        read_at, records, have = read[pid]
        rooms = _fits_alone(records, have, amounts, traits)
        by_rc = dict(used)
        fits = rooms is not None and all(by_rc.get(rc, 0) + amount <= room
                                         for rc, amount, room in rooms)
        entry = (pid, uuid, version, root, parent, used, fits, line)
        out.append(entry)
        if read_at == version:
            keep.append(entry)
    return out, keep


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
    lines = _state_lines(conn)
    shape = (str(conn.engine.url), tuple(amounts), traits)
    seen = _seen.get(shape)
    if seen is None:
        if len(_seen) >= _MAX_SHAPES:
            _seen.clear()
        seen = _seen[shape] = {}
    fresh: dict[str, Provider] = {}
    missing = [line for line in lines if line not in seen]
    if missing:
        decided, keep = _decide(conn, missing, amounts, traits)
        fresh = {entry[7]: entry for entry in decided}
        if len(seen) + len(keep) > 2 * len(lines) + 1000:
            # lines of providers since changed: keep only today's
            seen = _seen[shape] = {line: seen[line] for line in lines if line in seen}
        seen.update((entry[7], entry) for entry in keep)
    every = [seen.get(line) or fresh[line] for line in lines]
    every.sort()
    pool: set[int] | None = None
    if group.in_tree is not None:
        trees = [p[3] for p in every if p[1] == group.in_tree]
        if not trees:
            return None
        pool = {p[0] for p in every if p[3] == trees[0]}
    aggregates = _once(conn, 'aggregate', _aggregate_stmt)
    for any_of in group.member_of:
        members = {int(p) for p in _lines(conn, aggregates, {'aggs': sorted(any_of)})}
        pool = members if pool is None else pool & members
    if group.forbidden_aggs:
        banned = {int(p) for p in _lines(conn, aggregates,
                                         {'aggs': sorted(group.forbidden_aggs)})}
    else:
        banned = set()
    chosen = [(p[3], p[0]) for p in every if p[6] and (pool is None or p[0] in pool)
              and p[0] not in banned]
    if root_traits is not None and chosen:
        version_of = {p[0]: p[2] for p in every}
        roots_static = static(conn, {root: version_of[root] for root, _ in chosen})
        chosen = [(root, pid) for root, pid in chosen
                  if _traits_ok(roots_static[root][2], root_traits)]
    if not chosen:
        return None
    chosen.sort()   # as the general path: trees in root order, providers by id
    if limit is not None:
        chosen = chosen[:limit]
    roots = {root for root, _ in chosen}
    return Lines(candidates=[pid for _, pid in chosen],
                 providers=[p for p in every if p[3] in roots])
