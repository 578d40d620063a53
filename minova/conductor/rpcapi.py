"""Client side of the conductor RPC API (topic 'conductor').

Two roles, as in Nova: the task API (schedule and build, reschedule) used by
the compute API and compute agents, and the DB proxy through which compute
agents, which hold no database credentials, read and write their cell DB.

Version history:
  1.0 - initial
  1.1 - action_event_record (cast): an event timed by the caller
  1.2 - instance_update(start_event, finish_event, record_events, host): the
        update also opens, records and closes action events
  1.3 - instance_progress (cast): build steps reported without waiting;
        instance_update(finish_event_start): when closing an event that was
        never opened, it is recorded as started then
  1.4 - instance_get_all_by_uuids (read_deleted); service_get_or_create
        answers the deployment's identity as 'deployment_id';
        action_event_finish(details): what went wrong, in words
  1.5 - migrate_server (cast): a resize scheduled and handed to the
        destination; migration_update, migration_get_unconfirmed_by_dest_compute
  1.6 - unshelve_instance (cast): a shelved server powered on again, or a
        shelved-offloaded one scheduled and spawned from its shelve image
  1.7 - live_migrate_instance (a call below compute API 2.34, else a cast);
        live_migrations_in_progress
  1.8 - evacuate_server (cast): an evacuation's destination chosen and claimed,
        evacuate_instance cast there; migration_get_all_by_filters
  1.9 - migration_get_in_progress_by_host: the moves a restarted compute finishes
        or rolls back
  1.10 - bdm_get_by_instance, bdm_create, bdm_update, bdm_destroy: a compute's
         block device mappings (volumes)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import oslo_messaging as messaging

from minova import rpc
from minova.context import RequestContext

if TYPE_CHECKING:
    from minova.db.build_requests import RequestSpec
    from minova.db.instances import Instance
    from minova.scheduler.rpcapi import Selection

TOPIC = 'conductor'
VERSION = '1.10'


class ConductorAPI:
    def __init__(self, url: str | None = None, timeout: int | None = None) -> None:
        self.client = rpc.get_client(messaging.Target(topic=TOPIC, version='1.0'),
                                     version_cap=VERSION, url=url, timeout=timeout)

    def _call(self, ctxt: RequestContext, method: str, **kwargs: Any) -> Any:
        return self.client.prepare(version='1.0').call(ctxt, method, **kwargs)

    def _cast(self, ctxt: RequestContext, method: str, **kwargs: Any) -> None:
        self.client.prepare(version='1.0').cast(ctxt, method, **kwargs)

    # -- task API ------------------------------------------------------------

    def schedule_and_build_instances(self, ctxt: RequestContext,
                                     instance_uuids: list[str]) -> None:
        self._cast(ctxt, 'schedule_and_build_instances', instance_uuids=instance_uuids)

    def reschedule_instance(self, ctxt: RequestContext, instance: Instance,
                            request_spec: RequestSpec, alternates: list[Selection],
                            reason: str) -> None:
        """A build failed on its host: try the next alternate host."""
        self._cast(ctxt, 'reschedule_instance', instance=instance, request_spec=request_spec,
                   alternates=alternates, reason=reason)

    def migrate_server(self, ctxt: RequestContext, instance: Instance,
                       flavor: dict[str, Any], migration_type: str = 'resize',
                       host: str | None = None) -> None:
        """1.5: resize `instance` to `flavor` (or cold migrate it: migration_type
        'migration', to `host` if given): a migration record, the source
        allocation moved to it, a destination chosen, prep_resize cast there."""
        self.client.prepare(version='1.5').cast(ctxt, 'migrate_server', instance=instance,
                                                flavor=flavor, migration_type=migration_type,
                                                host=host)

    def unshelve_instance(self, ctxt: RequestContext, instance: Instance,
                          request_spec: RequestSpec) -> None:
        """1.6: a SHELVED server started on its host; a SHELVED_OFFLOADED one
        scheduled with its request spec (the saved one, with the zone and
        host of the request) and spawned there."""
        self.client.prepare(version='1.6').cast(ctxt, 'unshelve_instance', instance=instance,
                                                request_spec=request_spec)
    def live_migrate_instance(self, ctxt: RequestContext, instance: Instance,
                              host: str | None, block_migration: bool | None,
                              force: bool | None, block: bool) -> None:
        """1.7: the checks, the destination claimed, live_migration cast to the
        source. block: a call, so the API answers the checks' errors (before
        2.34, as Nova)."""
        cctxt = self.client.prepare(version='1.7')
        (cctxt.call if block else cctxt.cast)(
            ctxt, 'live_migrate_instance', instance=instance, host=host,
            block_migration=block_migration, force=force)

    def evacuate_server(self, ctxt: RequestContext, instance: Instance,
                        migration: dict[str, Any], host: str | None = None,
                        force: bool = False, target_state: str | None = None) -> None:
        """1.8: evacuate `instance` off its dead host (its 'accepted' evacuation
        `migration`): to `host` without the scheduler when `force`, else where
        the scheduler says (to `host` if it fits)."""
        self.client.prepare(version='1.8').cast(
            ctxt, 'evacuate_server', instance=instance, migration=migration, host=host,
            force=force, target_state=target_state)

    # -- DB proxy for compute agents -----------------------------------------

    def migration_get_all_by_filters(self, ctxt: RequestContext,
                                     filters: dict[str, Any]) -> list[dict[str, Any]]:
        """1.8: migration records of this cell matching filters."""
        return self.client.prepare(version='1.8').call(
            ctxt, 'migration_get_all_by_filters', filters=filters)

    def migration_update(self, ctxt: RequestContext, uuid: str,
                         values: dict[str, Any]) -> dict[str, Any]:
        return self.client.prepare(version='1.5').call(ctxt, 'migration_update', uuid=uuid,
                                                       values=values)

    def live_migrations_in_progress(self, ctxt: RequestContext, host: str
                                    ) -> list[dict[str, Any]]:
        """1.7: the live migrations leaving host (queued, preparing, running)."""
        return self.client.prepare(version='1.7').call(
            ctxt, 'live_migrations_in_progress', host=host)

    def migration_get_unconfirmed_by_dest_compute(self, ctxt: RequestContext, window: int,
                                                  host: str) -> list[dict[str, Any]]:
        return self.client.prepare(version='1.5').call(
            ctxt, 'migration_get_unconfirmed_by_dest_compute', window=window, host=host)

    def migration_get_in_progress_by_host(self, ctxt: RequestContext, host: str
                                          ) -> list[dict[str, Any]]:
        """1.9: migrations from or to host that have not ended."""
        return self.client.prepare(version='1.9').call(
            ctxt, 'migration_get_in_progress_by_host', host=host)

    def service_get_or_create(self, ctxt: RequestContext, host: str, binary: str,
                              topic: str, version: int) -> dict[str, Any]:
        return self._call(ctxt, 'service_get_or_create', host=host, binary=binary,
                          topic=topic, version=version)

    def service_heartbeat(self, ctxt: RequestContext, service_id: int) -> None:
        self._call(ctxt, 'service_heartbeat', service_id=service_id)

    def compute_node_update(self, ctxt: RequestContext, host: str, nodename: str,
                            values: dict[str, Any]) -> dict[str, Any]:
        return self._call(ctxt, 'compute_node_update', host=host, nodename=nodename,
                          values=values)

    def instance_get(self, ctxt: RequestContext, uuid: str) -> Instance:
        return self._call(ctxt, 'instance_get', uuid=uuid)

    def instance_get_all_by_uuids(self, ctxt: RequestContext, uuids: list[str],
                                  read_deleted: bool = False) -> list[Instance]:
        return self.client.prepare(version='1.4').call(
            ctxt, 'instance_get_all_by_uuids', uuids=list(uuids), read_deleted=read_deleted)

    def instance_get_all_by_host(self, ctxt: RequestContext, host: str) -> list[Instance]:
        return self._call(ctxt, 'instance_get_all_by_host', host=host)

    def instance_update(self, ctxt: RequestContext, uuid: str, updates: dict[str, Any],
                        expected_task_state: list[str | None] | None = None,
                        start_event: str | None = None, finish_event: str | None = None,
                        record_events: list[tuple[str, Any, Any]] | None = None,
                        host: str | None = None,
                        finish_event_start: Any = None) -> Instance:
        if not (start_event or finish_event or record_events):
            return self._call(ctxt, 'instance_update', uuid=uuid, updates=updates,
                              expected_task_state=expected_task_state)
        # One round trip (1.2) where up to four were: the update and events.
        kwargs: dict[str, Any] = {}
        version = '1.2'
        if finish_event_start is not None:
            kwargs['finish_event_start'] = finish_event_start
            version = '1.3'
        return self.client.prepare(version=version).call(
            ctxt, 'instance_update', uuid=uuid, updates=updates,
            expected_task_state=expected_task_state, start_event=start_event,
            finish_event=finish_event,
            record_events=[list(e) for e in record_events or []], host=host, **kwargs)

    def instance_progress(self, ctxt: RequestContext, uuid: str,
                          steps: list[tuple[dict[str, Any], list[str | None]]],
                          start_event: str | None = None, start_time: Any = None,
                          host: str | None = None) -> None:
        """Build steps, reported without waiting for them to be written (1.3).

        steps: (updates, expected task states), in order. They are written
        together in one commit that reaches the last step's state, only from
        the first step's expected (earlier) states: steps overtaken by a later
        update, or by a delete, are dropped, so the task state never goes
        backwards. The commit opens start_event.
        """
        self.client.prepare(version='1.3').cast(
            ctxt, 'instance_progress', uuid=uuid, steps=[list(s) for s in steps],
            start_event=start_event, start_time=start_time, host=host)

    def instance_destroy(self, ctxt: RequestContext, uuid: str) -> None:
        self._call(ctxt, 'instance_destroy', uuid=uuid)

    def instance_fault_create(self, ctxt: RequestContext, uuid: str, code: int, message: str,
                              details: str | None, host: str | None) -> None:
        self._call(ctxt, 'instance_fault_create', uuid=uuid, code=code, message=message,
                   details=details, host=host)

    def action_event_start(self, ctxt: RequestContext, uuid: str, event: str,
                           host: str | None) -> None:
        self._call(ctxt, 'action_event_start', uuid=uuid, event=event, host=host)

    def action_event_record(self, ctxt: RequestContext, uuid: str, event: str,
                            start: Any, finish: Any, result: str, host: str | None) -> None:
        """Record a finished event in one message, without waiting (1.1)."""
        self.client.prepare(version='1.1').cast(
            ctxt, 'action_event_record', uuid=uuid, event=event, start=start, finish=finish,
            result=result, host=host)

    def action_event_finish(self, ctxt: RequestContext, uuid: str, event: str,
                            result: str, traceback: str | None, host: str | None,
                            details: str | None = None) -> None:
        if details is None:
            self._call(ctxt, 'action_event_finish', uuid=uuid, event=event, result=result,
                       traceback=traceback, host=host)
            return
        self.client.prepare(version='1.4').call(
            ctxt, 'action_event_finish', uuid=uuid, event=event, result=result,
            traceback=traceback, host=host, details=details)

    # -- block device mappings (1.10) ------------------------------------------

    def bdm_get_by_instance(self, ctxt: RequestContext,
                            instance_uuid: str) -> list[dict[str, Any]]:
        return self.client.prepare(version='1.10').call(
            ctxt, 'bdm_get_by_instance', instance_uuid=instance_uuid)

    def bdm_create(self, ctxt: RequestContext, values: dict[str, Any]) -> dict[str, Any]:
        return self.client.prepare(version='1.10').call(ctxt, 'bdm_create', values=values)

    def bdm_update(self, ctxt: RequestContext, bdm_uuid: str,
                   values: dict[str, Any]) -> dict[str, Any]:
        return self.client.prepare(version='1.10').call(ctxt, 'bdm_update', bdm_uuid=bdm_uuid,
                                                        values=values)

    def bdm_destroy(self, ctxt: RequestContext, bdm_uuid: str) -> None:
        self.client.prepare(version='1.10').call(ctxt, 'bdm_destroy', bdm_uuid=bdm_uuid)
