"""Evacuation between two compute hosts (issue 18): conductor's evacuate_server
(a forced host, and one it cannot have), the destination's rebuild and the
old host's clean-up at its start, over the real conductor DB proxy, the fake
driver and fake placement."""
from __future__ import annotations

from typing import Any

from minova import states
from minova.db import actions, server_migrations
from minova.db import instances as inst_db
from tests.unit.backbone import test_compute_resize
from tests.unit.backbone.test_compute import RES, Env

# Two hosts and a server built on host1 (a fixture of the resize tests).
two = test_compute_resize.two


def _start(env: Env, ctx: Any, inst: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the compute API does before it casts to conductor."""
    uuid = inst['uuid']
    actions.action_start(env.dbs.cell, uuid, 'evacuate', ctx.request_id, 'admin', 'admin')
    got = inst_db.update(env.dbs.cell, uuid, {'task_state': states.REBUILDING}, [None])
    migration = server_migrations.create(env.dbs.cell, {
        'instance_uuid': uuid, 'migration_type': 'evacuation', 'status': 'accepted',
        'source_compute': 'host1', 'source_node': 'host1', 'dest_compute': 'host2'})
    return got, migration


def _status(env: Env, migration: dict[str, Any]) -> str:
    return str(server_migrations.get_by_uuid(env.dbs.cell, migration['uuid'])['status'])


def test_forced_evacuation_then_the_old_host_cleans_up(two: Any, ctx: Any) -> None:
    env, dispatch, inst = two
    uuid = inst['uuid']
    h1, h2 = env.nodes['host1']['uuid'], env.nodes['host2']['uuid']
    other = env.scheduled(ctx)   # a second server on host1, never evacuated
    dispatch.managers['host1'].build_and_run_instance(ctx, other, {}, 'host1',
                                                      env.areq('host1'), [])
    got, migration = _start(env, ctx, inst)
    env.conductor.evacuate_server(ctx, got, migration, host='host2', force=True)
    dispatch.run()
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['host'], got['node']) == \
        ('active', None, 'host2', 'host2')
    assert _status(env, migration) == 'done'
    assert env.placement.allocations[uuid] == {h1: RES, h2: RES}
    assert uuid in dispatch.managers['host2'].driver.list_instance_uuids()
    events = {e['event']: e['result'] for e in actions.events_get(
        env.dbs.cell, actions.action_get_by_request_id(env.dbs.cell, uuid,
                                                       ctx.request_id)['id'])}
    assert events == {'rebuild_server': 'Success', 'compute_rebuild_instance': 'Success'}

    # host1 starts again: the evacuated server's guest and allocation there go.
    old = dispatch.managers['host1']
    assert {uuid, other['uuid']} <= set(old.driver.list_instance_uuids())
    old.init_host(env.service)
    assert old.driver.list_instance_uuids() == [other['uuid']]
    assert env.placement.allocations[uuid] == {h2: RES}
    assert env.placement.allocations[other['uuid']] == {h1: RES}
    assert _status(env, migration) == 'completed'
    assert env.get(other['uuid'])['vm_state'] == 'active'
    # Completed: a later start has nothing more to do.
    old.init_host(env.service)
    assert old.driver.list_instance_uuids() == [other['uuid']]


def test_a_forced_host_without_room_leaves_the_vm_state(two: Any, ctx: Any) -> None:
    env, dispatch, inst = two
    env.placement.refuse.add(env.nodes['host2']['uuid'])
    got, migration = _start(env, ctx, inst)
    env.conductor.evacuate_server(ctx, got, migration, host='host2', force=True)
    assert dispatch.queue == []
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['host']) == ('active', None, 'host1')
    assert 'not enough capacity on the host' in got['fault']['message']
    assert _status(env, migration) == 'error'
    assert env.placement.allocations[inst['uuid']] == {env.nodes['host1']['uuid']: RES}
    assert env.event(ctx, inst['uuid'], 'rebuild_server')['result'] == 'Error'
    # An evacuation that never happened is nothing for the old host to clean.
    old = dispatch.managers['host1']
    old.init_host(env.service)
    assert inst['uuid'] in old.driver.list_instance_uuids()
    assert _status(env, migration) == 'error'


def test_target_state_stops_the_server_unless_it_was_in_error(two: Any, ctx: Any) -> None:
    env, dispatch, inst = two
    got, migration = _start(env, ctx, inst)
    env.conductor.evacuate_server(ctx, got, migration, host='host2', force=True,
                                  target_state=states.STOPPED)
    dispatch.run()
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['power_state']) == ('stopped', states.SHUTDOWN)

    # Evacuated back from ERROR (host2 dead now): ACTIVE, as Nova.
    inst_db.update(env.dbs.cell, inst['uuid'], {'vm_state': states.ERROR})
    dispatch.managers['host1'].init_host(env.service)   # host1 is back, and cleans up
    got, migration = _start(env, ctx, env.get(inst['uuid']))
    server_migrations.update(env.dbs.cell, migration['uuid'], {
        'source_compute': 'host2', 'source_node': 'host2', 'dest_compute': 'host1'})
    env.conductor.evacuate_server(ctx, got, migration, host='host1', force=True,
                                  target_state=states.STOPPED)
    dispatch.run()
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['host'], got['power_state']) == \
        ('active', 'host1', states.RUNNING)
