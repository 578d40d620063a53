"""Compute manager over a real conductor DB proxy, the fake driver and fake placement."""
from __future__ import annotations

from typing import Any

import pytest

from minova import exception, states
from minova.cells import mappings
from minova.compute import manager as compute_manager
from minova.compute import rpcapi as compute_rpcapi
from minova.conductor import manager as conductor_manager
from minova.context import RequestContext
from minova.db import actions, compute_nodes, engines, services
from minova.db import instances as inst_db
from tests.unit.backbone.fakes import (
    FakeComputeAPI,
    FakePlacement,
    add_compute,
    instance_mapping,
    make_instance,
    spec,
)

RES = {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1}


class Env:
    def __init__(self, dbs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.dbs = dbs
        self.placement = FakePlacement()
        monkeypatch.setattr(conductor_manager.scheduler_rpcapi, 'SchedulerAPI', lambda: None)
        cond = conductor_manager.ConductorManager()
        cond._placement = self.placement
        self.computes = FakeComputeAPI()
        monkeypatch.setattr(compute_rpcapi, 'for_cell', lambda cell: self.computes)
        self.conductor = cond
        monkeypatch.setattr(compute_manager.conductor_rpcapi, 'ConductorAPI', lambda: cond)
        monkeypatch.setattr(compute_manager.placement_client, 'Client',
                            lambda: self.placement)
        self.nodes = {h: add_compute(dbs.cell, h, dbs.cell1['id']) for h in ('host1', 'host2')}
        for node in self.nodes.values():
            self.placement.add_provider(node['uuid'])
        self.service = services.get_or_create(dbs.cell, 'host1', 'minova-compute')

    def start(self) -> compute_manager.ComputeManager:
        """A (re)started compute service on host1."""
        mgr = compute_manager.ComputeManager(host='host1')
        mgr.init_host(self.service)
        return mgr

    def scheduled(self, ctx: RequestContext, **values: Any) -> dict[str, Any]:
        """A server conductor has just cast to host1: claimed, action started, mapped."""
        inst = make_instance(self.dbs.cell, host='host1', node='host1', **values)
        uuid = inst['uuid']
        actions.action_start(self.dbs.cell, uuid, 'create', ctx.request_id, 'user1', 'proj1')
        with engines.writer(self.dbs.api) as conn:
            mappings.instance_mapping_create(conn, uuid, 'proj1', 'user1', self.dbs.cell1['id'])
        self.placement.allocations[uuid] = {self.nodes['host1']['uuid']: dict(RES)}
        return inst

    def areq(self, host: str) -> dict[str, Any]:
        return {'allocations': {self.nodes[host]['uuid']: {'resources': dict(RES)}}}

    def alternate(self, host: str) -> dict[str, Any]:
        return {'service_host': host, 'nodename': host, 'cell_uuid': self.dbs.cell1['uuid'],
                'compute_node_uuid': self.nodes[host]['uuid'],
                'allocation_request': self.areq(host), 'allocation_request_version': '1.28'}

    def get(self, uuid: str, **kw: Any) -> dict[str, Any]:
        return inst_db.get(self.dbs.cell, uuid, with_fault=True, **kw)

    def event(self, ctx: RequestContext, uuid: str, name: str) -> dict[str, Any]:
        action = actions.action_get_by_request_id(self.dbs.cell, uuid, ctx.request_id)
        [ev] = [e for e in actions.events_get(self.dbs.cell, action['id'])
                if e['event'] == name]
        return dict(ev, action_message=action['message'])

    def node_row(self) -> dict[str, Any]:
        [row] = compute_nodes.get_all(self.dbs.cell, host='host1')
        return row


@pytest.fixture
def env(dbs: Any, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(dbs, monkeypatch)


def build(mgr: Any, env: Env, ctx: Any, inst: dict[str, Any],
          alternates: list[dict[str, Any]] | None = None) -> None:
    mgr.build_and_run_instance(ctx, inst, spec(), 'host1', env.areq('host1'), alternates or [])


# -- build_and_run_instance -----------------------------------------------------------

def test_build_makes_server_active_and_counts_it_on_the_node(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('active', None, states.RUNNING)
    assert got['launched_at'] is not None and got['fault'] is None
    assert states.status_from_state(got['vm_state'], got['task_state']) == 'ACTIVE'
    assert mgr.driver.get_info(inst)['state'] == states.RUNNING
    assert env.event(ctx, inst['uuid'], 'compute_build_and_run_instance')['result'] == \
        'Success'
    assert inst['uuid'] in env.placement.allocations
    mgr.rt.flush()
    node = env.node_row()
    assert (node['running_vms'], node['vcpus_used']) == (1, 1)
    assert node['memory_mb_used'] == 512 + 512  # the guest + reserved_host_memory_mb


def _watch_task_states(env: Env, monkeypatch: pytest.MonkeyPatch, uuid: str) -> list[Any]:
    """The task states the conductor writes for the instance, in order."""
    seen: list[Any] = []
    real = inst_db.update

    def update(*args: Any, **kw: Any) -> Any:
        out = real(*args, **kw)
        seen.append(inst_db.get(env.dbs.cell, uuid)['task_state'])
        return out
    monkeypatch.setattr(inst_db, 'update', update)
    return seen


def test_a_quick_spawn_goes_straight_to_active(env: Env, ctx: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    seen = _watch_task_states(env, monkeypatch, inst['uuid'])
    build(mgr, env, ctx, inst)
    assert seen == [None]  # one write: ACTIVE
    ev = env.event(ctx, inst['uuid'], 'compute_build_and_run_instance')
    assert ev['result'] == 'Success' and ev['start_time'] <= ev['finish_time']


def test_a_slow_spawn_shows_its_steps_first(env: Env, ctx: Any, flags: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    flags('spawn_delay', compute_manager.STEPS_REPORT_DELAY * 4, group='fake_driver')
    mgr = env.start()
    inst = env.scheduled(ctx)
    seen = _watch_task_states(env, monkeypatch, inst['uuid'])
    build(mgr, env, ctx, inst)
    # The steps' write (here in-process, so before the spawn ends), then ACTIVE.
    assert seen == ['spawning', None]
    assert env.event(ctx, inst['uuid'], 'compute_build_and_run_instance')['result'] == \
        'Success'


def test_spawn_failure_without_alternates_ends_in_error_with_fault(env: Env, ctx: Any,
                                                                   flags: Any) -> None:
    flags('fail_spawn_names', ['doomed'], group='fake_driver')
    mgr = env.start()
    inst = env.scheduled(ctx, display_name='doomed')
    build(mgr, env, ctx, inst)
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state']) == ('error', None)
    assert got['fault']['code'] == 500
    assert got['fault']['message'] == (
        f'Build of instance {inst["uuid"]} aborted: Fake spawn failure on host1')
    assert got['fault']['host'] == 'host1'
    assert 'RuntimeError' in got['fault']['details']
    assert inst['uuid'] not in env.placement.allocations
    assert inst['uuid'] not in mgr.driver.list_instance_uuids()
    ev = env.event(ctx, inst['uuid'], 'compute_build_and_run_instance')
    assert ev['result'] == 'Error' and ev['action_message'] == 'Error'
    assert env.computes.builds == []


def test_spawn_failure_with_alternates_reschedules_to_next_host(env: Env, ctx: Any,
                                                               flags: Any) -> None:
    flags('fail_spawn_names', ['flaky'], group='fake_driver')
    mgr = env.start()
    inst = env.scheduled(ctx, display_name='flaky')
    build(mgr, env, ctx, inst, [env.alternate('host2')])
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state']) == ('building', 'scheduling')
    assert got['host'] == 'host2' and got['fault'] is None
    assert env.placement.allocations[inst['uuid']] == {env.nodes['host2']['uuid']: RES}
    [cast] = env.computes.builds
    assert (cast['host'], cast['alternates']) == ('host2', [])
    assert inst['uuid'] not in mgr.driver.list_instance_uuids()


def test_reschedule_with_every_alternate_full_ends_in_error(env: Env, ctx: Any,
                                                            flags: Any) -> None:
    flags('fail_spawn_names', ['flaky'], group='fake_driver')
    mgr = env.start()
    env.placement.refuse.add(env.nodes['host2']['uuid'])
    inst = env.scheduled(ctx, display_name='flaky')
    build(mgr, env, ctx, inst, [env.alternate('host2')])
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state']) == ('error', None)
    assert got['fault']['message'].startswith('Exceeded maximum number of retries.')
    assert got['fault']['details'] == 'Fake spawn failure on host1'
    assert env.placement.allocations == {}


def test_server_deleted_while_spawning_is_cleaned_up(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    real_spawn = mgr.driver.spawn

    def spawn_then_user_deletes(*args: Any, **kw: Any) -> None:
        real_spawn(*args, **kw)
        inst_db.destroy(env.dbs.cell, inst['uuid'])

    mgr.driver.spawn = spawn_then_user_deletes
    build(mgr, env, ctx, inst)
    assert inst['uuid'] not in mgr.driver.list_instance_uuids()
    assert inst['uuid'] not in env.placement.allocations
    got = env.get(inst['uuid'], read_deleted=True)
    assert got['vm_state'] == 'deleted' and got['fault'] is None


def test_delete_requested_mid_build_stops_the_build_then_terminate_finishes(
        env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    real_spawn = mgr.driver.spawn

    def spawn_while_api_marks_deleting(*args: Any, **kw: Any) -> None:
        real_spawn(*args, **kw)
        inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.DELETING})

    mgr.driver.spawn = spawn_while_api_marks_deleting
    build(mgr, env, ctx, inst)
    got = env.get(inst['uuid'])
    assert got['task_state'] == 'deleting' and got['vm_state'] == 'building'
    assert got['fault'] is None
    assert inst['uuid'] not in mgr.driver.list_instance_uuids()
    assert inst['uuid'] not in env.placement.allocations
    mgr.terminate_instance(ctx, got)
    assert env.get(inst['uuid'], read_deleted=True)['vm_state'] == 'deleted'


# -- terminate_instance ----------------------------------------------------------------

def test_terminate_removes_guest_allocation_row_and_usage(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    mgr.rt.flush()
    assert env.node_row()['running_vms'] == 1
    del_ctx = RequestContext(user_id='user1', project_id='proj1')
    actions.action_start(env.dbs.cell, inst['uuid'], 'delete', del_ctx.request_id,
                         'user1', 'proj1')
    mgr.terminate_instance(del_ctx, env.get(inst['uuid']))
    got = env.get(inst['uuid'], read_deleted=True)
    assert got['vm_state'] == 'deleted' and got['deleted'] != 0
    assert inst['uuid'] not in mgr.driver.list_instance_uuids()
    assert inst['uuid'] not in env.placement.allocations
    assert instance_mapping(inst['uuid'])['queued_for_delete']
    assert env.event(del_ctx, inst['uuid'], 'compute_terminate_instance')['result'] == \
        'Success'
    mgr.rt.flush()
    assert env.node_row()['running_vms'] == 0


def test_terminate_failure_sets_error_with_fault(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)

    def broken_destroy(*args: Any, **kw: Any) -> None:
        raise RuntimeError('disk is busy')

    mgr.driver.destroy = broken_destroy
    mgr.terminate_instance(ctx, env.get(inst['uuid']))
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state']) == ('error', None)
    assert got['fault']['message'] == 'disk is busy'


# -- init_host / _reconcile ------------------------------------------------------------

def test_restart_finishes_interrupted_deletes_and_fails_interrupted_builds(
        env: Env, ctx: Any) -> None:
    building = env.scheduled(ctx, task_state='spawning')
    deleting = env.scheduled(ctx, vm_state='active', task_state='deleting')
    active = env.scheduled(ctx, vm_state='active', task_state=None)
    env.start()
    got = env.get(building['uuid'])
    assert (got['vm_state'], got['task_state']) == ('error', None)
    assert got['fault']['message'] == ('Build of the instance was interrupted by a '
                                       'restart of its compute host host1.')
    assert building['uuid'] not in env.placement.allocations
    assert env.get(deleting['uuid'], read_deleted=True)['vm_state'] == 'deleted'
    assert deleting['uuid'] not in env.placement.allocations
    got = env.get(active['uuid'])
    assert (got['vm_state'], got['fault']) == ('active', None)
    assert active['uuid'] in env.placement.allocations


def test_init_host_reports_node_and_inventory(env: Env) -> None:
    mgr = env.start()
    node = env.node_row()
    assert node['service_id'] == env.service['id']
    assert env.placement.providers == {node['uuid']: 'host1'}
    inv = env.placement.inventories[node['uuid']]
    assert set(inv) == {'VCPU', 'MEMORY_MB', 'DISK_GB'}
    assert mgr.rt.nodes['host1']['uuid'] == node['uuid']


def test_compute_starts_while_placement_is_down(env: Env, ctx: Any) -> None:
    """Placement not answering at start: the agent starts all the same (node
    row written, an interrupted build failed), and its periodic update
    reports the node once placement answers."""
    building = env.scheduled(ctx, task_state='spawning')

    def down(*args: Any, **kw: Any) -> None:
        raise exception.PlacementAPIConnectFailure(reason='Connection refused')

    env.placement.ensure_resource_provider = down          # type: ignore[method-assign]
    env.placement.delete_allocation_for_instance = down    # type: ignore[method-assign]
    mgr = env.start()
    node = env.node_row()
    assert node['service_id'] == env.service['id']
    assert env.placement.providers == {}
    got = env.get(building['uuid'])
    assert (got['vm_state'], got['task_state']) == ('error', None)
    # Its allocation stays until the server is deleted (the API's delete removes it).
    assert building['uuid'] in env.placement.allocations

    del env.placement.ensure_resource_provider               # placement answers again
    mgr.rt.update_available_resource()
    assert env.placement.providers == {node['uuid']: 'host1'}
    assert set(env.placement.inventories[node['uuid']]) == {'VCPU', 'MEMORY_MB', 'DISK_GB'}


def test_image_service_down_fails_only_the_builds_that_need_it(
        env: Env, ctx: Any, flags: Any) -> None:
    """Nothing at start reads an image (building the libvirt driver included);
    a build that needs the Image service while it is down ends in ERROR
    with a fault that says so, and gives its allocation back."""
    from minova.clients import image as image_client
    from minova.virt.libvirt.driver import LibvirtDriver
    flags('api_servers', ['http://127.0.0.1:9'], group='glance')
    flags('num_retries', 0, group='glance')
    assert image_client.configured()
    mgr = env.start()
    mgr.driver.spawn = LibvirtDriver().spawn   # type: ignore[method-assign]
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state']) == ('error', None)
    assert got['fault']['message'].startswith(
        f"Build of instance {inst['uuid']} aborted: The Image service could not be "
        'reached: ')
    assert inst['uuid'] not in env.placement.allocations


# -- power actions -----------------------------------------------------------------

def test_stop_then_start(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.POWERING_OFF})
    mgr.stop_instance(ctx, env.get(inst['uuid']))
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('stopped', None, states.SHUTDOWN)
    assert states.status_from_state(got['vm_state'], got['task_state']) == 'SHUTOFF'
    assert mgr.driver.get_info(inst)['state'] == states.SHUTDOWN
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.POWERING_ON})
    mgr.start_instance(ctx, env.get(inst['uuid']))
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('active', None, states.RUNNING)
    assert mgr.driver.get_info(inst)['state'] == states.RUNNING


def test_hard_reboot_returns_to_active(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.REBOOTING_HARD})
    assert states.status_from_state('active', env.get(inst['uuid'])['task_state']) == \
        'HARD_REBOOT'
    mgr.reboot_instance(ctx, env.get(inst['uuid']), 'HARD')
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('active', None, states.RUNNING)


def test_power_action_failure_records_fault_and_clears_task_state(env: Env,
                                                                 ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.POWERING_OFF})

    def stuck(*args: Any, **kw: Any) -> None:
        raise RuntimeError('guest did not shut down')

    mgr.driver.power_off = stuck
    mgr.stop_instance(ctx, env.get(inst['uuid']))
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state']) == ('active', None)
    assert got['fault']['message'] == 'guest did not shut down'


def test_stop_of_server_whose_guest_is_gone_ends_shutoff_and_start_remakes_it(
        env: Env, ctx: Any) -> None:
    # As Nova: a guest that vanished is off, so a stop succeeds with no power
    # state; a start defines the guest again from the server's record.
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    restarted = env.start()           # the fake hypervisor lost its guests
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.POWERING_OFF})
    restarted.stop_instance(ctx, env.get(inst['uuid']))
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('stopped', None, states.NOSTATE)
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.POWERING_ON})
    restarted.start_instance(ctx, env.get(inst['uuid']))
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('active', None, states.RUNNING)
    assert restarted.driver.get_info(inst)['state'] == states.RUNNING


