"""Inventories of a resource provider, and usages (sums of allocations)."""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from minova import utils
from minova.placement import errors
from minova.placement import tables as t
from minova.placement.db import names, providers

LOG = logging.getLogger(__name__)

FIELDS = ('total', 'reserved', 'min_unit', 'max_unit', 'step_size', 'allocation_ratio')
DEFAULTS: dict[str, Any] = {'reserved': 0, 'min_unit': 1, 'max_unit': 2147483647,
                            'step_size': 1, 'allocation_ratio': 1.0}

inv = t.inventories
alloc = t.allocations


def capacity(record: dict[str, Any]) -> int:
    return int((record['total'] - record['reserved']) * record['allocation_ratio'])


# Only what an inventory record holds, read as plain tuples: allocation
# candidates read thousands of these per request.
_COLUMNS = (inv.c.resource_provider_id, inv.c.resource_class_id,
            *(inv.c[f] for f in FIELDS))


def get_all(conn: Connection, provider_ids: list[int]) -> dict[int, dict[str, dict]]:
    """{provider id: {rc name: inventory}}."""
    out: dict[int, dict[str, dict]] = {pid: {} for pid in provider_ids}
    rcs = names.rc_names(conn)
    for chunk in providers.chunks(provider_ids):
        q = providers.by_ids('inventories.get_all', lambda w: sa.select(*_COLUMNS).where(w),
                             inv.c.resource_provider_id, chunk)
        for pid, rc_id, *values in conn.execute(*q).all():
            name = rcs.get(rc_id) or names.rc_name(conn, rc_id)
            out[pid][name] = dict(zip(FIELDS, values, strict=True))
    return out


def _usages(where: Any) -> sa.Select:
    return (sa.select(alloc.c.resource_provider_id, alloc.c.resource_class_id,
                      sa.func.sum(alloc.c.used).label('used'))
            .where(where)
            .group_by(alloc.c.resource_provider_id, alloc.c.resource_class_id))


def usages(conn: Connection, provider_ids: list[int]) -> dict[int, dict[str, int]]:
    """{provider id: {rc name: used}} (classes without allocations left out)."""
    out: dict[int, dict[str, int]] = {pid: {} for pid in provider_ids}
    rcs = names.rc_names(conn)
    for chunk in providers.chunks(provider_ids):
        q = providers.by_ids('inventories.usages', _usages, alloc.c.resource_provider_id,
                             chunk)
        for pid, rc_id, used in conn.execute(*q).all():
            name = rcs.get(rc_id) or names.rc_name(conn, rc_id)
            out[pid][name] = int(used)
    return out


def _with_used(where: Any) -> sa.Select:
    used = (sa.select(sa.func.coalesce(sa.func.sum(alloc.c.used), 0))
            .where(alloc.c.resource_provider_id == inv.c.resource_provider_id,
                   alloc.c.resource_class_id == inv.c.resource_class_id)
            .scalar_subquery())
    return sa.select(*_COLUMNS, used).where(where)


def with_usages(conn: Connection, provider_ids: list[int]
                ) -> tuple[dict[int, dict[str, dict]], dict[int, dict[str, int]]]:
    """(get_all(), usages()) in one read, but the usages only of classes the
    provider has inventory of (a claim's capacity check: one round trip
    fewer per claim)."""
    invs: dict[int, dict[str, dict]] = {pid: {} for pid in provider_ids}
    used: dict[int, dict[str, int]] = {pid: {} for pid in provider_ids}
    rcs = names.rc_names(conn)
    for chunk in providers.chunks(provider_ids):
        q = providers.by_ids('inventories.with_usages', _with_used,
                             inv.c.resource_provider_id, chunk)
        for pid, rc_id, *values, amount in conn.execute(*q).all():
            name = rcs.get(rc_id) or names.rc_name(conn, rc_id)
            invs[pid][name] = dict(zip(FIELDS, values, strict=True))
            used[pid][name] = int(amount)
    return invs, used


