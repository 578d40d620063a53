"""Conductor: schedule and build across cells, burying in cell0, reschedules, DB proxy."""
from __future__ import annotations

import time
import uuid
from typing import Any

import oslo_messaging as messaging
import pytest

from minova import exception, utils
from minova.cells import mappings
from minova.compute import rpcapi as compute_rpcapi
from minova.conductor import manager as conductor_manager
from minova.conf import CONF
from minova.db import actions, build_requests
from minova.db import instances as inst_db
from minova.scheduler import manager as scheduler_manager
from tests.unit.backbone.fakes import (
    FLAVOR,
    FakeComputeAPI,
    FakePlacement,
    add_compute,
    instance_mapping,
    make_instance,
    spec,
)

NOT_ENOUGH = 'No valid host was found. There are not enough hosts available.'
EVENT = 'conductor_schedule_and_build_instances'


class LocalScheduler:
    """The real scheduler manager as conductor's RPC client sees it."""

    def __init__(self, mgr: Any) -> None:
        self.mgr = mgr
        self.before: Any = None   # hook run before scheduling (e.g. a user delete)
        self.error: Exception | None = None
        self.answer: list[list[dict[str, Any]]] | None = None
        self.calls = 0

    def select_destinations(self, ctxt: Any, request_spec: dict[str, Any],
                            instance_uuids: list[str], return_alternates: bool = True
                            ) -> list[list[dict[str, Any]]]:
        self.calls += 1
        if self.before:
            self.before(instance_uuids)
        if self.error is not None:
            raise self.error
        if self.answer is not None:
            return self.answer
        try:
            return self.mgr.select_destinations(ctxt, request_spec, instance_uuids,
                                                return_alternates)
        except messaging.ExpectedException as e:
            raise e.exc_info[1] from None