def test_soft_reboot_of_vanished_guest_is_error_with_fault_and_hard_reboot_recovers(
        env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    restarted = env.start()           # the fake hypervisor lost its guests
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.REBOOTING})
    reboot_ctx = RequestContext(user_id='user1', project_id='proj1', roles=['member'])
    actions.action_start(env.dbs.cell, inst['uuid'], 'reboot', reboot_ctx.request_id,
                         'user1', 'proj1')
    restarted.reboot_instance(reboot_ctx, env.get(inst['uuid']), 'SOFT')
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('error', None, states.NOSTATE)
    assert got['fault']['code'] == 404
    assert got['fault']['message'] == f'Instance {inst["uuid"]} could not be found.'
    ev = env.event(reboot_ctx, inst['uuid'], 'compute_reboot_instance')
    assert (ev['result'], ev['action_message']) == ('Error', 'Error')
    assert ev['details'] == f'Instance {inst["uuid"]} could not be found.'
    # A hard reboot is allowed from ERROR and remakes the guest.
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.REBOOTING_HARD})
    restarted.reboot_instance(ctx, env.get(inst['uuid']), 'HARD')
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('active', None, states.RUNNING)
    assert restarted.driver.get_info(inst)['state'] == states.RUNNING


def test_failed_build_leaves_no_usage_on_the_host(env: Env, ctx: Any, flags: Any) -> None:
    flags('fail_spawn_names', ['doomed'], group='fake_driver')
    mgr = env.start()
    inst = env.scheduled(ctx, display_name='doomed')
    build(mgr, env, ctx, inst)
    mgr.rt.update_available_resource()
    node = env.node_row()
    assert (node['running_vms'], node['vcpus_used']) == (0, 0)
    got = env.get(inst['uuid'])
    assert (got['host'], got['node']) == (None, None)



