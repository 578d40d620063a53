"""CPU time of one interpreter split by what the threads were doing: each
RPC endpoint method, each HTTP route (API, placement, image), each periodic
task, the benchmark's own REST client, and what is left (listeners, the HTTP
servers' socket work). Exclusive thread CPU (time.thread_time, system time
included), charged to the innermost entry point running on the thread.

    with CpuByEntry() as cpu:   # installed before the services start, for
        ...                     # the periodic tasks' names
    cpu.table(per=n_boots)
"""
from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_IDS = re.compile(r'/[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|/\d+(?=/|$)')


class CpuByEntry:
    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._tls = threading.local()
        self._undo: list[Callable[[], None]] = []
        self.on = False

    @contextmanager
    def entry(self, key: str) -> Iterator[None]:
        if not self.on:
            yield
            return
        stack = getattr(self._tls, 'stack', None)
        if stack is None:
            stack = self._tls.stack = []
        now = time.thread_time()
        if stack:
            top = stack[-1]
            self.cpu[top[0]] += now - top[1]
        stack.append([key, now])
        self.calls[key] += 1
        try:
            yield
        finally:
            now = time.thread_time()
            k, t0 = stack.pop()
            self.cpu[k] += now - t0
            if stack:
                stack[-1][1] = now

    def _patch(self, owner: Any, name: str, key_of: Callable[..., str]) -> None:
        fn = getattr(owner, name)
        me = self

        def wrapped(*a: Any, **kw: Any) -> Any:
            with me.entry(key_of(*a, **kw)):
                return fn(*a, **kw)
        setattr(owner, name, wrapped)
        self._undo.append(lambda: setattr(owner, name, fn))

    def install(self) -> CpuByEntry:
        import falcon
        from oslo_messaging.rpc import dispatcher

        from minova import utils
        self._patch(dispatcher.RPCDispatcher, '_do_dispatch',
                    lambda _s, endpoint, method, *a, **k:
                    f'rpc {type(endpoint).__name__}.{method}')
        self._patch(falcon.App, '__call__',
                    lambda _s, env, *a, **k: f"http {env.get('SERVER_PORT')} "
                    f"{env['REQUEST_METHOD']} {_IDS.sub('/ID', env.get('PATH_INFO', ''))}")
        init = utils.Periodic.__init__
        me = self

        def periodic_init(p: Any, name: str, fn: Callable[[], Any], *a: Any, **kw: Any) -> None:
            def run() -> Any:
                with me.entry(f'periodic {name}'):
                    return fn()
            init(p, name, run, *a, **kw)
        utils.Periodic.__init__ = periodic_init  # type: ignore[method-assign,assignment]
        self._undo.append(lambda: setattr(utils.Periodic, '__init__', init))
        return self

    def uninstall(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    def reset(self) -> None:
        self.cpu.clear()
        self.calls.clear()

    def table(self, per: int, total: float, top: int = 40,
              ports: dict[str, str] | None = None) -> list[tuple[str, float, float]]:
        """[(entry, ms CPU per unit, calls per unit)], largest first, with
        'unattributed' the process's total less the entries'."""
        rows = []
        for orig, cpu in self.cpu.items():
            key = orig
            for port, name in (ports or {}).items():
                key = key.replace(f'http {port} ', f'{name} ')
            rows.append((key, cpu / per * 1000, self.calls.get(orig, 0) / per))
        merged: dict[str, list[float]] = {}
        for key, ms, calls in rows:
            m = merged.setdefault(key, [0.0, 0.0])
            m[0] += ms
            m[1] += calls
        out = sorted(((k, v[0], v[1]) for k, v in merged.items()), key=lambda r: -r[1])
        out.insert(0, ('unattributed (listeners, HTTP servers\' I/O, GC, ...)',
                       (total - sum(self.cpu.values())) / per * 1000, 0.0))
        return out[:top]
