"""Resize between two compute hosts (issue 18): conductor's migrate task and
the compute steps over the real conductor DB proxy, the fake driver and fake
placement, with the migration record and the allocations checked per step."""
from __future__ import annotations

import json
from typing import Any

import pytest

from minova import exception, states
from minova.compute import manager as compute_manager
from minova.db import actions, server_migrations, services
from tests.unit.backbone.test_compute import RES, Env, build

NEW = {'flavorid': 'big', 'name': 'big', 'vcpus': 2, 'memory_mb': 1024, 'root_gb': 2,
       'ephemeral_gb': 0, 'swap': 0, 'extra_specs': {}}
NEW_RES = {'VCPU': 2, 'MEMORY_MB': 1024, 'DISK_GB': 2}


class Dispatch:
    """Compute casts queued, then delivered in order to the manager of the
    host named (run()), each after its sender returned, as over a bus."""

    def __init__(self) -> None:
        self.managers: dict[str, compute_manager.ComputeManager] = {}
        self.queue: list[tuple[str, str, Any, tuple, dict]] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith('_'):
            raise AttributeError(name)

        def cast(ctx: Any, host: str, *args: Any, **kw: Any) -> None:
            self.queue.append((name, host, ctx, args, kw))
        return cast

    def run(self) -> None:
        while self.queue:
            name, host, ctx, args, kw = self.queue.pop(0)
            getattr(self.managers[host], name)(ctx, *args, **kw)


class Scheduler:
    def __init__(self, env: Env, host: str | None) -> None:
        self.env, self.host, self.specs = env, host, []

    def select_destinations(self, ctx: Any, spec: dict[str, Any], uuids: list[str],
                            return_alternates: bool = True) -> list[list[dict[str, Any]]]:
        self.specs.append(spec)
        if self.host is None or self.host in (spec.get('ignore_hosts') or []):
            raise exception.NoValidHost(reason='')
        rp = self.env.nodes[self.host]['uuid']
        assert self.env.placement.claim_resources(
            ctx, uuids[0], {'allocations': {rp: {'resources': dict(NEW_RES)}}}, 'p', 'u')
        return [[dict(self.env.alternate(self.host))]]


@pytest.fixture
def two(dbs: Any, monkeypatch: pytest.MonkeyPatch, ctx: Any) -> Any:
    env = Env(dbs, monkeypatch)
    dispatch = Dispatch()
    monkeypatch.setattr(compute_manager.compute_rpcapi, 'for_cell', lambda cell: dispatch)
    from minova.conductor import manager as conductor_manager
    monkeypatch.setattr(conductor_manager.compute_rpcapi, 'for_cell', lambda cell: dispatch)
    for host in ('host1', 'host2'):
        mgr = compute_manager.ComputeManager(host=host)
        mgr.init_host(services.get_or_create(dbs.cell, host, 'minova-compute'))
        dispatch.managers[host] = mgr
    inst = env.scheduled(ctx)
    build(dispatch.managers['host1'], env, ctx, inst)
    return env, dispatch, env.get(inst['uuid'])


def _start_resize(env: Env, ctx: Any, inst: dict[str, Any], vm_state: str = 'active'
                  ) -> dict[str, Any]:
    """What the compute API does before it casts to conductor."""
    from minova.db import instances as inst_db
    sysmeta = dict(inst.get('system_metadata') or {}, old_flavor=json.dumps(inst['flavor']),
                   new_flavor=json.dumps(NEW), old_vm_state=vm_state)
    actions.action_start(env.dbs.cell, inst['uuid'], 'resize', ctx.request_id, 'user1',
                         'proj1')
    return inst_db.update(env.dbs.cell, inst['uuid'], {
        'task_state': states.RESIZE_PREP, 'system_metadata': sysmeta}, [None])


def _migration(env: Env, uuid: str) -> dict[str, Any]:
    [m] = server_migrations.get_all(env.dbs.cell, {'instance_uuid': uuid})
    return m


def _resized(two: Any, ctx: Any) -> tuple[Env, Dispatch, dict[str, Any], dict[str, Any]]:
    env, dispatch, inst = two
    env.conductor.scheduler = Scheduler(env, 'host2')
    env.conductor.migrate_server(ctx, _start_resize(env, ctx, inst), NEW)
    dispatch.run()
    got = env.get(inst['uuid'])
    migration = _migration(env, inst['uuid'])
    return env, dispatch, got, migration