# -- pause, suspend, crash dump and the power-state sync of those states ---------------

def test_pause_unpause_suspend_resume_on_the_fake_driver(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    uuid = inst['uuid']
    for task, method, vm_state, power in (
            (states.PAUSING, mgr.pause_instance, 'paused', states.PAUSED_POWER),
            (states.UNPAUSING, mgr.unpause_instance, 'active', states.RUNNING),
            (states.SUSPENDING, mgr.suspend_instance, 'suspended', states.SUSPENDED_POWER),
            (states.RESUMING, mgr.resume_instance, 'active', states.RUNNING)):
        inst_db.update(env.dbs.cell, uuid, {'task_state': task})
        method(ctx, env.get(uuid))
        got = env.get(uuid)
        assert (got['vm_state'], got['task_state'], got['power_state']) == \
            (vm_state, None, power), task
        assert mgr.driver.get_info(inst)['state'] == power


def test_driver_without_the_operation_faults_with_501(env: Env, ctx: Any) -> None:
    from minova.virt import driver as virt_driver
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    mgr.driver.pause = lambda instance: virt_driver.ComputeDriver.pause(  # type: ignore[method-assign]
        mgr.driver, instance)
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.PAUSING})
    mgr.pause_instance(ctx, env.get(inst['uuid']))
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('active', None, states.RUNNING)
    assert got['fault']['code'] == 501
    assert got['fault']['message'] == 'The requested functionality is not supported.'


