"""The in-memory oslo.messaging driver of the all-in-one (URL 'memory:/').

oslo.messaging's own 'fake' driver passes messages in memory too, but its
listeners poll their queues every 50 ms, which adds up to half a second to a
boot that crosses the bus a dozen times. This driver is the same exchange
with one change: a delivery wakes the waiting listener at once.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import oslo_messaging
from oslo_messaging._drivers import base, impl_fake


class _Exchange(impl_fake.FakeExchange):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.wakeup = threading.Condition()

    def deliver_message(self, *args: Any, **kwargs: Any) -> None:
        super().deliver_message(*args, **kwargs)
        with self.wakeup:
            self.wakeup.notify_all()


class _ExchangeManager(impl_fake.FakeExchangeManager):
    _exchanges_lock = threading.Lock()
    _exchanges: dict[str, _Exchange] = {}

    def get_exchange(self, name: str | None) -> _Exchange:
        name = name or self._default_exchange
        with self._exchanges_lock:
            return self._exchanges.setdefault(name, _Exchange(name))


class _Listener(impl_fake.FakeListener):
    @base.batch_poll_helper
    def poll(self, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        exchange = self._exchange_manager.get_exchange(self._targets[0].exchange)
        with exchange.wakeup:
            while not self._stopped.is_set():
                for target in self._targets:
                    ctxt, message, reply_q, requeue = exchange.poll(target, self._pool)
                    if message is not None:
                        return impl_fake.FakeIncomingMessage(ctxt, message, reply_q, requeue)
                wait = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
                if wait <= 0:
                    return None
                # A delivery takes this lock to notify, so none is missed
                # between the check above and this wait.
                exchange.wakeup.wait(wait)
        return None

    def stop(self) -> None:
        super().stop()
        exchange = self._exchange_manager.get_exchange(self._targets[0].exchange)
        with exchange.wakeup:
            exchange.wakeup.notify_all()


class MemoryDriver(impl_fake.FakeDriver):
    """In-process only: it connects the services of one process."""

    def __init__(self, conf: Any, url: Any, default_exchange: str | None = None,
                 allowed_remote_exmods: list[str] | None = None) -> None:
        super().__init__(conf, url, default_exchange, allowed_remote_exmods)
        self._exchange_manager = _ExchangeManager(default_exchange)

    def listen(self, target: Any, batch_size: int, batch_timeout: Any) -> Any:
        exchange = target.exchange or self._default_exchange
        listener = _Listener(self._exchange_manager, [
            oslo_messaging.Target(topic=target.topic, server=target.server,
                                  exchange=exchange),
            oslo_messaging.Target(topic=target.topic, exchange=exchange)])
        return base.PollStyleListenerAdapter(listener, batch_size, batch_timeout)
