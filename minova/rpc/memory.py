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
        # (topic, server) of the server queues that may hold messages: a
        # listener of a thousand servers (minova-fake-computes) looks at
        # these, not at each of its queues, whenever a message arrives.
        self.filled: set[tuple[str, str]] = set()

    def deliver_message(self, topic: str, ctxt: Any, message: Any, server: str | None = None,
                        fanout: bool = False, reply_q: Any = None) -> None:
        with self._queues_lock:
            super().deliver_message(topic, ctxt, message, server=server, fanout=fanout,
                                    reply_q=reply_q)
            if fanout:
                self.filled.update(k for k, q in self._server_queues.items()
                                   if k[0] == topic and q)
            elif server is not None:
                self.filled.add((topic, server))
        with self.wakeup:
            self.wakeup.notify_all()

    def poll(self, target: Any, pool: Any) -> Any:
        with self._queues_lock:
            found = super().poll(target, pool)
            if target.server and not self._server_queues.get((target.topic, target.server)):
                self.filled.discard((target.topic, target.server))
            return found

    def poll_servers(self, keys: set[tuple[str, str]]) -> Any:
        """The next message of any of these server queues, or None."""
        with self._queues_lock:
            for key in self.filled & keys:
                queue = self._server_queues.get(key)
                if queue:
                    found = queue.pop(0)
                    if not queue:
                        self.filled.discard(key)
                    return found
                self.filled.discard(key)
        return None


class _ExchangeManager(impl_fake.FakeExchangeManager):
    _exchanges_lock = threading.Lock()
    _exchanges: dict[str, _Exchange] = {}

    def get_exchange(self, name: str | None) -> _Exchange:
        name = name or self._default_exchange
        with self._exchanges_lock:
            return self._exchanges.setdefault(name, _Exchange(name))


class _Listener(impl_fake.FakeListener):
    MANY = 8    # targets beyond which only the filled queues are looked at

    def __init__(self, exchange_manager: Any, targets: list[Any],
                 pool: str | None = None) -> None:
        super().__init__(exchange_manager, targets, pool)
        # Worked out once: a poll per message of a thousand-host fleet's
        # listener made this set anew, a cost per boot growing with hosts.
        many = len(targets) > self.MANY
        self._servers = {(t.topic, t.server) for t in targets if t.server} if many else set()
        self._others = [t for t in targets if not t.server] if many else list(targets)

    @base.batch_poll_helper
    def poll(self, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        exchange = self._exchange_manager.get_exchange(self._targets[0].exchange)
        servers, others = self._servers, self._others
        with exchange.wakeup:
            while not self._stopped.is_set():
                found = exchange.poll_servers(servers) if servers else None
                if found is not None:
                    return impl_fake.FakeIncomingMessage(*found)
                for target in others:
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