def test_crash_dump_reaches_the_guest(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    mgr.trigger_crash_dump(ctx, env.get(inst['uuid']))
    assert mgr.driver._guests[inst['uuid']]['nmi'] == 1
    got = env.get(inst['uuid'])
    assert (got['vm_state'], got['task_state']) == ('active', None)


def test_rescue_unrescue_on_the_fake_driver(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    uuid = inst['uuid']
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.RESCUING})
    mgr.rescue_instance(ctx, env.get(uuid), 'pw', 'rescue-image')
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('rescued', None, states.RUNNING)
    assert states.status_from_state(got['vm_state'], got['task_state']) == 'RESCUE'
    guest = mgr.driver._guests[uuid]
    assert (guest['rescue_image_ref'], guest['rescue_password']) == ('rescue-image', 'pw')
    assert env.event(ctx, uuid, 'compute_rescue_instance')['result'] == 'Success'
    # The power sync leaves a rescued server alone.
    guest['state'] = states.SHUTDOWN
    mgr._sync_power_states()
    assert env.get(uuid)['vm_state'] == 'rescued'
    guest['state'] = states.RUNNING
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.UNRESCUING})
    mgr.unrescue_instance(ctx, env.get(uuid))
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['power_state']) == \
        ('active', None, states.RUNNING)
    assert 'rescue_image_ref' not in mgr.driver._guests[uuid]
    # Without a rescue image: the server's own.
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.RESCUING})
    mgr.rescue_instance(ctx, env.get(uuid), 'pw', None)
    assert mgr.driver._guests[uuid]['rescue_image_ref'] == inst['image_ref']


