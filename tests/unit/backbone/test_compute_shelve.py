"""Shelve on the compute host (RPC 1.11): shelve_instance with and without the
offload at once, the periodic offload, unshelve_instance, and what a restart
in the middle of each leaves, over a real conductor DB proxy, the fake driver
and fake placement (no image service: uploads and deletes are recorded)."""
from __future__ import annotations

import datetime
from typing import Any

import pytest

from minova import states, utils
from minova.compute import rpcapi as compute_rpcapi
from minova.compute import shelve as compute_shelve
from minova.conductor import rpcapi as conductor_rpcapi
from minova.db import instances as inst_db
from minova.virt import driver as virt_driver
from tests.unit.backbone.test_compute import Env, build


@pytest.fixture
def images(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    done: dict[str, list[str]] = {'uploaded': [], 'deleted': []}
    monkeypatch.setattr(virt_driver, 'upload_snapshot',
                        lambda image_id, path, fmt: done['uploaded'].append(image_id))
    monkeypatch.setattr(compute_shelve.ShelveMixin, '_delete_shelve_image',
                        staticmethod(lambda image_id, uuid: done['deleted'].append(image_id)))
    return done


@pytest.fixture
def env(dbs: Any, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(dbs, monkeypatch)


def _built(env: Env, ctx: Any, mgr: Any) -> str:
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    return str(inst['uuid'])


def _shelve(env: Env, ctx: Any, mgr: Any, uuid: str) -> None:
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.SHELVING})
    mgr.shelve_instance(ctx, env.get(uuid), 'image-1')


def test_rpc_versions_have_shelve() -> None:
    from minova.compute import manager as compute_manager
    from minova.conductor import manager as conductor_manager
    # Shelve came with compute 1.11 and conductor 1.6; each side serves what
    # its client may send.
    def tup(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split('.'))
    assert compute_rpcapi.VERSION == compute_manager.ComputeManager.target.version
    assert tup(compute_rpcapi.VERSION) >= (1, 11)
    assert conductor_rpcapi.VERSION == conductor_manager.ConductorManager.target.version
    assert tup(conductor_rpcapi.VERSION) >= (1, 6)


def test_shelve_offloads_at_once_by_default(env: Env, ctx: Any, images: Any) -> None:
    mgr = env.start()
    uuid = _built(env, ctx, mgr)
    _shelve(env, ctx, mgr, uuid)
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        (states.SHELVED_OFFLOADED, None, states.SHUTDOWN)
    assert (got['host'], got['node']) == (None, None)
    sysmeta = got['system_metadata']
    assert (sysmeta['shelved_image_id'], sysmeta['shelved_host']) == ('image-1', 'host1')
    assert utils.parse_time(sysmeta['shelved_at']) is not None
    assert images['uploaded'] == ['image-1']
    assert uuid not in mgr.driver.list_instance_uuids()
    assert uuid not in env.placement.allocations
    assert env.event(ctx, uuid, 'compute_shelve_instance')['result'] == 'Success'


def test_shelve_kept_then_offloaded_by_the_periodic_task(env: Env, ctx: Any, images: Any,
                                                         flags: Any) -> None:
    flags('shelved_offload_time', 60)
    mgr = env.start()
    uuid = _built(env, ctx, mgr)
    _shelve(env, ctx, mgr, uuid)
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['host']) == (states.SHELVED, None, 'host1')
    assert mgr.driver.get_info(got)['state'] == states.SHUTDOWN
    assert uuid in env.placement.allocations
    mgr._poll_shelved_instances()
    assert env.get(uuid)['vm_state'] == states.SHELVED
    sysmeta = dict(got['system_metadata'])
    sysmeta['shelved_at'] = (utils.utcnow() - datetime.timedelta(seconds=61)).isoformat()
    inst_db.update(env.dbs.cell, uuid, {'system_metadata': sysmeta})
    mgr._poll_shelved_instances()
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['host']) == \
        (states.SHELVED_OFFLOADED, None, None)
    assert uuid not in env.placement.allocations


def test_unshelve_spawns_and_forgets_the_shelve(env: Env, ctx: Any, images: Any) -> None:
    mgr = env.start()
    uuid = _built(env, ctx, mgr)
    _shelve(env, ctx, mgr, uuid)
    env.placement.allocations[uuid] = {env.nodes['host1']['uuid']: {'VCPU': 1}}
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.UNSHELVING})
    mgr.unshelve_instance(ctx, env.get(uuid), {'id': 'image-1', 'status': 'active'}, 'host1')
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['power_state'], got['host']) == \
        (states.ACTIVE, None, states.RUNNING, 'host1')
    assert not {'shelved_at', 'shelved_image_id', 'shelved_host'} & set(got['system_metadata'])
    assert images['deleted'] == ['image-1']
    assert mgr.driver.get_info(got)['state'] == states.RUNNING


def test_restart_finishes_an_offload(env: Env, ctx: Any, images: Any, flags: Any) -> None:
    flags('shelved_offload_time', -1)
    mgr = env.start()
    uuid = _built(env, ctx, mgr)
    _shelve(env, ctx, mgr, uuid)
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.SHELVING_OFFLOADING})
    env.start()
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['host']) == \
        (states.SHELVED_OFFLOADED, None, None)
    assert uuid not in env.placement.allocations


def test_restart_gives_up_an_interrupted_shelve(env: Env, ctx: Any, images: Any) -> None:
    mgr = env.start()
    uuid = _built(env, ctx, mgr)
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.SHELVING_IMAGE_UPLOADING})
    env.start()
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state']) == (states.ACTIVE, None)
    assert 'interrupted' in got['fault']['message']
    assert uuid in env.placement.allocations


def test_restart_undoes_an_interrupted_unshelve(env: Env, ctx: Any, images: Any) -> None:
    mgr = env.start()
    uuid = _built(env, ctx, mgr)
    _shelve(env, ctx, mgr, uuid)
    env.placement.allocations[uuid] = {env.nodes['host1']['uuid']: {'VCPU': 1}}
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.SPAWNING, 'host': 'host1',
                                        'node': 'host1'})
    env.start()
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['host']) == \
        (states.SHELVED_OFFLOADED, None, None)
    assert 'Unshelve of the instance was interrupted' in got['fault']['message']
    assert uuid not in env.placement.allocations
