"""Build requests and request specs: a server between POST and its cell row."""
from __future__ import annotations

from typing import Any, TypedDict

import sqlalchemy as sa

from minova import utils
from minova.db import engines
from minova.db.api_tables import build_requests, instance_mappings, request_specs
from minova.db.flavors import Flavor
from minova.db.instances import Instance


class ImageRequest(TypedDict, total=False):
    """The image a server boots from, as the scheduler matches it."""
    id: str | None
    properties: dict[str, Any]      # hw_*, img_* and trait:* image properties


class GroupRequest(TypedDict, total=False):
    """The server group a server joins (scheduler hint "group"): its uuid.
    The scheduler adds, for the request it is placing, the group's policy,
    rules and {host: members there} (minova/scheduler/manager.py)."""
    uuid: str
    policy: str
    rules: dict[str, Any]
    hosts: dict[str, int]


class Destination(TypedDict, total=False):
    """A requested host and/or node (2.74): candidates are narrowed to them;
    a move's cell (uuid): it stays in it."""
    host: str | None
    node: str | None
    cell_uuid: str | None   # a move stays in its server's cell, as Nova's


class RequestSpec(TypedDict, total=False):
    """What the scheduler needs to place a server, kept from POST until the
    server is gone (the request_specs table, as JSON; sent over RPC to
    scheduler and compute as is)."""
    instance_uuid: str
    flavor: Flavor
    image: ImageRequest
    availability_zone: str | None
    instance_group: GroupRequest | None
    project_id: str
    user_id: str
    num_instances: int
    scheduler_hints: dict[str, Any]
    requested_networks: Any         # 'none', 'auto', None or [RequestedNetwork] (network/api.py)
    security_groups: list[str]      # names (or ids) asked for at boot
    force_hosts: list[str]          # an admin's az:host[:node]: the filters are skipped
    ignore_hosts: list[str]         # a move's source host (no same-host resize)
    force_nodes: list[str]
    requested_destination: Destination | None
    # An evacuation: the server keeps its source allocation, the claim adds to it.
    keep_allocations: bool
    # Volumes (issue 21): the boot's block device mappings, and whether the root is one.
    block_device_mapping: list[dict[str, Any]]
    is_bfv: bool


def create(instances: list[Instance], specs: list[RequestSpec]) -> None:
    """Write build request, request spec and instance mapping per server, atomically."""
    now = utils.utcnow()
    with engines.writer(engines.api_url()) as conn:
        for inst, spec in zip(instances, specs, strict=True):
            conn.execute(build_requests.insert().values(
                instance_uuid=inst['uuid'], project_id=inst['project_id'],
                user_id=inst['user_id'], instance=utils.json_dumps(inst), created_at=now))
            conn.execute(request_specs.insert().values(
                instance_uuid=inst['uuid'], spec=utils.json_dumps(spec), created_at=now))
            # Its instance mapping (no cell yet), in the same transaction.
            conn.execute(instance_mappings.insert().values(
                instance_uuid=inst['uuid'], project_id=inst['project_id'],
                user_id=inst['user_id'], cell_id=None, queued_for_delete=False,
                created_at=now))


def _decode(row: Any) -> Instance:
    inst: Instance = utils.json_loads(row['instance'])
    inst['created_at'] = utils.parse_time(inst.get('created_at'))
    inst['updated_at'] = utils.parse_time(inst.get('updated_at'))
    return inst


# Built once: read by every GET of a server that is still being scheduled.
_GET = sa.select(build_requests.c.instance).where(
    build_requests.c.instance_uuid == sa.bindparam('uuid'))


def get(instance_uuid: str) -> Instance | None:
    """The would-be instance of a build request, or None once it is gone."""
    with engines.reader(engines.api_url()) as conn:
        row = conn.execute(_GET, {'uuid': instance_uuid}).mappings().first()
    return _decode(row) if row else None


def get_many_with_specs(instance_uuids: list[str]
                        ) -> dict[str, tuple[Instance, RequestSpec]]:
    """{uuid: (would-be instance, request spec)} of the servers that have both."""
    q = (sa.select(build_requests.c.instance, request_specs.c.spec)
         .join(request_specs, request_specs.c.instance_uuid == build_requests.c.instance_uuid)
         .where(build_requests.c.instance_uuid.in_(instance_uuids)))
    with engines.reader(engines.api_url()) as conn:
        rows = conn.execute(q).mappings().all()
    out: dict[str, tuple[Instance, RequestSpec]] = {}
    for row in rows:
        inst = _decode(row)
        out[inst['uuid']] = (inst, utils.json_loads(row['spec']))
    return out