def test_rescue_failure_faults_and_keeps_the_vm_state(env: Env, ctx: Any) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    uuid = inst['uuid']

    def broken(*args: Any) -> None:
        raise RuntimeError('no rescue disk')
    mgr.driver.rescue = broken  # type: ignore[method-assign]
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.RESCUING})
    mgr.rescue_instance(ctx, env.get(uuid), 'pw', None)
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state']) == ('active', None)
    assert got['fault']['message'] == 'no rescue disk'
    assert env.event(ctx, uuid, 'compute_rescue_instance')['result'] == 'Error'


@pytest.mark.parametrize('vm_state, db_power, guest_power, want_vm, want_power', [
    # Paused and suspended servers are synced too, truthfully.
    ('paused', states.PAUSED_POWER, states.PAUSED_POWER, 'paused', states.PAUSED_POWER),
    ('suspended', states.SUSPENDED_POWER, states.SHUTDOWN, 'suspended', states.SHUTDOWN),
    # A paused guest that shut down: the server is stopped, as in Nova.
    ('paused', states.PAUSED_POWER, states.SHUTDOWN, 'stopped', states.SHUTDOWN),
    # An active guest paused from outside: only its power state says so.
    ('active', states.RUNNING, states.PAUSED_POWER, 'active', states.PAUSED_POWER),
    # An active guest suspended from outside is stopped.
    ('active', states.RUNNING, states.SUSPENDED_POWER, 'stopped', states.SHUTDOWN),
])
def test_power_sync_of_paused_and_suspended_guests(
        env: Env, ctx: Any, vm_state: str, db_power: int, guest_power: int,
        want_vm: str, want_power: int) -> None:
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    uuid = inst['uuid']
    inst_db.update(env.dbs.cell, uuid, {'vm_state': vm_state, 'power_state': db_power})
    mgr.driver._guests[uuid]['state'] = guest_power
    mgr._sync_power_states()
    got = env.get(uuid)
    assert (got['vm_state'], got['power_state']) == (want_vm, want_power)