def validate(provider: dict[str, Any], rc: str, record: dict[str, Any],
             allow_reserved_equal_total: bool) -> dict[str, Any]:
    full = {**DEFAULTS, **record}
    bad = None
    if full['reserved'] > full['total'] or (
            full['reserved'] == full['total'] and full['total'] and
            not allow_reserved_equal_total):
        bad = (f"Invalid inventory for '{rc}' on resource provider '{provider['uuid']}'. "
               'The reserved value is greater than or equal to total.')
    elif full['min_unit'] > full['max_unit']:
        bad = (f"Invalid inventory for '{rc}' on resource provider '{provider['uuid']}'. "
               'The min_unit value is greater than max_unit.')
    if bad:
        raise errors.bad_request(
            f'Unable to update inventory for resource provider {provider["uuid"]}: {bad}')
    return full


def _rc_ids(conn: Connection, provider: dict[str, Any], rcs: list[str]) -> dict[str, int]:
    ids = names.ids_for(conn, 'rc', rcs)
    missing = sorted(set(rcs) - set(ids))
    if missing:
        raise errors.bad_request(
            f'Unknown resource class in inventory for resource provider '
            f'{provider["uuid"]}: No such resource class {missing[0]}.')
    return ids


def replace(conn: Connection, provider: dict[str, Any],
            records: dict[str, dict[str, Any]], check_in_use: bool = True) -> None:
    """Set the provider's whole inventory (records already validated)."""
    # Claim the generation before reading and writing rows: a concurrent
    # writer that read the same generation now waits for this transaction and
    # then gets its 409, instead of both inserting the same rows (a unique
    # constraint's 500).
    providers.bump(conn, provider)
    current = get_all(conn, [provider['id']])[provider['id']]
    used = usages(conn, [provider['id']])[provider['id']]
    removed = [rc for rc in current if rc not in records]
    in_use = [rc for rc in removed if used.get(rc) and check_in_use]
    if in_use:
        raise errors.conflict(
            f"update conflict: Inventory for '{', '.join(sorted(in_use))}' on resource "
            f"provider '{provider['uuid']}' in use.", errors.INVENTORY_INUSE)
    ids = _rc_ids(conn, provider, [*records, *removed])
    now = utils.utcnow()
    if removed:
        conn.execute(inv.delete().where(inv.c.resource_provider_id == provider['id'],
                                        inv.c.resource_class_id.in_(
                                            [ids[rc] for rc in removed])))
    for rc, record in records.items():
        values = {f: record[f] for f in FIELDS}
        if rc in current:
            if current[rc] == values:
                continue
            conn.execute(inv.update().where(inv.c.resource_provider_id == provider['id'],
                                            inv.c.resource_class_id == ids[rc])
                         .values(updated_at=now, **values))
        else:
            conn.execute(inv.insert().values(resource_provider_id=provider['id'],
                                             resource_class_id=ids[rc], created_at=now,
                                             **values))
        if used.get(rc, 0) > capacity(values):
            LOG.warning('Resource provider %s is now over-capacity for %s',
                        provider['uuid'], rc)


def delete_one(conn: Connection, provider: dict[str, Any], rc: str) -> None:
    providers.bump(conn, provider)  # first, as in replace()
    current = get_all(conn, [provider['id']])[provider['id']]
    if rc not in current:
        raise errors.not_found(f'No inventory of class {rc} found for delete')
    if usages(conn, [provider['id']])[provider['id']].get(rc):
        raise errors.conflict(
            f"Unable to delete inventory of class {rc}: Inventory for '{rc}' on "
            f"resource provider '{provider['uuid']}' in use.",
            # upstream answers this one with concurrent_update, not inventory.inuse
            errors.CONCURRENT_UPDATE)
    rc_id = names.rc_id(conn, rc)
    conn.execute(inv.delete().where(inv.c.resource_provider_id == provider['id'],
                                    inv.c.resource_class_id == rc_id))


def check_allocated_have_inventory(conn: Connection, provider: dict[str, Any]) -> None:
    """409 when some allocation against the provider has no inventory left."""
    pid = provider['id']
    missing = sorted(set(usages(conn, [pid])[pid]) - set(get_all(conn, [pid])[pid]))
    if missing:
        raise errors.conflict(
            f"update conflict: Inventory for '{', '.join(missing)}' on resource "
            f"provider '{provider['uuid']}' in use.", errors.INVENTORY_INUSE)
