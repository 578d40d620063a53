"""An RPC server waits for a message bus that is not ready rather than dying."""
from __future__ import annotations

import logging
from typing import Any

import amqp.exceptions
import oslo_messaging as messaging
import pytest

from minova import rpc


class FlakyServer:
    """Fails to start while the broker is not ready (`refusals` left)."""

    made: list[FlakyServer] = []
    refusals = 0

    def __init__(self) -> None:
        self.started = False
        FlakyServer.made.append(self)

    def start(self) -> None:
        if FlakyServer.refusals:
            FlakyServer.refusals -= 1
            raise amqp.exceptions.NotAllowed(
                'Connection.open: (530) NOT_ALLOWED - vhost minova not found')
        self.started = True


def test_start_server_waits_for_the_bus(monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    FlakyServer.made, FlakyServer.refusals = [], 2
    monkeypatch.setattr(rpc, 'get_server', lambda *a, **kw: FlakyServer())
    slept: list[float] = []
    monkeypatch.setattr(rpc.time, 'sleep', slept.append)
    caplog.set_level(logging.WARNING, logger=rpc.__name__)

    server: Any = rpc.start_server(messaging.Target(topic='t', server='h'), [],
                                   'minova-conductor')
    # A server whose start failed is not reused: oslo.messaging would ignore
    # a second start() of it.
    assert [s.started for s in FlakyServer.made] == [False, False, True]
    assert server is FlakyServer.made[-1]
    assert slept == [1.0, 2.0]
    assert [r.getMessage() for r in caplog.records] == [
        f'Message bus not ready; minova-conductor waits for it (retrying in {d:.0f}s): '
        'Connection.open: (530) NOT_ALLOWED - vhost minova not found' for d in (1, 2)]


def test_start_server_does_not_hide_bugs(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def start(self) -> None:
            raise TypeError('a bug')

    monkeypatch.setattr(rpc, 'get_server', lambda *a, **kw: Broken())
    with pytest.raises(TypeError):
        rpc.start_server(messaging.Target(topic='t', server='h'), [], 'minova-conductor')


def test_retry_delays_double_up_to_a_ceiling() -> None:
    delays = rpc.bus_retry_delays()
    assert [next(delays) for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
