"""Conductor: builds instances across cells and proxies DB access for computes.

schedule_and_build_instances is the only place a server moves from its build
request (API DB) into a cell: ask the scheduler for hosts (it claims in
placement), create the instance row in the chosen cell, then cast to that
host. A request no host can take is buried in cell0 as ERROR with a fault.
"""
from __future__ import annotations

import contextlib
import datetime
import logging
import threading
from typing import Any

import oslo_messaging as messaging

from minova import exception, states, utils
from minova.cells import lookup, mappings
from minova.cells.mappings import CellMapping
from minova.compute import rpcapi as compute_rpcapi
from minova.conductor import moves
from minova.conductor.evacuate import EvacuateMixin
from minova.conductor.live_migrate import LiveMigrateMixin
from minova.conductor.shelve import ShelveMixin
from minova.conductor.volumes import VolumesMixin
from minova.conf import CONF
from minova.context import RequestContext, get_admin_context
from minova.db import (
    actions,
    block_devices,
    build_requests,
    compute_nodes,
    console_auth_tokens,
    deployment,
    engines,
    instances,
    server_groups,
    server_migrations,
    services,
)
from minova.db.build_requests import RequestSpec
from minova.db.instances import Instance
from minova.scheduler import rpcapi as scheduler_rpcapi
from minova.scheduler.rpcapi import HostList, Selection

LOG = logging.getLogger(__name__)

# Seconds between two removals of expired console tokens (Nova's compute: 600)
CONSOLE_TOKEN_CLEANUP = 600.0


def _host_zone(host: str) -> str:
    """The chosen host's AZ (from its aggregates) becomes the instance's."""
    from minova.db import aggregates
    try:
        return aggregates.host_zone(host)
    except Exception:  # a cell conductor has no API DB
        return CONF.default_availability_zone


_fault_message = moves.fault_message