# -- createImage / createBackup (rpc 1.6) ---------------------------------------------

class FakeImages:
    """The image client calls the compute host makes for snapshots."""

    def __init__(self, env: Env, uuid: str) -> None:
        self.env, self.uuid = env, uuid
        self.uploads: list[tuple[str, str, bytes, str | None]] = []
        self.deleted: list[str] = []
        self.status: dict[str, str] = {}
        self.backups: list[dict[str, Any]] = []
        self.fail_upload = False

    def upload(self, image_id: str, path: str, disk_format: str,
               container_format: str = 'bare') -> None:
        with open(path, 'rb') as f:
            data = f.read()
        # The task state while the data goes up.
        self.uploads.append((image_id, disk_format, data,
                             self.env.get(self.uuid)['task_state']))
        if self.fail_upload:
            raise RuntimeError('image service broke')
        self.status[image_id] = 'active'

    def show(self, ctx: Any, image_id: str) -> dict[str, Any]:
        return {'id': image_id, 'status': self.status.get(image_id, 'saving')}

    def delete_image(self, image_id: str) -> None:
        self.deleted.append(image_id)

    def list_all(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        assert filters == {'image_type': 'backup', 'backup_type': 'daily',
                           'instance_uuid': self.uuid}
        return self.backups


@pytest.fixture
def snap_env(env: Env, ctx: Any, monkeypatch: pytest.MonkeyPatch
             ) -> tuple[Any, str, FakeImages]:
    from minova.clients import image as image_client
    mgr = env.start()
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    fake = FakeImages(env, inst['uuid'])
    monkeypatch.setattr(image_client, 'shared_client', lambda: fake)
    return mgr, inst['uuid'], fake


def test_snapshot_uploads_through_the_task_states(env: Env, ctx: Any,
                                                  snap_env: Any) -> None:
    from minova.virt.fake import FAKE_SNAPSHOT_DATA
    mgr, uuid, images = snap_env
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.IMAGE_SNAPSHOT_PENDING})
    mgr.snapshot_instance(ctx, env.get(uuid), 'img-1')
    assert images.uploads == [('img-1', 'raw', FAKE_SNAPSHOT_DATA, states.IMAGE_UPLOADING)]
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state'], got['fault']) == ('active', None, None)
    assert images.deleted == []


