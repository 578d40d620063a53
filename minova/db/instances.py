"""Instances in a cell DB. Every function takes the cell's DB URL first."""
from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any, TypedDict, cast

import sqlalchemy as sa

from minova import exception, states, utils
from minova.db import block_devices, console_auth_tokens, engines, paging, regexp
from minova.db.flavors import Flavor
from minova.db.main_tables import instance_faults, instances

# A timestamp of a row: a naive UTC datetime from the DB, or its ISO 8601
# text once the row has crossed RPC (utils.parse_time reads both).
Stamp = datetime.datetime | str

# One NIC of a server, as Nova's network_info lists it (id, address, network...).
VIF = dict[str, Any]


class Fault(TypedDict):
    """A row of instance_faults: why a server is in ERROR."""
    id: int
    instance_uuid: str
    code: int
    message: str | None
    details: str | None
    host: str | None
    created_at: Stamp | None
    updated_at: Stamp | None


class Instance(TypedDict, total=False):
    """A server: a row of a cell's `instances` table with its JSON columns
    decoded. The same keys describe a server still waiting in its build
    request (minova/db/build_requests.py), and an instance sent over RPC
    (timestamps then arrive as text). Readers that ask for some columns
    only get those keys; the compute API adds `fault`, `cell_uuid` and, for
    a server of a cell that does not answer, `cell_down`.

    Columns the database allows to be NULL but that every server gets at
    boot (its name, sizes from the flavor, states, ...) are typed without None.
    """
    id: int
    uuid: str
    display_name: str
    display_description: str | None
    hostname: str
    user_id: str
    project_id: str
    image_ref: str                  # '' when booted from no image
    flavor: Flavor | None           # the flavor as it was at boot (JSON column)
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    host: str | None                # None until scheduled (and after a failed build)
    node: str | None
    launched_on: str | None
    availability_zone: str | None
    vm_state: str
    task_state: str | None
    power_state: int
    key_name: str | None
    key_data: str | None
    user_data: str | None
    config_drive: str               # 'True' or ''
    metadata: dict[str, str]
    system_metadata: dict[str, str]
    network_info: list[VIF]
    tags: list[str]
    access_ip_v4: str | None
    access_ip_v6: str | None
    progress: int
    locked: bool
    locked_by: str | None
    launch_index: int
    reservation_id: str
    root_device_name: str | None
    launched_at: Stamp | None
    terminated_at: Stamp | None
    created_at: Stamp | None
    updated_at: Stamp | None
    deleted_at: Stamp | None
    deleted: int                    # 0 while live; the row id once deleted
    # Added by readers (get(with_fault=True), the compute API):
    fault: Fault | None
    cell_uuid: str | None
    cell_down: bool


JSON_FIELDS: dict[str, Any] = {'flavor': None, 'metadata': {}, 'system_metadata': {},
                               'network_info': [], 'tags': []}

# vm states whose API status (ERROR, DELETED) shows the latest fault
FAULT_VM_STATES = (states.ERROR, states.DELETED)

SORTABLE = {c.name for c in instances.c} - set(JSON_FIELDS) - {'user_data', 'key_data'}


def decode(row: Any) -> Instance:
    inst = dict(row)
    for field, default in JSON_FIELDS.items():
        if field in inst:
            inst[field] = utils.json_loads(inst[field], default if default is None
                                           else type(default)())
    return cast(Instance, inst)