class ConductorManager(ShelveMixin, LiveMigrateMixin, EvacuateMixin, VolumesMixin):
    target = messaging.Target(version='1.10')
    # What compute agents expect back when a server changed under them (deleted,
    # or its task state moved on): answered without an ERROR traceback here.
    expected_exceptions = (exception.InstanceNotFound, exception.InstanceInvalidState)

    def __init__(self, api_db: bool | None = None) -> None:
        """api_db: whether this conductor reaches the API DB (a super or
        single conductor, or the all-in-one's); by default, whether
        [api_database] connection is set."""
        self.scheduler = scheduler_rpcapi.SchedulerAPI()
        self._placement: Any = None
        self.api_db = bool(CONF.api_database.connection) if api_db is None else api_db
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()

    @property
    def placement(self) -> Any:
        if self._placement is None:
            from minova.clients import placement as placement_client
            self._placement = placement_client.Client()
        return self._placement

    # -- schedule and build --------------------------------------------------

    def schedule_and_build_instances(self, context: RequestContext,
                                     instance_uuids: list[str]) -> None:
        # Being worked on here: the build-timeout check leaves these alone.
        with self._in_flight_lock:
            self._in_flight.update(instance_uuids)
        try:
            self._schedule_and_build(context, instance_uuids)
        finally:
            with self._in_flight_lock:
                self._in_flight.difference_update(instance_uuids)

    def _schedule_and_build(self, context: RequestContext,
                            instance_uuids: list[str]) -> None:
        received = utils.utcnow()
        found = build_requests.get_many_with_specs(instance_uuids)
        brs = {u: br for u, (br, _spec) in found.items()}
        specs = {u: spec for u, (_br, spec) in found.items()}
        live = [u for u in instance_uuids if u in found]
        for uuid in set(instance_uuids) - set(live):
            LOG.info('Build request %s is gone (deleted before scheduling)', uuid)
            self._forget(uuid)
        if not live:
            return
        spec = specs[live[0]]
        try:
            sched_start = utils.utcnow()
            host_lists = self.scheduler.select_destinations(context, spec, live)
            timing = (received, sched_start, utils.utcnow())
        except exception.NoValidHost as e:
            LOG.warning('No valid host for %s: %s', live, e)
            for uuid in live:
                self._bury_in_cell0(context, brs[uuid], spec, e)
            return
        except messaging.MessagingTimeout as e:
            for uuid in live:
                self._bury_in_cell0(context, brs[uuid], spec, exception.NoValidHost(
                    reason=f'The scheduler did not answer: {e}'))
            return
        except Exception as e:
            # Whatever went wrong (placement refusing the claim, a request the
            # scheduler could not read), the servers end in ERROR saying so.
            LOG.exception('Scheduling %s failed', live)
            for uuid in live:
                self._bury_in_cell0(context, brs[uuid], spec, e)
            return
        for uuid, host_list in zip(live, host_lists, strict=True):
            try:
                self._build_in_cell(context, brs[uuid], specs[uuid], host_list, timing)
            except Exception as e:
                # Nothing was written to the cell: the claim goes, cell0 keeps the record.
                LOG.exception('Building %s failed in conductor', uuid)
                self.placement.delete_allocation_for_instance(context, uuid)
                self._bury_in_cell0(context, brs[uuid], spec, e)

    def _build_in_cell(self, context: RequestContext, br: Instance, spec: RequestSpec,
                       host_list: HostList, timing: tuple[Any, Any, Any]) -> None:
        """Create the instance in the chosen cell and hand it to its compute host.

        timing is (conductor received, scheduling started, scheduled): the
        boot timeline records them as events of the 'create' action, whose
        start is when the API accepted the request.
        """
        received, sched_start, sched_end = timing
        selection, alternates = host_list[0], host_list[1:]
        cell = lookup.get(selection['cell_uuid'])
        url = cell['database_connection']
        values: Instance = {
            **br, 'host': selection['service_host'], 'node': selection['nodename'],
            'launched_on': selection['service_host'],
            'availability_zone': spec.get('availability_zone')
            or _host_zone(selection['service_host']),
            'vm_state': states.BUILDING, 'task_state': states.SCHEDULING}
        values.pop('id', None)
        uuid = values['uuid']
        # One cell transaction: the instance, its 'create' action (started when
        # the API took the request), the scheduling event and this one, which
        # ends here, once the instance is in its cell. (Closed after the cast
        # to compute, it was a transaction on the action's row that the
        # host's first updates queued behind.)
        def also(conn: Any) -> None:
            actions.action_start_in(
                conn, uuid, 'create', context.request_id, context.user_id,
                context.project_id, start_time=br.get('created_at'),
                events=[('schedule_instances', sched_start, sched_end),
                        ('conductor_schedule_and_build_instances', received, utils.utcnow())])
            if spec.get('block_device_mapping'):    # its volumes, with it
                block_devices.create_many(conn, uuid, spec['block_device_mapping'])
        instance = instances.create(url, values, also=also)
        try:
            if not build_requests.hand_over(uuid, cell['id']):
                # Deleted by the user while we were scheduling: undo.
                LOG.info('Server %s was deleted during scheduling', uuid)
                instances.destroy(url, uuid)
                self.placement.delete_allocation_for_instance(context, uuid)
                self._forget(uuid)
                return
            compute_rpcapi.for_cell(cell).build_and_run_instance(
                context, selection['service_host'], instance, spec, selection['nodename'],
                selection['allocation_request'], alternates)
        except Exception as e:
            # The row is in the cell now, so the server fails there, visibly.
            LOG.exception('Could not hand %s to compute %s', uuid, selection['service_host'])
            self._fail_in_cell(context, cell, uuid, e)

    def _fail_in_cell(self, context: RequestContext, cell: CellMapping, uuid: str,
                      error: BaseException) -> None:
        url = cell['database_connection']
        self.placement.delete_allocation_for_instance(context, uuid)
        try:
            instances.update(url, uuid, {'vm_state': states.ERROR, 'task_state': None,
                                         'host': None, 'node': None})
            instances.fault_create(url, uuid, 500, str(error) or error.__class__.__name__,
                                   details=actions.format_tb(), host=None)
            actions.event_finish(url, uuid, context.request_id,
                                 'conductor_schedule_and_build_instances', result='Error',
                                 exc_tb=actions.format_tb(), finished_too=True)
            mappings.instance_mapping_set_cell(uuid, cell['id'])
            build_requests.delete(uuid)
        except Exception:
            LOG.exception('Could not record the failure of %s', uuid)

    def _forget(self, uuid: str) -> None:
        build_requests.spec_delete(uuid)
        mappings.instance_mapping_delete(uuid)

    def _bury_in_cell0(self, context: RequestContext, br: Instance, spec: RequestSpec,
                       error: BaseException) -> None:
        """Record an unschedulable server in cell0: ERROR, with a fault saying why."""
        cell0 = lookup.get(mappings.CELL0_UUID)
        url = cell0['database_connection']
        values: Instance = {**br, 'vm_state': states.ERROR, 'task_state': None,
                            'availability_zone': spec.get('availability_zone')}
        values.pop('id', None)
        try:
            instance = instances.create(url, values)
        except Exception:
            LOG.exception('Could not bury %s in cell0', br['uuid'])
            return
        message = _fault_message(error)
        instances.fault_create(url, instance['uuid'], 500, message,
                               details=None, host=None)
        actions.action_start(url, instance['uuid'], 'create', context.request_id,
                             context.user_id, context.project_id,
                             start_time=br.get('created_at'))
        actions.event_finish(url, instance['uuid'], context.request_id,
                             'conductor_schedule_and_build_instances', result='Error',
                             exc_tb=message)
        mappings.instance_mapping_set_cell(instance['uuid'], cell0['id'])
        if not build_requests.delete(instance['uuid']):
            instances.destroy(url, instance['uuid'])
            self._forget(instance['uuid'])

    def reschedule_instance(self, context: RequestContext, instance: Instance,
                            request_spec: RequestSpec, alternates: list[Selection],
                            reason: str) -> None:
        """Claim the next alternate host that still fits and cast the build there."""
        url = engines.cell_url()
        uuid = instance['uuid']
        for i, alt in enumerate(alternates):
            try:
                claimed = self.placement.claim_resources(
                    context, uuid, alt['allocation_request'], instance['project_id'],
                    instance['user_id'])
            except Exception:
                LOG.exception('Claim on alternate %s failed', alt['service_host'])
                claimed = False
            if not claimed:
                continue
            try:
                instance = instances.update(url, uuid, {
                    'host': alt['service_host'], 'node': alt['nodename'],
                    'launched_on': alt['service_host'], 'task_state': states.SCHEDULING})
            except exception.InstanceNotFound:
                self.placement.delete_allocation_for_instance(context, uuid)
                return
            # Alternates are in this cell, so its own bus reaches them (a cell
            # conductor has no API DB to look the cell up in).
            compute_rpcapi.for_cell(None).build_and_run_instance(
                context, alt['service_host'], instance, request_spec, alt['nodename'],
                alt['allocation_request'], alternates[i + 1:])
            return
        msg = str(exception.MaxRetriesExceeded(
            reason=f'Exhausted all hosts available for retrying build failures for '
                   f'instance {uuid}.'))
        try:
            instances.update(url, uuid, {'vm_state': states.ERROR, 'task_state': None,
                                         'host': None, 'node': None})
            instances.fault_create(url, uuid, 500, msg, details=reason, host=None)
            actions.event_finish(url, uuid, context.request_id,
                                 'conductor_schedule_and_build_instances', result='Error',
                                 exc_tb=reason, finished_too=True)
        except exception.InstanceNotFound:
            pass

    # -- resize (1.5) ----------------------------------------------------------

    def migrate_server(self, context: RequestContext, instance: Instance,
                       flavor: dict[str, Any], migration_type: str = 'resize',
                       host: str | None = None) -> None:
        """Nova's migrate task for a resize: a migration record (pre-migrating),
        the server's allocation on its source moved to the migration as
        consumer, a destination chosen by the scheduler for the new flavor
        (which claims it for the server), then prep_resize cast there. No
        host: the allocation goes back, the migration is 'error', the server
        keeps its vm_state with a fault."""
        uuid = instance['uuid']
        cell, url = moves.cell_of(instance)
        source = str(instance['host'])
        migration = moves.create_migration(url, instance, migration_type, 'pre-migrating',
                                           flavor)
        event = 'conductor_migrate_server'
        actions.event_start(url, uuid, context.request_id, event)
        moved = False
        try:
            moved = self.placement.move_allocations(context, uuid, migration['uuid'])
            spec = moves.move_spec(instance, flavor)
            if not CONF.allow_resize_to_same_host:
                spec['ignore_hosts'] = [source]
            if host:   # 2.56: the admin's destination, still through the filters
                moves.request_host(spec, host)
            selection = self.scheduler.select_destinations(
                context, spec, [uuid], return_alternates=False)[0][0]
        except Exception as e:
            LOG.warning('Resize of %s found no destination: %s', uuid, e)
            moves.fail_move(self.placement, context, url, instance, migration, event, e,
                            moved)
            return
        migration = server_migrations.update(url, migration['uuid'], {
            'dest_compute': selection['service_host'], 'dest_node': selection['nodename'],
            'dest_host': selection['service_host']})
        actions.event_finish(url, uuid, context.request_id, event)
        compute_rpcapi.for_cell(cell).prep_resize(
            context, selection['service_host'], instance, flavor, migration,
            selection['nodename'])

    # -- builds that lost their way -------------------------------------------

    def periodic_tasks(self) -> list[utils.Periodic]:
        tasks = [utils.Periodic('clean_expired_console_tokens',
                                self._clean_expired_console_tokens, CONSOLE_TOKEN_CLEANUP)]
        timeouts = [t for t in (CONF.compute.build_timeout_seconds,
                                CONF.compute.unscheduled_build_timeout_seconds) if t]
        if timeouts:
            tasks.append(utils.Periodic('check_build_timeouts', self._check_build_timeouts,
                                        max(1.0, min(timeouts) / 4)))
        return tasks

    def _clean_expired_console_tokens(self) -> None:
        """Expired console tokens leave the cell databases (Nova's compute hosts
        do this; here computes have no database): a super conductor cleans
        every cell's, a cell conductor its own."""
        urls = ([c['database_connection'] for c in mappings.cell_list()
                 if not mappings.is_cell0(c)] if self.api_db else [engines.cell_url()])
        for url in urls:
            try:
                removed = console_auth_tokens.clean_expired(url)
            except Exception as e:   # a cell that is down now is cleaned next time
                LOG.warning('Cannot clean expired console tokens: %s', e)
                continue
            if removed:
                LOG.debug('Removed %d expired console tokens', removed)

    def _check_build_timeouts(self) -> None:
        """Builds nobody works on any more end in ERROR.

        Above the cells (an API DB): build requests never scheduled after
        unscheduled_build_timeout_seconds (or build_timeout_seconds if
        shorter), e.g. their cast was lost with a broker or conductor that
        went away; they are buried in cell0 and any claim dropped. In a cell,
        after build_timeout_seconds: instances still building with no host,
        whose reschedule never arrived. (Builds that have a host are the
        compute host's own check.)
        """
        ctx = get_admin_context()
        now = utils.utcnow()
        msg = 'Instance build timed out. Set to error state.'
        unscheduled = [t for t in (CONF.compute.build_timeout_seconds,
                                   CONF.compute.unscheduled_build_timeout_seconds) if t]
        if self.api_db and unscheduled:
            limit = datetime.timedelta(seconds=min(unscheduled))
            for br in build_requests.get_all():
                created = utils.parse_time(br.get('created_at'))
                if created is None or now - created < limit or br['uuid'] in self._in_flight:
                    continue
                uuid = br['uuid']
                LOG.warning('Build request %s was never scheduled; burying it', uuid)
                spec: RequestSpec = build_requests.spec_get_many([uuid]).get(uuid) or {}
                self.placement.delete_allocation_for_instance(ctx, uuid)
                self._bury_in_cell0(ctx, br, spec, exception.MinovaException(msg))
        if not CONF.compute.build_timeout_seconds:
            return
        limit = datetime.timedelta(seconds=CONF.compute.build_timeout_seconds)
        url = engines.cell_url()
        for inst in instances.get_all(url, {'vm_state': [states.BUILDING]}):
            stamp = utils.parse_time(inst.get('updated_at') or inst.get('created_at'))
            if inst.get('host') or stamp is None or now - stamp < limit:
                continue
            LOG.warning('Build of %s has no host and timed out', inst['uuid'])
            self.placement.delete_allocation_for_instance(ctx, inst['uuid'])
            with contextlib.suppress(exception.InstanceNotFound):
                instances.fault_create(url, inst['uuid'], 500, msg, None, None)
                instances.update(url, inst['uuid'], {'vm_state': states.ERROR,
                                                     'task_state': None, 'node': None})

    # -- DB proxy ------------------------------------------------------------

    def service_get_or_create(self, context: RequestContext, host: str, binary: str,
                              topic: str, version: int) -> dict[str, Any]:
        # With the deployment's identity, which compute agents write into
        # their guests (minova/db/deployment.py).
        return dict(services.get_or_create(engines.cell_url(), host, binary, topic, version),
                    deployment_id=deployment.get_id(engines.cell_url()))

    def service_heartbeat(self, context: RequestContext, service_id: int) -> None:
        services.heartbeat(engines.cell_url(), service_id)

    def compute_node_update(self, context: RequestContext, host: str, nodename: str,
                            values: dict[str, Any]) -> dict[str, Any]:
        return compute_nodes.create_or_update(engines.cell_url(), host, nodename, values)

    def migration_update(self, context: RequestContext, uuid: str,
                         values: dict[str, Any]) -> dict[str, Any]:
        """1.5: a migration record's status (and hosts) as a move goes on."""
        return server_migrations.update(engines.cell_url(), uuid, values)

    def migration_get_in_progress_by_host(self, context: RequestContext,
                                          host: str) -> list[dict[str, Any]]:
        return server_migrations.get_all(engines.cell_url(), {
            'host': host, 'status': list(server_migrations.IN_PROGRESS)})

    def migration_get_unconfirmed_by_dest_compute(self, context: RequestContext,
                                                  window: int, host: str
                                                  ) -> list[dict[str, Any]]:
        return server_migrations.get_unconfirmed_by_dest_compute(engines.cell_url(), window,
                                                                 host)

    def instance_get(self, context: RequestContext, uuid: str) -> Instance:
        return instances.get(engines.cell_url(), uuid)

    def instance_get_all_by_uuids(self, context: RequestContext, uuids: list[str],
                                  read_deleted: bool = False) -> list[Instance]:
        """1.4: the instances among uuids this cell has (deleted ones too with
        read_deleted)."""
        if not uuids:
            return []
        return instances.get_all(engines.cell_url(), {
            'uuid': list(uuids), 'deleted': None if read_deleted else False})

    def instance_get_all_by_host(self, context: RequestContext,
                                 host: str) -> list[Instance]:
        return instances.get_all(engines.cell_url(), {'host': host})

    def instance_update(self, context: RequestContext, uuid: str, updates: dict[str, Any],
                        expected_task_state: list[str | None] | None = None,
                        start_event: str | None = None, finish_event: str | None = None,
                        record_events: list[list[Any]] | None = None,
                        host: str | None = None,
                        finish_event_start: Any = None) -> Instance:
        """1.2: the update may also open `start_event`, record finished
        `record_events` ([name, start, finish]) and close `finish_event`, in
        the same transaction (one round trip and one commit for all).
        1.3: `finish_event_start` is the start of a finish_event that was
        never opened (its opening step was overtaken)."""
        return instances.update(
            engines.cell_url(), uuid, updates, expected_task_state,
            also=self._events_writer(context, uuid, host, start_event=start_event,
                                     record_events=record_events, finish_event=finish_event,
                                     finish_event_start=finish_event_start))

    @staticmethod
    def _events_writer(context: RequestContext, uuid: str, host: str | None,
                       start_event: str | None = None, start_time: Any = None,
                       record_events: list[list[Any]] | None = None,
                       finish_event: str | None = None,
                       finish_event_start: Any = None) -> Any:
        """The action events an update writes in its own transaction, or None."""
        if not (start_event or finish_event or record_events):
            return None

        def write(conn: Any) -> None:
            actions.events_write_in(
                conn, uuid, context.request_id, host,
                start=(start_event, start_time) if start_event else None,
                records=record_events or (),
                finish=(finish_event, finish_event_start) if finish_event else None)
        return write

    def instance_progress(self, context: RequestContext, uuid: str,
                          steps: list[list[Any]], start_event: str | None = None,
                          start_time: Any = None, host: str | None = None) -> None:
        """1.3, a cast: build steps ([updates, expected task states]) the
        compute host did not wait for, applied together in one commit.

        The host sent them in one message, before the work they name, so no
        reader could tell them apart anyway; a commit per step kept the
        host's final update waiting on the instance's row lock for two more
        commits. The result is the last step's state, reached only from the
        first step's expected states and only while the instance is still on
        the reporting host: when the end of the build or a delete got there
        first, or a reschedule moved the instance, the steps are dropped.
        """
        if not steps:
            return
        updates: dict[str, Any] = {}
        for values, _expected in steps:
            updates.update(values)
        try:
            instances.update(engines.cell_url(), uuid, updates, steps[0][1],
                             also=self._events_writer(context, uuid, host,
                                                      start_event=start_event,
                                                      start_time=start_time),
                             fetch=False, expected_host=host)
        except (exception.InstanceNotFound, exception.InstanceInvalidState) as e:
            LOG.debug('Build steps of %s from %s dropped: %s', uuid, host, e)

    def instance_destroy(self, context: RequestContext, uuid: str) -> None:
        instances.destroy(engines.cell_url(), uuid)
        try:
            mappings.instance_mapping_queue_for_delete(uuid)
            # A server reclaimed on its host leaves its group as the API's delete does.
            server_groups.remove_member(uuid)
        except Exception:
            LOG.debug('No API DB access to mark %s queued for delete', uuid)

    def instance_fault_create(self, context: RequestContext, uuid: str, code: int,
                              message: str, details: str | None, host: str | None) -> None:
        instances.fault_create(engines.cell_url(), uuid, code, message, details, host)

    def action_event_start(self, context: RequestContext, uuid: str, event: str,
                           host: str | None) -> None:
        actions.event_start(engines.cell_url(), uuid, context.request_id, event, host)

    def action_event_record(self, context: RequestContext, uuid: str, event: str,
                            start: Any, finish: Any, result: str, host: str | None) -> None:
        actions.event_record(engines.cell_url(), uuid, context.request_id, event, start,
                             finish, result, host)

    def action_event_finish(self, context: RequestContext, uuid: str, event: str,
                            result: str, traceback: str | None, host: str | None,
                            details: str | None = None) -> None:
        actions.event_finish(engines.cell_url(), uuid, context.request_id, event, result,
                             traceback, host, details=details)

