"""The compute host's expected events: prepare, arrive (early, twice, failed),
wait with a deadline, and what a timeout does per vif_plugging_is_fatal."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from minova import exception
from minova.compute.events import ComputeVirtAPI, EventsMixin, InstanceEvents
from minova.conf import CONF
from minova.virt.virtapi import VirtAPI

INST: Any = {'uuid': 'u1'}
PLUGGED = ('network-vif-plugged', 'p1')


class Manager(EventsMixin):
    def __init__(self) -> None:
        self.driver = type('D', (), {})()
        self._init_events(self.driver)


def _event(name: str = 'network-vif-plugged', tag: str | None = 'p1',
           status: str = 'completed', uuid: str = 'u1') -> dict[str, Any]:
    return {'name': name, 'tag': tag, 'status': status, 'server_uuid': uuid}


def _later(fn: Any, delay: float = 0.05) -> threading.Timer:
    t = threading.Timer(delay, fn)
    t.start()
    return t


def test_manager_sets_virtapi_on_driver() -> None:
    m = Manager()
    assert isinstance(m.driver.virtapi, ComputeVirtAPI)
    assert m.driver.virtapi.events is m.instance_events


def test_event_arriving_while_action_runs_is_waited_for() -> None:
    m = Manager()
    start = time.monotonic()
    with m.driver.virtapi.wait_for_instance_event(INST, [PLUGGED], deadline=5):
        _later(lambda: m.external_instance_event(None, [INST], [_event()]))
    assert time.monotonic() - start < 2
    assert m.instance_events.expected('u1') == []


def test_event_arriving_inside_the_block_before_the_wait() -> None:
    m = Manager()
    with m.driver.virtapi.wait_for_instance_event(INST, ['network-vif-plugged-p1'], 5):
        m.external_instance_event(None, [INST], [_event()])
    assert m.instance_events.expected('u1') == []


def test_early_and_duplicate_events_are_dropped_quietly() -> None:
    m = Manager()
    # before anyone expects it: nothing happens, nothing is remembered
    m.external_instance_event(None, [INST], [_event()])
    assert m.instance_events.expected('u1') == []
    with m.driver.virtapi.wait_for_instance_event(INST, [PLUGGED], deadline=5):
        m.external_instance_event(None, [INST], [_event(), _event()])
    m.external_instance_event(None, [INST], [_event()])   # a third, after the wait
    assert m.instance_events.expected('u1') == []


def test_several_events_each_awaited() -> None:
    m = Manager()
    names = [('network-vif-plugged', 'p1'), ('network-vif-plugged', 'p2')]
    with m.driver.virtapi.wait_for_instance_event(INST, names, deadline=5):
        m.external_instance_event(None, [INST], [_event(tag='p2')])
        assert m.instance_events.expected('u1') == ['network-vif-plugged-p1']
        _later(lambda: m.external_instance_event(None, [INST], [_event(tag='p1')]))


def test_timeout_is_fatal_by_default() -> None:
    assert CONF.vif_plugging_is_fatal is True and CONF.vif_plugging_timeout == 300
    m = Manager()
    with pytest.raises(exception.VirtualInterfaceCreateException):
        with m.driver.virtapi.wait_for_instance_event(INST, [PLUGGED], deadline=0.1):
            pass
    assert m.instance_events.expected('u1') == []


def test_timeout_not_fatal_goes_on() -> None:
    CONF.set_override('vif_plugging_is_fatal', False)
    try:
        m = Manager()
        with m.driver.virtapi.wait_for_instance_event(INST, [PLUGGED], deadline=0.1):
            pass
    finally:
        CONF.clear_override('vif_plugging_is_fatal')


def test_timeout_calls_error_callback() -> None:
    m = Manager()
    seen: list[Any] = []
    with m.driver.virtapi.wait_for_instance_event(
            INST, [PLUGGED], deadline=0.1,
            error_callback=lambda name, inst: seen.append((name, inst['uuid']))):
        pass
    assert seen == [('network-vif-plugged-p1', 'u1')]


def test_failed_event_calls_back_or_raises() -> None:
    m = Manager()
    seen: list[str] = []
    with m.driver.virtapi.wait_for_instance_event(
            INST, [PLUGGED], 5, error_callback=lambda name, inst: seen.append(name)):
        m.external_instance_event(None, [INST], [_event(status='failed')])
    assert seen == ['network-vif-plugged-p1']
    with pytest.raises(exception.VirtualInterfaceCreateException):
        with m.driver.virtapi.wait_for_instance_event(INST, [PLUGGED], 5):
            m.external_instance_event(None, [INST], [_event(status='failed')])


def test_deadline_zero_does_not_wait() -> None:
    m = Manager()
    start = time.monotonic()
    with m.driver.virtapi.wait_for_instance_event(INST, [PLUGGED], deadline=0):
        pass
    assert time.monotonic() - start < 0.5
    assert m.instance_events.expected('u1') == []


def test_body_failure_discards_expectations() -> None:
    m = Manager()
    with pytest.raises(RuntimeError):
        with m.driver.virtapi.wait_for_instance_event(INST, [PLUGGED], deadline=5):
            raise RuntimeError('spawn failed')
    assert m.instance_events.expected('u1') == []


def test_clear_wakes_waiters_as_failed() -> None:
    events = InstanceEvents()
    api = ComputeVirtAPI(events)
    seen: list[str] = []
    start = time.monotonic()
    with api.wait_for_instance_event(INST, [PLUGGED], 5,
                                     error_callback=lambda n, i: seen.append(n)):
        _later(lambda: events.clear('u1'))
    assert seen == ['network-vif-plugged-p1'] and time.monotonic() - start < 2


def test_events_of_other_instances_do_not_wake() -> None:
    m = Manager()
    with pytest.raises(exception.VirtualInterfaceCreateException):
        with m.driver.virtapi.wait_for_instance_event(INST, [PLUGGED], deadline=0.2):
            m.external_instance_event(None, [{'uuid': 'u2'}], [_event(uuid='u2')])


def test_concurrent_waiters_on_many_instances() -> None:
    m = Manager()
    errors: list[BaseException] = []

    def run(i: int) -> None:
        inst = {'uuid': f'i{i}'}
        try:
            with m.driver.virtapi.wait_for_instance_event(inst, [PLUGGED], deadline=5):
                _later(lambda: m.external_instance_event(
                    None, [inst], [_event(uuid=f'i{i}')]), 0.01)
        except BaseException as e:  # noqa: BLE001 - collected for the assert
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_base_virtapi_waits_for_nothing() -> None:
    with VirtAPI().wait_for_instance_event(INST, [PLUGGED], deadline=5):
        pass