def test_resize_then_confirm_moves_the_server_and_its_allocations(two: Any, ctx: Any
                                                                  ) -> None:
    env, dispatch, got, migration = _resized(two, ctx)
    uuid = got['uuid']
    assert env.conductor.scheduler.specs[0]['ignore_hosts'] == ['host1']
    assert (got['vm_state'], got['task_state'], got['host']) == ('resized', None, 'host2')
    assert states.status_from_state(got['vm_state'], got['task_state']) == 'VERIFY_RESIZE'
    assert got['flavor']['flavorid'] == 'big' and got['vcpus'] == 2
    assert (migration['status'], migration['migration_type']) == ('finished', 'resize')
    assert (migration['source_compute'], migration['dest_compute']) == ('host1', 'host2')
    h1, h2 = env.nodes['host1']['uuid'], env.nodes['host2']['uuid']
    # Migration-based allocations: the old flavor on the source, held by the migration.
    assert env.placement.allocations[migration['uuid']] == {h1: RES}
    assert env.placement.allocations[uuid] == {h2: NEW_RES}
    assert uuid in dispatch.managers['host1'].driver._migrated
    assert dispatch.managers['host2'].driver.get_info(got)['state'] == states.RUNNING
    events = {e['event']: e['result'] for e in actions.events_get(
        env.dbs.cell, actions.action_get_by_request_id(env.dbs.cell, uuid,
                                                       ctx.request_id)['id'])}
    assert events == dict.fromkeys(
        ('conductor_migrate_server', 'compute_prep_resize', 'compute_resize_instance',
         'compute_finish_resize'), 'Success')

    dispatch.managers['host1'].confirm_resize(ctx, got, migration)
    dispatch.run()
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['host']) == ('active', None, 'host2')
    assert 'old_flavor' not in (got['system_metadata'] or {})
    assert _migration(env, uuid)['status'] == 'confirmed'
    assert migration['uuid'] not in env.placement.allocations
    assert env.placement.allocations[uuid] == {h2: NEW_RES}
    assert uuid not in dispatch.managers['host1'].driver._migrated
    assert uuid not in dispatch.managers['host1'].driver.list_instance_uuids()


def test_revert_puts_the_server_back_on_its_source(two: Any, ctx: Any) -> None:
    env, dispatch, got, migration = _resized(two, ctx)
    uuid = got['uuid']
    from minova.db import instances as inst_db
    got = inst_db.update(env.dbs.cell, uuid, {'task_state': states.RESIZE_REVERTING}, [None])
    dispatch.managers['host2'].revert_resize(ctx, got, migration)
    dispatch.run()
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['host']) == ('active', None, 'host1')
    assert got['flavor']['vcpus'] == 1 and got['vcpus'] == 1
    assert _migration(env, uuid)['status'] == 'reverted'
    assert migration['uuid'] not in env.placement.allocations
    assert env.placement.allocations[uuid] == {env.nodes['host1']['uuid']: RES}
    assert uuid not in dispatch.managers['host2'].driver.list_instance_uuids()
    assert dispatch.managers['host1'].driver.get_info(got)['state'] == states.RUNNING


def test_no_destination_leaves_the_server_as_it_was(two: Any, ctx: Any) -> None:
    env, dispatch, inst = two
    env.conductor.scheduler = Scheduler(env, None)
    env.conductor.migrate_server(ctx, _start_resize(env, ctx, inst), NEW)
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['host']) == ('active', None, 'host1')
    assert got['fault'] is not None and 'No valid host' in got['fault']['message']
    migration = _migration(env, inst['uuid'])
    assert migration['status'] == 'error'
    assert env.placement.allocations[inst['uuid']] == {env.nodes['host1']['uuid']: RES}
    assert migration['uuid'] not in env.placement.allocations


def test_unconfirmed_resizes_are_confirmed_after_the_window(two: Any, ctx: Any,
                                                            monkeypatch: Any) -> None:
    env, dispatch, got, migration = _resized(two, ctx)
    from minova.conf import CONF
    CONF.set_override('resize_confirm_window', 1)
    try:
        dispatch.managers['host2']._poll_unconfirmed_resizes()
        assert _migration(env, got['uuid'])['status'] == 'finished'   # not yet
        from minova import utils
        later = utils.utcnow() + __import__('datetime').timedelta(seconds=5)
        monkeypatch.setattr(utils, 'utcnow', lambda: later)
        dispatch.managers['host2']._poll_unconfirmed_resizes()
        dispatch.run()
    finally:
        CONF.clear_override('resize_confirm_window')
    assert _migration(env, got['uuid'])['status'] == 'confirmed'
    assert env.get(got['uuid'])['vm_state'] == 'active'


def test_the_source_copies_to_the_destinations_address(two: Any, ctx: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """As Nova's claim: the destination's prep_resize writes its my_ip into
    the migration (dest_host), the address the source's driver copies to."""
    from minova.conf import CONF
    env, dispatch, inst = two
    seen: list[str] = []
    source = dispatch.managers['host1'].driver
    real = source.migrate_disk_and_power_off

    def spy(ctx: Any, instance: Any, dest: str, *args: Any) -> None:
        seen.append(dest)
        real(ctx, instance, dest, *args)
    monkeypatch.setattr(source, 'migrate_disk_and_power_off', spy)
    env.conductor.scheduler = Scheduler(env, 'host2')
    CONF.set_override('my_ip', '10.0.0.2')   # both hosts' in this process
    try:
        env.conductor.migrate_server(ctx, _start_resize(env, ctx, inst), NEW)
        dispatch.run()
    finally:
        CONF.clear_override('my_ip')
    assert seen == ['10.0.0.2']
    assert _migration(env, inst['uuid'])['dest_host'] == '10.0.0.2'
