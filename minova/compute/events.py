"""Events a compute host waits for (Nova's InstanceEvents and wait_for_instance_event).

Before an action whose completion another service reports (Neutron's
network-vif-plugged), the manager registers the events it expects
(`InstanceEvents.prepare`); `external_instance_event` pops each arriving event
and wakes its waiter. As in Nova, an event nobody waits for (one that comes
before it is expected, a duplicate: Neutron sends vif-plugged twice and again
on restart) is logged and dropped; it never fails anything.

`ComputeVirtAPI.wait_for_instance_event` is what the drivers use: expectations
registered on entry, waited for on exit until `deadline`. A failed event
(status 'failed') or a timeout calls error_callback(event_name, instance) when
given; without one it raises VirtualInterfaceCreateException when
[DEFAULT] vif_plugging_is_fatal is set, else it is logged and the action goes on.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from minova import exception
from minova.conf import CONF
from minova.virt.virtapi import ErrorCallback, EventName, VirtAPI, event_key

if TYPE_CHECKING:
    from minova.context import RequestContext
    from minova.db.instances import Instance

LOG = logging.getLogger(__name__)

# The events a waiter can be woken by; network-changed and network-vif-deleted
# are acted upon by the manager itself (see NetworkEventsMixin).
WAITABLE = frozenset({'network-vif-plugged', 'network-vif-unplugged',
                      'network-vif-deleted', 'network-changed',
                      'volume-extended', 'volume-reimaged', 'power-update',
                      'accelerator-request-bound'})


class _Waiter:
    """One expected event: set once with the event's status."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.status: str | None = None

    def set(self, status: str) -> None:
        self.status = status
        self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(max(0.0, timeout))


class InstanceEvents:
    """Expected events per instance: {instance uuid: {'name-tag': waiter}}."""

    def __init__(self) -> None:
        self._events: dict[str, dict[str, _Waiter]] = {}
        self._lock = threading.Lock()

    def prepare(self, instance_uuid: str, names: Iterable[EventName]
                ) -> dict[str, _Waiter]:
        """Expect these events of an instance; the waiters, by 'name-tag'."""
        waiters = {}
        with self._lock:
            expected = self._events.setdefault(instance_uuid, {})
            for name in names:
                key = event_key(name)
                waiters[key] = expected.setdefault(key, _Waiter())
        return waiters

    def pop(self, instance_uuid: str, name: str, tag: str | None,
            status: str = 'completed') -> bool:
        """An event arrived: its waiter is woken (True), or nobody expected it."""
        key = event_key((name, tag))
        with self._lock:
            expected = self._events.get(instance_uuid) or {}
            waiter = expected.pop(key, None)
            if not expected:
                self._events.pop(instance_uuid, None)
        if waiter is None:
            return False
        waiter.set(status)
        return True

    def discard(self, instance_uuid: str, keys: Iterable[str]) -> None:
        """No longer expect these (the action ended without them)."""
        with self._lock:
            expected = self._events.get(instance_uuid)
            if expected is None:
                return
            for key in keys:
                expected.pop(key, None)
            if not expected:
                self._events.pop(instance_uuid, None)

    def clear(self, instance_uuid: str) -> None:
        """The instance is going away: whoever waits for its events is woken
        with a failed status rather than left until the deadline."""
        with self._lock:
            expected = self._events.pop(instance_uuid, {})
        for waiter in expected.values():
            waiter.set('failed')

    def expected(self, instance_uuid: str) -> list[str]:
        with self._lock:
            return sorted(self._events.get(instance_uuid) or {})


class ComputeVirtAPI(VirtAPI):
    """The VirtAPI of a compute manager: waits on its InstanceEvents."""

    def __init__(self, events: InstanceEvents) -> None:
        self.events = events

    @contextlib.contextmanager
    def wait_for_instance_event(self, instance: Instance, event_names: Iterable[EventName],
                                deadline: float = 300,
                                error_callback: ErrorCallback | None = None
                                ) -> Iterator[None]:
        uuid = instance['uuid']
        waiters = self.events.prepare(uuid, list(event_names))
        try:
            yield
        except BaseException:
            # The action failed: its events no longer matter.
            self.events.discard(uuid, waiters)
            raise
        if deadline <= 0:       # as Nova's vif_plugging_timeout = 0: do not wait
            self.events.discard(uuid, waiters)
            return
        end = time.monotonic() + deadline
        for key, waiter in waiters.items():
            if not waiter.wait(end - time.monotonic()):
                self.events.discard(uuid, waiters)
                LOG.warning('Timeout waiting for %s of instance %s (still expected: %s)',
                            key, uuid, [k for k, w in waiters.items() if w.status is None])
                _on_error(key, instance, error_callback, timed_out=True)
                return
            if waiter.status == 'failed':
                LOG.warning('Event %s of instance %s failed', key, uuid)
                self.events.discard(uuid, waiters)
                _on_error(key, instance, error_callback, timed_out=False)
                return
            LOG.debug('Event %s of instance %s arrived (%s)', key, uuid, waiter.status)


def _on_error(key: str, instance: Instance, callback: ErrorCallback | None,
              timed_out: bool) -> None:
    if callback is not None:
        callback(key, instance)
        return
    if CONF.vif_plugging_is_fatal:
        raise exception.VirtualInterfaceCreateException()
    LOG.warning('%s of instance %s %s; going on (vif_plugging_is_fatal is False)', key,
                instance['uuid'], 'timed out' if timed_out else 'failed')


class EventsMixin:
    """ComputeManager's side of os-server-external-events (compute RPC 1.2)."""

    instance_events: InstanceEvents

    def _init_events(self, driver: Any) -> None:
        self.instance_events = InstanceEvents()
        driver.virtapi = ComputeVirtAPI(self.instance_events)

    def external_instance_event(self, context: RequestContext,
                                instances: list[Instance],
                                events: list[dict[str, Any]]) -> None:
        """Events from Neutron or Cinder: network-changed refreshes the server's
        network info, network-vif-deleted drops the VIF (both when this host
        networks through Neutron); every event wakes whoever waits for it."""
        by_uuid = {i['uuid']: i for i in instances}
        for event in events:
            name, tag = event.get('name') or '', event.get('tag')
            uuid = event.get('server_uuid') or ''
            LOG.info('Received event %s-%s (status %s) for instance %s', name, tag,
                     event.get('status'), uuid)
            instance = by_uuid.get(uuid)
            if instance is not None:
                try:
                    self._handle_network_event(context, instance, name, tag)
                    if name == 'volume-extended':     # compute/volumes.py
                        self._handle_volume_event(context, instance, name, tag)
                except Exception:  # one event's trouble does not drop the others
                    LOG.exception('Handling event %s-%s of %s failed', name, tag, uuid)
            if name in WAITABLE and not self.instance_events.pop(
                    uuid, name, tag, event.get('status') or 'completed'):
                LOG.debug('Nobody waits for event %s-%s of %s', name, tag, uuid)

    if TYPE_CHECKING:   # what volume-extended does: compute/volumes.py
        def _handle_volume_event(self, context: RequestContext, instance: Instance,
                                 name: str, tag: str | None) -> None: ...

    def _handle_network_event(self, context: RequestContext, instance: Instance,
                              name: str, tag: str | None) -> None:
        """What network-changed and network-vif-deleted do (the network mixin's)."""