@pytest.fixture
def cond(dbs: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    placement = FakePlacement()
    monkeypatch.setattr(scheduler_manager.placement_client, 'Client',
                        lambda: placement)
    sched = LocalScheduler(scheduler_manager.SchedulerManager())
    monkeypatch.setattr(conductor_manager.scheduler_rpcapi, 'SchedulerAPI', lambda: sched)
    mgr = conductor_manager.ConductorManager()
    mgr._placement = placement
    mgr.computes = FakeComputeAPI()
    monkeypatch.setattr(compute_rpcapi, 'for_cell', lambda cell: mgr.computes)

    def add_host(name: str, **kw: Any) -> dict[str, Any]:
        node = add_compute(dbs.cell, name, dbs.cell1['id'], **kw)
        placement.add_provider(node['uuid'])
        return node

    mgr.add_host = add_host
    return mgr


def boot(n: int = 1, name: str = 'vm', **spec_values: Any) -> list[str]:
    """Build requests, request specs and unmapped instance mappings, as the API writes."""
    insts, specs = [], []
    for i in range(n):
        u = str(uuid.uuid4())
        insts.append({'uuid': u, 'project_id': 'proj1', 'user_id': 'user1',
                      'display_name': f'{name}-{i}', 'vcpus': 1, 'memory_mb': 512,
                      'root_gb': 1, 'ephemeral_gb': 0, 'flavor': FLAVOR,
                      'vm_state': 'building', 'task_state': 'scheduling', 'power_state': 0,
                      'launch_index': i, 'created_at': utils.utcnow()})
        specs.append(spec(**spec_values))
    build_requests.create(insts, specs)
    return [i['uuid'] for i in insts]


def create_event(url: str, ctx: Any, uuid_: str) -> dict[str, Any]:
    action = actions.action_get_by_request_id(url, uuid_, ctx.request_id)
    assert action is not None
    [event] = [e for e in actions.events_get(url, action['id']) if e['event'] == EVENT]
    return {'action': action, 'event': event}


def selection(node: dict[str, Any], cell_uuid: str) -> dict[str, Any]:
    return {'service_host': node['host'], 'nodename': node['hypervisor_hostname'],
            'cell_uuid': cell_uuid, 'compute_node_uuid': node['uuid'],
            'allocation_request': {'allocations': {node['uuid']: {'resources': {
                'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1}}}},
            'allocation_request_version': '1.28'}


# -- schedule_and_build_instances ---------------------------------------------------

def test_build_creates_instance_in_chosen_cell_and_casts_to_its_host(cond: Any, ctx: Any,
                                                                      dbs: Any) -> None:
    node = cond.add_host('c1')
    [u] = boot()
    cond.schedule_and_build_instances(ctx, [u])
    inst = inst_db.get(dbs.cell, u)
    assert (inst['host'], inst['node'], inst['launched_on']) == ('c1', 'c1', 'c1')
    assert (inst['vm_state'], inst['task_state']) == ('building', 'scheduling')
    assert inst['availability_zone'] == 'nova'
    assert instance_mapping(u)['cell_id'] == dbs.cell1['id']
    assert build_requests.get(u) is None
    [cast] = cond.computes.builds
    assert cast['host'] == 'c1' and cast['node'] == 'c1'
    assert cast['instance']['uuid'] == u
    assert list(cast['allocations']['allocations']) == [node['uuid']]
    assert create_event(dbs.cell, ctx, u)['event']['result'] == 'Success'


def test_multi_create_builds_each_server_on_its_own_host_with_alternates(
        cond: Any, ctx: Any) -> None:
    cond.add_host('a')
    cond.add_host('b')
    us = boot(2)
    cond.schedule_and_build_instances(ctx, us)
    casts = {c['instance']['uuid']: c for c in cond.computes.builds}
    assert set(casts) == set(us)
    assert {c['host'] for c in casts.values()} == {'a', 'b'}
    for c in casts.values():
        assert [alt['service_host'] for alt in c['alternates']] == \
            [h for h in 'ab' if h != c['host']]


def test_no_valid_host_buries_every_server_in_cell0_as_error(cond: Any, ctx: Any,
                                                             dbs: Any) -> None:
    us = boot(2)
    cond.schedule_and_build_instances(ctx, us)
    assert cond.computes.builds == []
    for u in us:
        inst = inst_db.get(dbs.cell0, u, with_fault=True)
        assert (inst['vm_state'], inst['task_state']) == ('error', None)
        assert inst['fault']['code'] == 500
        assert inst['fault']['message'] == NOT_ENOUGH
        assert instance_mapping(u)['cell_id'] == dbs.cell0_mapping['id']
        assert build_requests.get(u) is None
        ev = create_event(dbs.cell0, ctx, u)
        assert ev['event']['result'] == 'Error'
        assert ev['action']['message'] == 'Error'
    with pytest.raises(exception.InstanceNotFound):
        inst_db.get(dbs.cell, us[0])


def test_scheduler_timeout_buries_in_cell0_with_reason(cond: Any, ctx: Any,
                                                       dbs: Any) -> None:
    cond.scheduler.error = messaging.MessagingTimeout('Timed out waiting for a reply')
    [u] = boot()
    cond.schedule_and_build_instances(ctx, [u])
    fault = inst_db.get(dbs.cell0, u, with_fault=True)['fault']
    assert fault['message'].startswith(
        'No valid host was found. The scheduler did not answer: Timed out')


def test_any_scheduling_error_buries_in_cell0_with_its_message(cond: Any, ctx: Any,
                                                               dbs: Any) -> None:
    # E.g. placement refusing the claim with a 400, as the scheduler's RPC
    # hands it back (a RemoteError), or a request it could not serialise.
    cond.scheduler.error = messaging.RemoteError(
        'AllocationUpdateFailed', 'Failed to update allocations for consumer x', None)
    [u] = boot()
    cond.schedule_and_build_instances(ctx, [u])
    inst = inst_db.get(dbs.cell0, u, with_fault=True)
    assert (inst['vm_state'], inst['task_state']) == ('error', None)
    assert 'Failed to update allocations for consumer x' in inst['fault']['message']
    assert build_requests.get(u) is None
    cond.scheduler.error = RecursionError('maximum recursion depth exceeded')
    [u] = boot()
    cond.schedule_and_build_instances(ctx, [u])
    inst = inst_db.get(dbs.cell0, u, with_fault=True)
    assert (inst['vm_state'], inst['fault']['message']) == (
        'error', 'maximum recursion depth exceeded')


def test_build_requests_never_scheduled_are_buried_by_default(
        cond: Any, ctx: Any, dbs: Any, flags: Any) -> None:
    # A cast lost with a broker restart: without any build timeout set,
    # the server still ends in ERROR after unscheduled_build_timeout_seconds.
    assert CONF.compute.build_timeout_seconds == 0
    flags('unscheduled_build_timeout_seconds', 1, group='compute')
    cond.api_db = True
    [u] = boot()
    assert [p.name for p in cond.periodic_tasks()] == ['clean_expired_console_tokens',
                                                     'check_build_timeouts']
    cond._check_build_timeouts()
    assert build_requests.get(u) is not None    # not yet
    time.sleep(1.1)
    cond._check_build_timeouts()
    inst = inst_db.get(dbs.cell0, u, with_fault=True)
    assert (inst['vm_state'], inst['fault']['message']) == (
        'error', 'Instance build timed out. Set to error state.')
    assert build_requests.get(u) is None


def test_build_request_being_scheduled_is_not_buried(cond: Any, ctx: Any, dbs: Any,
                                                      flags: Any) -> None:
    # The timeout check runs while this conductor schedules the request (a
    # slow start after an outage): it must not bury what is being worked on.
    flags('unscheduled_build_timeout_seconds', 1, group='compute')
    cond.api_db = True
    cond.add_host('c1')
    [u] = boot()
    time.sleep(1.1)
    cond.scheduler.before = lambda uuids: cond._check_build_timeouts()
    cond.schedule_and_build_instances(ctx, [u])
    inst = inst_db.get(dbs.cell, u)
    assert (inst['vm_state'], inst['host']) == ('building', 'c1')
    assert cond._in_flight == set()


def test_server_deleted_before_scheduling_is_not_scheduled(cond: Any, ctx: Any,
                                                           dbs: Any) -> None:
    cond.add_host('c1')
    [u] = boot()
    build_requests.delete(u)
    cond.schedule_and_build_instances(ctx, [u])
    assert cond.scheduler.calls == 0
    assert cond.placement.allocations == {}
    assert cond.computes.builds == []
    assert instance_mapping(u) is None
    for url in (dbs.cell, dbs.cell0):
        with pytest.raises(exception.InstanceNotFound):
            inst_db.get(url, u)


def test_server_deleted_during_scheduling_is_undone_and_claim_released(
        cond: Any, ctx: Any, dbs: Any) -> None:
    cond.add_host('c1')
    [u] = boot()
    sched = cond.scheduler

    def user_deletes_after_claim(instance_uuids: list[str]) -> None:
        sched.before = None
        result = sched.select_destinations(ctx, spec(), instance_uuids)
        build_requests.delete(u)
        sched.answer = result

    sched.before = user_deletes_after_claim
    cond.schedule_and_build_instances(ctx, [u])
    assert cond.computes.builds == []
    assert cond.placement.allocations == {}
    assert u in cond.placement.deleted
    with pytest.raises(exception.InstanceNotFound):
        inst_db.get(dbs.cell, u)
    assert instance_mapping(u) is None


def test_selection_in_unknown_cell_buries_in_cell0(cond: Any, ctx: Any, dbs: Any) -> None:
    node = cond.add_host('c1')
    bogus = str(uuid.uuid4())
    cond.scheduler.answer = [[selection(node, bogus)]]
    [u] = boot()
    cond.schedule_and_build_instances(ctx, [u])
    inst = inst_db.get(dbs.cell0, u, with_fault=True)
    assert inst['vm_state'] == 'error'
    assert inst['fault']['message'] == f'Cell {bogus} has no mapping.'
    assert instance_mapping(u)['cell_id'] == dbs.cell0_mapping['id']


def test_failed_build_in_cell_releases_the_schedulers_claim(cond: Any, ctx: Any) -> None:
    node = cond.add_host('c1')
    [u] = boot()
    real = cond.scheduler.mgr

    def claim_then_answer(instance_uuids: list[str]) -> None:
        # The scheduler claims on c1, but reports a cell that is not mapped (any
        # failure of _build_in_cell after the claim behaves the same).
        try:
            real.select_destinations(ctx, spec(), instance_uuids)
        except messaging.ExpectedException:
            pass
        cond.scheduler.answer = [[selection(node, str(uuid.uuid4()))]]

    cond.scheduler.before = claim_then_answer
    cond.schedule_and_build_instances(ctx, [u])
    assert u in cond.placement.claims[0]
    assert cond.placement.allocations == {}


def test_failed_cast_to_compute_leaves_a_visible_error_server(cond: Any, ctx: Any,
                                                              dbs: Any) -> None:
    cond.add_host('c1')
    cond.computes.error = messaging.MessageDeliveryFailure('no route to compute.c1')
    [u] = boot()
    cond.schedule_and_build_instances(ctx, [u])
    mapping = instance_mapping(u)
    assert mapping is not None and mapping['cell_id'] is not None
    url = dbs.cell if mapping['cell_id'] == dbs.cell1['id'] else dbs.cell0
    inst = inst_db.get(url, u, with_fault=True)
    assert inst['vm_state'] == 'error'
    assert 'no route to compute.c1' in inst['fault']['message']
    assert cond.placement.allocations == {}


# -- reschedule_instance -------------------------------------------------------------

def _rescheduling_instance(dbs: Any, ctx: Any) -> dict[str, Any]:
    inst = make_instance(dbs.cell, host=None, node=None)
    actions.action_start(dbs.cell, inst['uuid'], 'create', ctx.request_id, 'user1', 'proj1')
    actions.event_start(dbs.cell, inst['uuid'], ctx.request_id, EVENT)
    return inst


def test_reschedule_claims_next_alternate_that_fits_and_casts_there(cond: Any, ctx: Any,
                                                                   dbs: Any) -> None:
    full, ok, spare = cond.add_host('full'), cond.add_host('ok'), cond.add_host('spare')
    cond.placement.refuse.add(full['uuid'])
    inst = _rescheduling_instance(dbs, ctx)
    alts = [selection(n, dbs.cell1['uuid']) for n in (full, ok, spare)]
    cond.reschedule_instance(ctx, inst, spec(), alts, 'Fake spawn failure on c0')
    got = inst_db.get(dbs.cell, inst['uuid'])
    assert (got['host'], got['node'], got['launched_on']) == ('ok', 'ok', 'ok')
    assert got['task_state'] == 'scheduling'
    [cast] = cond.computes.builds
    assert cast['host'] == 'ok'
    assert [a['service_host'] for a in cast['alternates']] == ['spare']
    assert list(cond.placement.allocations[inst['uuid']]) == [ok['uuid']]


def test_reschedule_with_no_alternate_left_sets_error_and_fault(cond: Any, ctx: Any,
                                                                dbs: Any) -> None:
    full = cond.add_host('full')
    cond.placement.refuse.add(full['uuid'])
    inst = _rescheduling_instance(dbs, ctx)
    cond.reschedule_instance(ctx, inst, spec(), [selection(full, dbs.cell1['uuid'])],
                             'Fake spawn failure on c0')
    got = inst_db.get(dbs.cell, inst['uuid'], with_fault=True)
    assert (got['vm_state'], got['task_state']) == ('error', None)
    assert got['fault']['message'] == (
        'Exceeded maximum number of retries. Exhausted all hosts available for retrying '
        f'build failures for instance {inst["uuid"]}.')
    assert got['fault']['details'] == 'Fake spawn failure on c0'
    ev = create_event(dbs.cell, ctx, inst['uuid'])
    assert ev['event']['result'] == 'Error' and ev['action']['message'] == 'Error'
    assert cond.computes.builds == []
    assert cond.placement.allocations == {}


def test_reschedule_of_server_deleted_meanwhile_releases_the_new_claim(
        cond: Any, ctx: Any, dbs: Any) -> None:
    ok = cond.add_host('ok')
    inst = _rescheduling_instance(dbs, ctx)
    inst_db.destroy(dbs.cell, inst['uuid'])
    cond.reschedule_instance(ctx, inst, spec(), [selection(ok, dbs.cell1['uuid'])], 'x')
    assert cond.computes.builds == []
    assert cond.placement.allocations == {}


# -- DB proxy ----------------------------------------------------------------------

def test_instance_update_refuses_unexpected_task_state_and_deleted_rows(cond: Any, ctx: Any,
                                                                       dbs: Any) -> None:
    inst = make_instance(dbs.cell, task_state='deleting')
    with pytest.raises(exception.InstanceInvalidState):
        cond.instance_update(ctx, inst['uuid'], {'task_state': 'spawning'}, ['scheduling'])
    assert inst_db.get(dbs.cell, inst['uuid'])['task_state'] == 'deleting'
    cond.instance_destroy(ctx, inst['uuid'])
    with pytest.raises(exception.InstanceNotFound):
        cond.instance_update(ctx, inst['uuid'], {'vm_state': 'active'})


def test_build_steps_are_written_in_one_commit_that_opens_the_event(
        cond: Any, ctx: Any, dbs: Any) -> None:
    from minova.compute.manager import BUILD_EVENT, BUILD_STEPS
    inst = make_instance(dbs.cell, host='h1', task_state='scheduling')
    uuid = inst['uuid']
    actions.action_start(dbs.cell, uuid, 'create', ctx.request_id, 'user1', 'proj1')
    started = utils.utcnow()
    seen = []
    real_update = inst_db.update

    def update(*args: Any, **kw: Any) -> Any:
        out = real_update(*args, **kw)
        seen.append(inst_db.get(dbs.cell, uuid)['task_state'])
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(inst_db, 'update', update)
        cond.instance_progress(ctx, uuid, [
            ({'host': 'h1', 'node': 'n1', 'task_state': 'networking'}, BUILD_STEPS[:1]),
            ({'host': 'h1', 'task_state': 'block_device_mapping',
              'network_info': [{'id': 'vif1'}]}, BUILD_STEPS[:2]),
            ({'host': 'h1', 'task_state': 'spawning'}, BUILD_STEPS[:3])],
            start_event=BUILD_EVENT, start_time=started, host='h1')
    # One write, carrying what every step set; the last step's state wins.
    assert seen == ['spawning']
    got = inst_db.get(dbs.cell, uuid)
    assert (got['node'], got['network_info']) == ('n1', [{'id': 'vif1'}])
    action = actions.action_get_by_request_id(dbs.cell, uuid, ctx.request_id)
    [event] = actions.events_get(dbs.cell, action['id'])
    assert (event['event'], event['finish_time']) == (BUILD_EVENT, None)
    assert utils.parse_time(event['start_time']) == utils.parse_time(started)


def test_build_steps_arriving_after_the_build_ended_are_dropped(cond: Any, ctx: Any,
                                                               dbs: Any) -> None:
    from minova.compute.manager import BUILD_EVENT, BUILD_STEPS
    inst = make_instance(dbs.cell, host='h1', task_state='scheduling')
    uuid = inst['uuid']
    actions.action_start(dbs.cell, uuid, 'create', ctx.request_id, 'user1', 'proj1')
    started = utils.utcnow()
    # The host's final update overtook its own earlier, unawaited steps.
    cond.instance_update(ctx, uuid, {'vm_state': 'active', 'task_state': None},
                         BUILD_STEPS, finish_event=BUILD_EVENT, host='h1',
                         finish_event_start=started)
    cond.instance_progress(ctx, uuid, [
        ({'host': 'h1', 'task_state': 'networking'}, BUILD_STEPS[:1]),
        ({'host': 'h1', 'task_state': 'spawning'}, BUILD_STEPS[:3])],
        start_event=BUILD_EVENT, start_time=started, host='h1')
    got = inst_db.get(dbs.cell, uuid)
    assert (got['vm_state'], got['task_state']) == ('active', None)
    action = actions.action_get_by_request_id(dbs.cell, uuid, ctx.request_id)
    [event] = actions.events_get(dbs.cell, action['id'])
    # Never opened, so recorded whole, from when the compute host started.
    assert (event['event'], event['result']) == (BUILD_EVENT, 'Success')
    assert utils.parse_time(event['start_time']) == utils.parse_time(started)


def test_build_steps_of_a_host_the_instance_left_are_dropped(cond: Any, ctx: Any,
                                                            dbs: Any) -> None:
    # Rescheduled to h2 (host changed, back to scheduling) before h1's late
    # steps arrived: they must not pull the instance back to h1.
    inst = make_instance(dbs.cell, host='h2', task_state='scheduling')
    cond.instance_progress(ctx, inst['uuid'],
                           [({'host': 'h1', 'task_state': 'networking'}, ['scheduling'])],
                           host='h1')
    got = inst_db.get(dbs.cell, inst['uuid'])
    assert (got['host'], got['task_state']) == ('h2', 'scheduling')
    cond.instance_destroy(ctx, inst['uuid'])
    cond.instance_progress(ctx, inst['uuid'], [({'task_state': 'networking'}, ['scheduling'])],
                           host='h2')  # gone: dropped quietly


def test_instance_destroy_soft_deletes_and_queues_mapping(cond: Any, ctx: Any,
                                                          dbs: Any) -> None:
    keep = make_instance(dbs.cell, host='h1', vm_state='active', task_state=None)
    gone = make_instance(dbs.cell, host='h1', vm_state='active', task_state='deleting')
    with mappings.engines.writer(dbs.api) as conn:
        mappings.instance_mapping_create(conn, gone['uuid'], 'proj1', 'user1', dbs.cell1['id'])
    cond.instance_destroy(ctx, gone['uuid'])
    assert [i['uuid'] for i in cond.instance_get_all_by_host(ctx, 'h1')] == [keep['uuid']]
    row = inst_db.get(dbs.cell, gone['uuid'], read_deleted=True)
    assert row['vm_state'] == 'deleted' and row['deleted'] == row['id']
    assert instance_mapping(gone['uuid'])['queued_for_delete']


def test_service_and_node_records_survive_a_restart(cond: Any, ctx: Any) -> None:
    svc = cond.service_get_or_create(ctx, 'h1', 'minova-compute', 'compute', 1)
    again = cond.service_get_or_create(ctx, 'h1', 'minova-compute', 'compute', 2)
    assert again['id'] == svc['id']
    node = cond.compute_node_update(ctx, 'h1', 'h1', {'vcpus': 4, 'memory_mb': 1024,
                                                      'local_gb': 10})
    node2 = cond.compute_node_update(ctx, 'h1', 'h1', {'vcpus': 8, 'memory_mb': 1024,
                                                       'local_gb': 10, 'uuid': 'other'})
    assert node2['uuid'] == node['uuid'] and node2['vcpus'] == 8