def encode(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for the instances table: JSON columns as text,
    timestamps as datetimes, keys that are not columns left out."""
    out = {}
    for k, v in values.items():
        if k in JSON_FIELDS and not isinstance(v, str | None):
            v = utils.json_dumps(v)
        if k in ('created_at', 'updated_at', 'launched_at', 'terminated_at', 'deleted_at'):
            v = utils.parse_time(v)
        if k in instances.c:
            out[k] = v
    return out


@engines.retry_on_disconnect
def create(url: str, values: Instance,
           also: Callable[[sa.Connection], Any] | None = None) -> Instance:
    """Insert an instance; `also(conn)` writes more in the same transaction
    (one commit per step counts on the boot path)."""
    columns = encode(values)
    columns.setdefault('created_at', utils.utcnow())
    columns.setdefault('deleted', 0)
    with engines.writer(url) as conn:
        conn.execute(instances.insert().values(**columns))
        row = conn.execute(sa.select(instances).where(
            instances.c.uuid == columns['uuid'])).mappings().one()
        if also is not None:
            also(conn)
    return decode(row)


# Built once: a GET /servers/{id} (polled every few milliseconds by clients
# waiting for ACTIVE) then skips building and hashing the statement, about a
# fifth of its CPU time.
_GET_ANY = sa.select(instances).where(instances.c.uuid == sa.bindparam('uuid'))
_GET_LIVE = _GET_ANY.where(instances.c.deleted == 0)


@engines.retry_on_disconnect
def get(url: str, uuid: str, read_deleted: bool = False,
        with_fault: bool = False, shown_fault_only: bool = False) -> Instance:
    """One instance; with_fault adds its latest fault ('fault'), and with
    shown_fault_only only where the API shows it (ERROR, DELETED), sparing
    the read for the others."""
    with engines.reader(url) as conn:
        row = conn.execute(_GET_ANY if read_deleted else _GET_LIVE,
                           {'uuid': uuid}).mappings().first()
        if row is None:
            raise exception.InstanceNotFound(instance_id=uuid)
        inst = decode(row)
        if with_fault:
            inst['fault'] = (_faults(conn, [uuid]).get(uuid) if not shown_fault_only
                             or inst.get('vm_state') in FAULT_VM_STATES else None)
    return inst


@engines.retry_on_disconnect
def update(url: str, uuid: str, values: Mapping[str, Any],
           expected_task_state: list[str | None] | None = None,
           also: Callable[[sa.Connection], Any] | None = None,
           fetch: bool = True, expected_host: str | None = None) -> Instance:
    """Update a live instance; with expected_task_state, only from those states.

    Returns the updated instance ({} with fetch=False, which saves reading it
    back when the update took). Raises InstanceNotFound if it is gone (for
    example deleted while building) and InstanceInvalidState on a task-state race
    (or, with expected_host, when the instance has moved to another host).
    `also(conn)` runs in the same transaction once the update took.
    """
    values = encode(values)
    values['updated_at'] = utils.utcnow()
    q = instances.update().where(instances.c.uuid == uuid, instances.c.deleted == 0)
    if expected_task_state is not None:
        named = [s for s in expected_task_state if s is not None]
        conds = [instances.c.task_state.in_(named)] if named else []
        if None in expected_task_state:
            conds.append(instances.c.task_state.is_(None))
        q = q.where(sa.or_(*conds))
    if expected_host is not None:
        q = q.where(instances.c.host == expected_host)
    with engines.writer(url) as conn:
        res = conn.execute(q.values(**values))
        if res.rowcount and not fetch:
            if also is not None:
                also(conn)
            return {}
        row = conn.execute(sa.select(instances).where(
            instances.c.uuid == uuid)).mappings().first()
        if also is not None and res.rowcount:
            also(conn)
    if row is None or (res.rowcount == 0 and row['deleted']):
        raise exception.InstanceNotFound(instance_id=uuid)
    if res.rowcount == 0:
        raise exception.InstanceInvalidState(
            action='update', instance_uuid=uuid, attr='task_state', state=row['task_state'])
    return decode(row)


@engines.retry_on_disconnect
def destroy(url: str, uuid: str) -> None:
    """Soft-delete: the row stays with deleted=id so changes-since can see it."""
    now = utils.utcnow()
    with engines.writer(url) as conn:
        conn.execute(instances.update()
                     .where(instances.c.uuid == uuid, instances.c.deleted == 0)
                     .values(deleted=instances.c.id, deleted_at=now, updated_at=now,
                             terminated_at=now, vm_state=states.DELETED, task_state=None,
                             power_state=states.NOSTATE))
        console_auth_tokens.destroy_for_instance(conn, uuid)
        block_devices.destroy_for_instance(conn, uuid)


def _faults(conn: sa.Connection, uuids: list[str]) -> dict[str, Fault]:
    """The latest fault of each instance."""
    if not uuids:
        return {}
    rows = conn.execute(sa.select(instance_faults)
                        .where(instance_faults.c.instance_uuid.in_(uuids))
                        .order_by(instance_faults.c.id)).mappings()
    return {r['instance_uuid']: cast(Fault, dict(r)) for r in rows}


# Exact-match filters: filter key -> column (a list value matches any of it).
EXACT_FILTERS = {'image': 'image_ref', 'uuid': 'uuid', 'vm_state': 'vm_state',
                 'task_state': 'task_state', 'host': 'host', 'project_id': 'project_id',
                 'user_id': 'user_id', 'locked': 'locked'}
# Columns a 'regex' filter may name: Nova matches every other list filter as a
# regular expression against the column's text (REGEXP; '~' on PostgreSQL).
REGEX_COLUMNS = frozenset({
    'display_name', 'display_description', 'hostname', 'key_name', 'node',
    'reservation_id', 'availability_zone', 'config_drive', 'created_at', 'launched_at',
    'terminated_at', 'power_state', 'progress', 'launch_index', 'root_device_name',
    'access_ip_v4', 'access_ip_v6', 'locked_by'})
TAG_FILTERS = ('tags', 'tags-any', 'not-tags', 'not-tags-any')


def _has_tag(tag: str) -> sa.ColumnElement[bool]:
    """The tags JSON list holds this tag, exactly.

    Tags have no commas, and inside a JSON string every quote is escaped, so
    an element starts exactly where `[` or `, ` is followed by the tag's JSON
    string: anchoring there makes the LIKE an exact element match.
    """
    enc = utils.json_dumps(tag)
    esc = enc.replace('!', '!!').replace('%', '!%').replace('_', '!_')
    col = instances.c.tags
    return sa.or_(col.like('[' + esc + '%', escape='!'),
                  col.like('%, ' + esc + '%', escape='!'))


def _tag_filter(name: str, tags: list[str]) -> sa.ColumnElement[bool]:
    """tags: all of them; tags-any: one of them; not-tags: not all of them;
    not-tags-any: none of them (Nova's semantics)."""
    each = [_has_tag(t) for t in tags]
    match = sa.and_(*each) if name in ('tags', 'not-tags') else sa.or_(*each)
    if name.startswith('not-'):
        return sa.or_(instances.c.tags.is_(None), sa.not_(match))
    return match


def _regex(column: str, pattern: str, literal: bool) -> sa.ColumnElement[bool]:
    """The column's text matches the pattern (minova/db/regexp.py: bounded time;
    a pattern RE2 refuses, or `literal`, is matched as the exact text)."""
    col = instances.c[column]
    text = col if isinstance(col.type, sa.String) else sa.cast(col, sa.String)
    if literal or regexp.compile_pattern(pattern) is None:
        return text == pattern
    # SQLite calls regexp.sqlite_regexp (engines.py); the others their own engine
    return text.regexp_match(pattern)


def _filters(q: sa.Select, filters: dict[str, Any], literal: bool = False) -> sa.Select:
    c = instances.c
    f = dict(filters)
    deleted = f.pop('deleted', False)
    # The server list's `soft_deleted` (None: SOFT_DELETED servers count as live):
    # with deleted, also SOFT_DELETED ones; without, none of them (Nova's query).
    soft_deleted = f.pop('soft_deleted', None)
    if 'changes-since' in f or 'changes-before' in f:
        if 'changes-since' in f:
            q = q.where(c.updated_at >= utils.parse_time(f.pop('changes-since')))
        if 'changes-before' in f:
            q = q.where(c.updated_at <= utils.parse_time(f.pop('changes-before')))
    elif deleted and soft_deleted:
        q = q.where(sa.or_(c.deleted != 0, c.vm_state == states.SOFT_DELETED))
    elif deleted is not None:
        q = q.where(c.deleted != 0 if deleted else c.deleted == 0)
        if not deleted and soft_deleted is False:
            q = q.where(sa.or_(c.vm_state.is_(None), c.vm_state != states.SOFT_DELETED))
    if 'name' in f:
        f.setdefault('regex', {})['display_name'] = f.pop('name')
    for column, pattern in (f.pop('regex', None) or {}).items():
        if column in REGEX_COLUMNS:
            q = q.where(_regex(column, str(pattern), literal))
    for name in TAG_FILTERS:
        if f.get(name):
            q = q.where(_tag_filter(name, list(f.pop(name))))
    if 'flavor' in f:
        flavorid = str(f.pop('flavor'))
        q = q.where(c.flavor.like('%"flavorid": ' + utils.json_dumps(flavorid) + '%'))
    if 'ip' in f or 'ip6' in f:
        for key in ('ip', 'ip6'):
            if key in f:
                q = q.where(c.network_info.like('%' + f.pop(key) + '%'))
    for key, value in f.items():
        col = EXACT_FILTERS.get(key)
        if col is None:
            continue
        if isinstance(value, list | tuple | set):
            q = q.where(c[col].in_(list(value)))
        else:
            q = q.where(c[col] == value)
    return q


@engines.retry_on_disconnect
def get_all(url: str, filters: dict[str, Any], limit: int | None = None,
            sort_keys: list[str] | None = None, sort_dirs: list[str] | None = None,
            marker: Mapping[str, Any] | None = None, with_fault: bool = False,
            columns: list[str] | None = None) -> list[Instance]:
    """Instances matching Nova-style list filters, sorted and paged."""
    sort_keys = sort_keys or ['created_at']
    sort_dirs = sort_dirs or ['desc'] * len(sort_keys)
    cols = [instances.c[n] for n in columns] if columns else [instances]

    def query(literal: bool = False) -> sa.Select:
        q = _filters(sa.select(*cols), filters, literal)
        return paging.paginate(q, instances, limit, sort_keys, sort_dirs, marker)

    with engines.reader(url) as conn:
        try:
            rows = conn.execute(query()).mappings().all()
        except sa.exc.DBAPIError as e:
            if not (filters.get('name') or filters.get('regex')) \
                    or not regexp.is_regexp_error(e):
                raise
            # The database refused a pattern RE2 took: match the text literally.
            conn.rollback()
            rows = conn.execute(query(literal=True)).mappings().all()
        result = [decode(r) for r in rows]
        if with_fault:
            faults = _faults(conn, [i['uuid'] for i in result if i.get('vm_state') == 'error'])
            for inst in result:
                inst['fault'] = faults.get(inst['uuid'])
    return result


@engines.retry_on_disconnect
def count_by_project(url: str, project_id: str,
                     exclude: list[str] | None = None) -> dict[str, int]:
    """Live servers, vCPUs and RAM of a project, leaving out `exclude` uuids.

    Soft-deleted servers are not counted, as in Nova's quota count (a restore
    checks the quota again)."""
    counted = (instances.c.project_id == project_id, instances.c.deleted == 0,
               sa.or_(instances.c.vm_state.is_(None),
                      instances.c.vm_state != states.SOFT_DELETED))
    # Read from the index alone (008_listing_index): the project's servers.
    whole = sa.select(sa.func.count(instances.c.id), sa.func.sum(instances.c.vcpus),
                      sa.func.sum(instances.c.memory_mb)).where(*counted)
    if not exclude:
        with engines.reader(url) as conn:
            n, cores, ram = conn.execute(whole).one()
        return {'instances': n or 0, 'cores': int(cores or 0), 'ram': int(ram or 0)}
    # `uuid NOT IN (...)` in the count made it read every row of the project
    # (uuid is not in that index): 30 ms at 10,000 servers, twice per boot
    # whenever other boots were pending. The excluded servers are counted
    # apart, found by uuid, and taken off, in the same statement (one snapshot).
    match = sa.and_(*counted)
    part = sa.select(*(sa.func.sum(sa.case((match, v), else_=0)).label(label)
                       for v, label in ((1, 'n'), (instances.c.vcpus, 'c'),
                                        (instances.c.memory_mb, 'r')))
                     ).where(instances.c.uuid.in_(exclude)).subquery()
    total = whole.subquery()
    both = sa.select(*total.c, *part.c).select_from(total.join(part, sa.true()))
    with engines.reader(url) as conn:
        n, cores, ram, xn, xcores, xram = conn.execute(both).one()
    # (int(): MySQL sums as DECIMAL)
    return {'instances': int(n or 0) - int(xn or 0),
            'cores': int(cores or 0) - int(xcores or 0),
            'ram': int(ram or 0) - int(xram or 0)}


@engines.retry_on_disconnect
def fault_create(url: str, instance_uuid: str, code: int, message: str,
                 details: str | None = None, host: str | None = None) -> None:
    with engines.writer(url) as conn:
        conn.execute(instance_faults.insert().values(
            instance_uuid=instance_uuid, code=code, message=(message or '')[:255],
            details=details, host=host, created_at=utils.utcnow()))


class UsageMarkerNotFound(exception.Invalid):
    msg_fmt = 'Marker %(marker)s could not be found.'


@engines.retry_on_disconnect
def get_active_by_window(url: str, begin: Any, end: Any, project_id: str | None = None,
                         limit: int | None = None, marker: str | None = None
                         ) -> list[Instance]:
    """Instances (deleted ones too) launched before `end` and not terminated
    before `begin`, by project then uuid (Nova's order for usage reports).
    UsageMarkerNotFound when `marker` is not an instance of this cell."""
    c = instances.c
    q = sa.select(instances).where(sa.or_(c.terminated_at.is_(None), c.terminated_at > begin))
    if end is not None:
        q = q.where(c.launched_at < end)
    if project_id:
        q = q.where(c.project_id == project_id)
    marker_row = None
    with engines.reader(url) as conn:
        if marker is not None:
            marker_row = conn.execute(sa.select(c.project_id, c.uuid).where(
                c.uuid == marker)).mappings().first()
            if marker_row is None:
                raise UsageMarkerNotFound(marker=marker)
        q = paging.paginate(q, instances, limit, ['project_id', 'uuid'], ['asc', 'asc'],
                            dict(marker_row) if marker_row else None)
        return [decode(r) for r in conn.execute(q).mappings()]
