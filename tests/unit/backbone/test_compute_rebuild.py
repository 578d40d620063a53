"""The compute manager's rebuild (rpc 1.5) over a real conductor DB proxy and the
fake driver: task states, the outcome from ACTIVE, STOPPED and ERROR, failures;
and the rebuild request schemas per microversion."""
from __future__ import annotations

from typing import Any

import pytest

from minova import states
from minova.api import validation
from minova.api.schemas import servers as schema
from minova.db import instances as inst_db
from tests.unit.backbone.test_compute import Env, _watch_task_states, build
from tests.unit.backbone.test_compute import env as env  # noqa: F401 - the fixture

NEW_IMAGE = '0b4d2b7e-6a6c-4f3f-9b3e-5a5d0f0c0a01'


def _rebuild(mgr: Any, env: Env, ctx: Any, uuid: str) -> dict[str, Any]:
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.REBUILDING,
                                        'image_ref': NEW_IMAGE})
    mgr.rebuild_instance(ctx, env.get(uuid), {'id': NEW_IMAGE}, False)
    return env.get(uuid)


def test_rebuild_walks_nova_task_states_and_ends_active(
        env: Env, ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    uuid = inst['uuid']
    seen = _watch_task_states(env, monkeypatch, uuid)
    got = _rebuild(mgr, env, ctx, uuid)
    assert seen == [states.REBUILDING, states.REBUILD_BLOCK_DEVICE_MAPPING,
                    states.REBUILD_SPAWNING, None]
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('active', None, states.RUNNING)
    guest = mgr.driver._guests[uuid]   # type: ignore[attr-defined]
    assert guest['image_ref'] == NEW_IMAGE and guest['rebuilds'] == 1
    assert env.event(ctx, uuid, 'compute_rebuild_instance')['result'] == 'Success'
    # placement untouched: the same flavor, the same allocation
    assert env.placement.allocations[uuid]


@pytest.mark.parametrize('vm_state, power, ends, ends_power', [
    ('stopped', states.SHUTDOWN, 'stopped', states.SHUTDOWN),
    ('error', states.RUNNING, 'active', states.RUNNING),
])
def test_rebuild_from_stopped_and_error(env: Env, ctx: Any, vm_state: str, power: int,
                                       ends: str, ends_power: int) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    uuid = inst['uuid']
    if vm_state == 'stopped':
        mgr.driver.power_off(inst)
    inst_db.update(env.dbs.cell, uuid, {'vm_state': vm_state, 'power_state': power})
    got = _rebuild(mgr, env, ctx, uuid)
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        (ends, None, ends_power)
    assert mgr.driver.get_info(inst)['state'] == ends_power


def test_rebuild_failure_is_error_with_fault(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)

    def broken(*args: Any, **kw: Any) -> None:
        raise RuntimeError('disk on fire')
    mgr.driver.rebuild = broken   # type: ignore[method-assign]
    got = _rebuild(mgr, env, ctx, inst['uuid'])
    assert (got['vm_state'], got['task_state']) == ('error', None)
    assert got['fault']['message'] == 'disk on fire'
    assert env.event(ctx, inst['uuid'], 'compute_rebuild_instance')['result'] == 'Error'


def test_rebuild_of_a_server_deleted_meanwhile_gives_up(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    uuid = inst['uuid']
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.DELETING})
    mgr.rebuild_instance(ctx, env.get(uuid), {'id': NEW_IMAGE}, False)
    got = env.get(uuid)
    assert got['task_state'] == states.DELETING and got['vm_state'] == 'active'


def test_a_restart_puts_an_interrupted_rebuild_in_error(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.REBUILD_SPAWNING})
    env.start()
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state']) == ('error', None)
    assert 'interrupted' in got['fault']['message']


def test_status_is_rebuild_through_its_task_states() -> None:
    for vm_state in states.ALLOW_REBUILD:
        for task in states.REBUILD_STEPS:
            assert states.status_from_state(vm_state, task) == 'REBUILD'
    assert states.status_from_state('stopped', None) == 'SHUTOFF'


# -- request schemas ----------------------------------------------------------------

def _schema(version: str) -> dict[str, Any]:
    from minova.api import versioned
    found = None
    for since, s in schema.REBUILD_TABLE:
        if versioned.parse(since) <= versioned.parse(version):
            found = s
    assert found is not None
    return found


def _ok(version: str, body: dict[str, Any]) -> bool:
    try:
        validation.validate_body(_schema(version), {'rebuild': body})
    except validation.ValidationError:
        return False
    return True


@pytest.mark.parametrize('version, body, ok', [
    ('2.1', {'imageRef': NEW_IMAGE}, True),
    ('2.1', {}, False),
    ('2.1', {'imageRef': 'not-a-uuid'}, False),
    ('2.1', {'imageRef': NEW_IMAGE, 'name': 'n', 'metadata': {'a': 'b'}, 'adminPass': 'p',
             'preserve_ephemeral': True, 'OS-DCF:diskConfig': 'AUTO',
             'accessIPv4': '10.0.0.1', 'accessIPv6': '::1',
             'personality': [{'path': '/f', 'contents': 'aGk='}]}, True),
    ('2.1', {'imageRef': NEW_IMAGE, 'description': 'd'}, False),
    ('2.19', {'imageRef': NEW_IMAGE, 'description': None}, True),
    ('2.53', {'imageRef': NEW_IMAGE, 'key_name': 'k'}, False),
    ('2.54', {'imageRef': NEW_IMAGE, 'key_name': None}, True),
    ('2.54', {'imageRef': NEW_IMAGE, 'key_name': ''}, False),
    ('2.56', {'imageRef': NEW_IMAGE, 'user_data': 'aGk='}, False),
    ('2.57', {'imageRef': NEW_IMAGE, 'user_data': 'aGk='}, True),
    ('2.57', {'imageRef': NEW_IMAGE, 'user_data': None}, True),
    ('2.57', {'imageRef': NEW_IMAGE, 'personality': []}, False),
    ('2.62', {'imageRef': NEW_IMAGE, 'trusted_image_certificates': None}, False),
    ('2.63', {'imageRef': NEW_IMAGE, 'trusted_image_certificates': None}, True),
    ('2.63', {'imageRef': NEW_IMAGE, 'trusted_image_certificates': []}, False),
    ('2.89', {'imageRef': NEW_IMAGE, 'hostname': 'h1'}, False),
    ('2.90', {'imageRef': NEW_IMAGE, 'hostname': 'h1'}, True),
    ('2.90', {'imageRef': NEW_IMAGE, 'hostname': 'a.b'}, False),
    ('2.94', {'imageRef': NEW_IMAGE, 'hostname': 'a.b'}, True),
    ('2.100', {'imageRef': NEW_IMAGE, 'extra': 1}, False),
])
def test_rebuild_schemas(version: str, body: dict[str, Any], ok: bool) -> None:
    assert _ok(version, body) is ok