def get_all(project_id: str | None = None) -> list[Instance]:
    q = sa.select(build_requests.c.instance)
    if project_id is not None:
        q = q.where(build_requests.c.project_id == project_id)
    with engines.reader(engines.api_url()) as conn:
        return [_decode(r) for r in conn.execute(q).mappings()]


def delete(instance_uuid: str) -> bool:
    """Remove the build request; False if it was already gone (server deleted)."""
    with engines.writer(engines.api_url()) as conn:
        res = conn.execute(build_requests.delete().where(
            build_requests.c.instance_uuid == instance_uuid))
        return res.rowcount > 0


def hand_over(instance_uuid: str, cell_id: int) -> bool:
    """The build request goes and the instance mapping points at its cell, in
    one API DB transaction; False (nothing changed) if the server was deleted
    meanwhile."""
    with engines.writer(engines.api_url()) as conn:
        res = conn.execute(build_requests.delete().where(
            build_requests.c.instance_uuid == instance_uuid))
        if res.rowcount == 0:
            return False
        conn.execute(instance_mappings.update()
                     .where(instance_mappings.c.instance_uuid == instance_uuid)
                     .values(cell_id=cell_id, updated_at=utils.utcnow()))
        return True


def count_by_project(project_id: str) -> tuple[dict[str, int], list[str]]:
    """Servers, vCPUs and RAM not yet in a cell, for quota counting, and the
    uuids they were counted for (a server being handed over to its cell is
    briefly in both; the cell count leaves these out)."""
    totals = {'instances': 0, 'cores': 0, 'ram': 0}
    uuids = []
    for inst in get_all(project_id):
        totals['instances'] += 1
        totals['cores'] += inst.get('vcpus') or 0
        totals['ram'] += inst.get('memory_mb') or 0
        uuids.append(inst['uuid'])
    return totals, uuids


def discard(instance_uuids: list[str]) -> None:
    """Undo create(): build requests, specs and mappings of servers that were
    never accepted (their request went over quota on the recheck)."""
    with engines.writer(engines.api_url()) as conn:
        for table in (build_requests, request_specs, instance_mappings):
            conn.execute(table.delete().where(table.c.instance_uuid.in_(instance_uuids)))


def spec_get_many(instance_uuids: list[str]) -> dict[str, RequestSpec]:
    with engines.reader(engines.api_url()) as conn:
        rows = conn.execute(sa.select(request_specs).where(
            request_specs.c.instance_uuid.in_(instance_uuids))).mappings()
        return {r['instance_uuid']: utils.json_loads(r['spec']) for r in rows}


def spec_update(instance_uuid: str, changes: RequestSpec) -> None:
    with engines.writer(engines.api_url()) as conn:
        row = conn.execute(sa.select(request_specs.c.spec).where(
            request_specs.c.instance_uuid == instance_uuid).with_for_update()).first()
        if row is None:
            return
        spec = utils.json_loads(row[0])
        spec.update(changes)
        conn.execute(request_specs.update()
                     .where(request_specs.c.instance_uuid == instance_uuid)
                     .values(spec=utils.json_dumps(spec), updated_at=utils.utcnow()))


def spec_delete(instance_uuid: str) -> None:
    with engines.writer(engines.api_url()) as conn:
        conn.execute(request_specs.delete().where(
            request_specs.c.instance_uuid == instance_uuid))


def update_instance(instance_uuid: str, changes: dict[str, Any]) -> Instance | None:
    """Change fields of a server that is still a build request (e.g. its name)."""
    with engines.writer(engines.api_url()) as conn:
        row = conn.execute(sa.select(build_requests.c.instance).where(
            build_requests.c.instance_uuid == instance_uuid).with_for_update()
        ).mappings().first()
        if row is None:
            return None
        inst = utils.json_loads(row['instance'])
        inst.update(changes, updated_at=utils.utcnow())
        conn.execute(build_requests.update()
                     .where(build_requests.c.instance_uuid == instance_uuid)
                     .values(instance=utils.json_dumps(inst), updated_at=utils.utcnow()))
    return _decode({'instance': utils.json_dumps(inst)})