def test_snapshot_failure_faults_clears_the_task_and_deletes_the_image(
        env: Env, ctx: Any, snap_env: Any) -> None:
    mgr, uuid, images = snap_env
    images.fail_upload = True
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.IMAGE_SNAPSHOT_PENDING})
    mgr.snapshot_instance(ctx, env.get(uuid), 'img-2')
    got = env.get(uuid)
    assert (got['vm_state'], got['task_state']) == ('active', None)
    assert got['fault']['message'] == 'image service broke'
    assert images.deleted == ['img-2']


def test_snapshot_on_a_driver_without_it_faults_with_501(env: Env, ctx: Any,
                                                         snap_env: Any) -> None:
    from minova.virt import driver as virt_driver
    mgr, uuid, images = snap_env
    mgr.driver.snapshot = lambda *a: virt_driver.ComputeDriver.snapshot(  # type: ignore[method-assign]
        mgr.driver, *a)
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.IMAGE_SNAPSHOT_PENDING})
    mgr.snapshot_instance(ctx, env.get(uuid), 'img-3')
    got = env.get(uuid)
    assert (got['task_state'], got['fault']['code']) == (None, 501)
    assert images.deleted == ['img-3']


@pytest.mark.parametrize('rotation, deleted', [(3, []), (2, ['b1']), (1, ['b2', 'b1']),
                                               (0, ['new', 'b2', 'b1'])])
def test_backup_rotates_out_the_oldest(env: Env, ctx: Any, snap_env: Any, rotation: int,
                                       deleted: list[str]) -> None:
    mgr, uuid, images = snap_env
    images.backups = [{'id': 'new'}, {'id': 'b2'}, {'id': 'b1'}]   # newest first
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.IMAGE_BACKUP})
    mgr.backup_instance(ctx, env.get(uuid), 'new', 'daily', rotation)
    assert sorted(images.deleted) == sorted(deleted)
    assert env.get(uuid)['task_state'] is None
    assert env.event(ctx, uuid, 'compute_backup_instance')['result'] == 'Success'


def test_delete_during_a_snapshot_keeps_deleting_and_drops_the_image(
        env: Env, ctx: Any, snap_env: Any) -> None:
    mgr, uuid, images = snap_env
    real_upload = images.upload

    def upload_while_deleted(*a: Any) -> None:
        inst_db.update(env.dbs.cell, uuid, {'task_state': states.DELETING})
        real_upload(*a)
        images.status.clear()   # the upload did not finish

    images.upload = upload_while_deleted
    inst_db.update(env.dbs.cell, uuid, {'task_state': states.IMAGE_SNAPSHOT_PENDING})
    mgr.snapshot_instance(ctx, env.get(uuid), 'img-4')
    got = env.get(uuid)
    assert (got['task_state'], got['fault']) == (states.DELETING, None)
    assert images.deleted == ['img-4']
