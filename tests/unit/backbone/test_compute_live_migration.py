"""A compute host that restarts under its live migrations (issue 18): each is
rolled back, as Nova's init_host resets them, with placement left exact."""
from __future__ import annotations

from typing import Any

import pytest

from minova import states
from minova.db import instances as inst_db
from minova.db import server_migrations
from tests.unit.backbone.test_compute import RES, Env


@pytest.fixture
def env(dbs: Any, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(dbs, monkeypatch)


def _interrupted(env: Env, ctx: Any, status: str, on: str = 'host1'
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A server live migrating host1 -> host2 whose host1 stopped mid-way."""
    inst = env.scheduled(ctx)
    uuid = inst['uuid']
    inst_db.update(env.dbs.cell, uuid, {'vm_state': states.ACTIVE,
                                        'task_state': states.MIGRATING, 'host': on,
                                        'node': on, 'power_state': states.RUNNING})
    migration = server_migrations.create(env.dbs.cell, {
        'instance_uuid': uuid, 'migration_type': 'live-migration', 'status': status,
        'source_compute': 'host1', 'source_node': 'host1', 'dest_compute': 'host2',
        'dest_node': 'host2'})
    h1, h2 = env.nodes['host1']['uuid'], env.nodes['host2']['uuid']
    env.placement.allocations[migration['uuid']] = {h1: dict(RES)}
    env.placement.allocations[uuid] = {h2: dict(RES)}
    if on == 'host2':   # the destination took it: the server holds host2 only
        inst_db.update(env.dbs.cell, uuid, {'task_state': None})
    return inst, migration


def test_restart_rolls_back_a_running_live_migration(env: Env, ctx: Any) -> None:
    inst, migration = _interrupted(env, ctx, 'running')
    rolled: list[tuple[Any, ...]] = []
    env.computes.rollback_live_migration_at_destination = (  # type: ignore[attr-defined]
        lambda *args, **kw: rolled.append(args))
    env.start()
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['host']) == ('active', None, 'host1')
    assert server_migrations.get_by_uuid(env.dbs.cell, migration['uuid'])['status'] == \
        'error'
    assert env.placement.allocations[inst['uuid']] == {env.nodes['host1']['uuid']: RES}
    assert migration['uuid'] not in env.placement.allocations
    assert [args[1] for args in rolled] == ['host2']


def test_restart_after_the_destination_took_it_drops_the_migration_only(
        env: Env, ctx: Any) -> None:
    inst, migration = _interrupted(env, ctx, 'running', on='host2')
    env.start()
    got = env.get(inst['uuid'])
    assert (got['task_state'], got['host']) == (None, 'host2')
    assert env.placement.allocations[inst['uuid']] == {env.nodes['host2']['uuid']: RES}
    assert migration['uuid'] not in env.placement.allocations


def test_restart_leaves_finished_live_migrations_alone(env: Env, ctx: Any) -> None:
    inst, migration = _interrupted(env, ctx, 'completed', on='host2')
    env.start()
    assert server_migrations.get_by_uuid(env.dbs.cell, migration['uuid'])['status'] == \
        'completed'
    assert migration['uuid'] in env.placement.allocations   # not this check's to drop
