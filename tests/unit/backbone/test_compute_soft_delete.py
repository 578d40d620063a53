"""Soft delete on the compute host: soft_delete_instance / restore_instance
(RPC 1.8) and the periodic reclaim (_reclaim_queued_deletes), over a real
conductor DB proxy, the fake driver and fake placement."""
from __future__ import annotations

import datetime
from typing import Any

import pytest

from minova import states, utils
from minova.compute import rpcapi as compute_rpcapi
from minova.db import instances as inst_db
from minova.db import server_groups
from tests.unit.backbone.fakes import instance_mapping
from tests.unit.backbone.test_compute import Env, build


@pytest.fixture
def env(dbs: Any, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(dbs, monkeypatch)


def _soft_deleted(env: Env, ctx: Any, mgr: Any, ago: float) -> str:
    """A built server soft-deleted `ago` seconds ago."""
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    uuid = inst['uuid']
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.SOFT_DELETING})
    mgr.soft_delete_instance(ctx, env.get(uuid))
    deleted_at = utils.utcnow() - datetime.timedelta(seconds=ago)
    inst_db.update(env.dbs.cell, uuid, {'deleted_at': deleted_at})
    return uuid


def test_rpc_version_has_soft_delete() -> None:
    """The client may send 1.8 (soft delete, restore) and the manager takes it."""
    from minova.compute import manager as compute_manager

    def parse(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split('.'))
    assert parse(compute_rpcapi.VERSION) >= (1, 8)
    assert compute_manager.ComputeManager.target.version == compute_rpcapi.VERSION


def test_soft_delete_powers_off_and_keeps_allocations(env: Env, ctx: Any) -> None:
    mgr = env.start()
    uuid = _soft_deleted(env, ctx, mgr, 0)
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        (states.SOFT_DELETED, None, states.SHUTDOWN)
    assert states.status_from_state(got['vm_state'], got['task_state']) == 'SOFT_DELETED'
    assert uuid in mgr.driver.list_instance_uuids()
    assert uuid in env.placement.allocations
    assert env.event(ctx, uuid, 'compute_soft_delete_instance')['result'] == 'Success'


def test_restore_powers_on(env: Env, ctx: Any) -> None:
    mgr = env.start()
    uuid = _soft_deleted(env, ctx, mgr, 0)
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.RESTORING, 'deleted_at': None})
    mgr.restore_instance(ctx, env.get(uuid))
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        (states.ACTIVE, None, states.RUNNING)
    assert mgr.driver.get_info(got)['state'] == states.RUNNING


def test_soft_deleted_servers_are_left_out_of_the_quota_count(env: Env, ctx: Any) -> None:
    mgr = env.start()
    uuid = _soft_deleted(env, ctx, mgr, 0)
    project = env.get(uuid)['project_id']
    assert inst_db.count_by_project(env.dbs.cell, project)['instances'] == 0
    inst_db.update(env.dbs.cell, uuid, {'vm_state': states.ACTIVE})
    assert inst_db.count_by_project(env.dbs.cell, project)['instances'] == 1


def test_reclaim_deletes_only_those_older_than_the_interval(env: Env, ctx: Any,
                                                            flags: Any) -> None:
    flags('reclaim_instance_interval', 60)
    mgr = env.start()
    old = _soft_deleted(env, ctx, mgr, 120)
    young = _soft_deleted(env, ctx, mgr, 10)
    active = env.scheduled(ctx)
    build(mgr, env, ctx, active)
    mgr._reclaim_queued_deletes()
    got = env.get(old, read_deleted=True)
    assert got['vm_state'] == states.DELETED and got['deleted'] != 0
    assert old not in mgr.driver.list_instance_uuids()
    assert old not in env.placement.allocations
    assert instance_mapping(old)['queued_for_delete']
    for uuid in (young, active['uuid']):
        assert env.get(uuid)['deleted'] == 0
        assert uuid in env.placement.allocations
    assert env.get(young)['vm_state'] == states.SOFT_DELETED


def test_reclaim_skips_a_server_being_restored_and_is_off_without_interval(
        env: Env, ctx: Any, flags: Any) -> None:
    mgr = env.start()
    uuid = _soft_deleted(env, ctx, mgr, 120)
    mgr._reclaim_queued_deletes()    # interval 0: soft delete is off
    assert env.get(uuid)['deleted'] == 0
    flags('reclaim_instance_interval', 60)
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.RESTORING})
    mgr._reclaim_queued_deletes()
    assert env.get(uuid)['deleted'] == 0


def test_reclaim_is_a_periodic_task_only_with_an_interval(env: Env, flags: Any) -> None:
    mgr = env.start()
    assert 'reclaim_queued_deletes' not in [t.name for t in mgr.periodic_tasks()]
    flags('reclaim_instance_interval', 5)
    tasks = {t.name: t for t in mgr.periodic_tasks()}
    assert tasks['reclaim_queued_deletes'].interval == 5


def test_reclaimed_server_leaves_its_group(env: Env, ctx: Any, flags: Any) -> None:
    flags('reclaim_instance_interval', 60)
    mgr = env.start()
    uuid = _soft_deleted(env, ctx, mgr, 120)
    group = server_groups.create('g', 'proj1', 'user1', 'anti-affinity')
    server_groups.add_members(group['uuid'], [uuid])
    mgr._reclaim_queued_deletes()
    assert uuid not in server_groups.get(group['uuid'])['members']


def test_api_state_checks_without_a_database() -> None:
    """restore only from SOFT_DELETED; force_delete from any vm_state with no
    task state; a locked server refuses non-admins (Nova's checks and messages)."""
    from minova import exception
    from minova.compute import api as compute_api
    from minova.context import RequestContext
    api = compute_api.API()
    user = RequestContext(user_id='u', project_id='p', roles=['member'])
    busy = {'uuid': 'u1', 'cell_uuid': 'c', 'vm_state': 'active',
            'task_state': states.POWERING_OFF}
    with pytest.raises(exception.InstanceInvalidState) as e:
        api.force_delete(user, busy)
    assert str(e.value) == "Cannot 'force_delete' instance u1 while it is in task_state " \
        'powering-off'
    with pytest.raises(exception.InstanceInvalidState) as e:
        api.restore(user, dict(busy, task_state=None))
    assert str(e.value) == "Cannot 'restore' instance u1 while it is in vm_state active"
    locked = dict(busy, vm_state=states.SOFT_DELETED, task_state=None, locked=True)
    for method in (api.restore, api.force_delete, api.soft_delete):
        with pytest.raises(exception.InstanceIsLocked):
            method(user, locked)
    with pytest.raises(exception.InstanceInvalidState):
        api.soft_delete(user, dict(locked, locked=False, launched_at=None))


def test_restart_finishes_interrupted_soft_delete_and_restore(env: Env, ctx: Any) -> None:
    mgr = env.start()
    deleting = env.scheduled(ctx)
    build(mgr, env, ctx, deleting)
    restoring = _soft_deleted(env, ctx, mgr, 0)
    inst_db.update(env.dbs.cell, deleting['uuid'], {'task_state': states.SOFT_DELETING})
    inst_db.update(env.dbs.cell, restoring, {'task_state': states.RESTORING})
    mgr._reconcile(ctx)
    got = env.get(deleting['uuid'])
    assert (got['vm_state'], got['task_state']) == (states.SOFT_DELETED, None)
    got = env.get(restoring)
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        (states.ACTIVE, None, states.RUNNING)
