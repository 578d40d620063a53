"""minova-fake-computes: many simulated compute hosts from one process.

    minova-fake-computes --count 1000 --prefix fake-   [--config-file ...]

Each host is a real ComputeManager with its own fake driver, its own service
record, compute node row and resource provider, reached over RPC on topic
`compute`, server = host, so the conductor, scheduler and placement see a
cell of that size. What would be threads per host is batched: one thread
heartbeats every host each report_interval, one flushes usage, one refreshes
resources, each going round the fleet a slice at a time over its interval.
One listener takes the messages of all hosts and routes each call by its
instance's host: on the in-memory bus and on RabbitMQ (one AMQP connection
consuming every host's queue); on other drivers each host has its own RPC
server.

The hosts talk to conductor over the configured transport_url (the in-memory
bus reaches only services in this same process: bench/scheduler_scale.py runs
the fleet beside an all-in-one that way).
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import oslo_messaging as messaging

from minova import exception, rpc, service, utils
from minova.cmd import common
from minova.compute import manager as compute_manager
from minova.compute import rpcapi as compute_rpcapi
from minova.conf import CONF
from minova.context import get_admin_context
from minova.service import Service

LOG = logging.getLogger(__name__)


class FakeHost(Service):
    """A compute service whose periodic work (and, on the in-memory bus, whose
    RPC listening) is done by its fleet."""

    def start(self, serve: bool = True) -> None:
        self.record = self._register()
        self.manager.init_host(self.record)
        if serve:
            target = messaging.Target(topic=self.topic, server=self.host)
            self._server = rpc.start_server(target, [self.manager], self.binary)

    def heartbeat(self) -> None:
        self._heartbeat()


class _Router:
    """One RPC endpoint for a whole fleet: every compute call names its
    instance, whose host says which simulated host the call was sent to."""

    def __init__(self, managers: dict[str, compute_manager.ComputeManager]) -> None:
        self.managers = managers
        self.target = compute_manager.ComputeManager.target

    def __getattr__(self, name: str) -> Any:
        if name.startswith('_') or not callable(getattr(compute_manager.ComputeManager,
                                                        name, None)):
            raise AttributeError(name)

        def call(ctxt: Any, **kwargs: Any) -> Any:
            inst = kwargs.get('instance') or {}
            mgr = self.managers.get(inst.get('host') or inst.get('node') or '')
            if mgr is None:
                raise exception.ComputeHostNotFound(host=inst.get('host'))
            return getattr(mgr, name)(ctxt, **kwargs)
        return call


class _FleetServer(messaging.rpc.server.RPCServer):
    """An RPC server whose one in-memory listener takes the messages of every
    host of the fleet (topic compute, server = host): one waiting thread,
    instead of a thousand woken by every delivery on the bus."""

    hosts: list[str] = []

    def _create_listener(self) -> Any:
        from oslo_messaging._drivers import base

        from minova.rpc import memory as rpc_memory
        driver = self.transport._driver
        exchange = self._target.exchange or driver._default_exchange
        targets = [messaging.Target(topic=self._target.topic, server=h, exchange=exchange)
                   for h in self.hosts]
        return base.PollStyleListenerAdapter(
            rpc_memory._Listener(driver._exchange_manager, targets), 1, None)


class _AmqpFleetServer(messaging.rpc.server.RPCServer):
    """The same on RabbitMQ: one connection and one listener consume the
    queue of every host of the fleet (compute.<host>), as well as the shared
    topic and fanout queues: not a connection, heartbeat thread and consumer
    per host, which made a thousand hosts in one process cost more than the
    control plane they exercise."""

    hosts: list[str] = []

    def _create_listener(self) -> Any:
        from oslo_messaging._drivers import base
        driver = self.transport._driver
        target = messaging.Target(topic=self._target.topic, server=self.hosts[0],
                                  exchange=self._target.exchange)
        adapter = driver.listen(target, 1, None)
        listener = adapter._poll_style_listener
        exchange = driver._get_exchange(target)
        for host in self.hosts[1:]:
            listener.conn.declare_topic_consumer(
                exchange_name=exchange, topic=f'{target.topic}.{host}', callback=listener)
        assert isinstance(adapter, base.PollStyleListenerAdapter)
        return adapter


def _multiplexed(hosts: list[str], router: _Router) -> messaging.MessageHandlingServer | None:
    """The fleet's single server: on the in-memory bus, and on AMQP drivers
    (rabbit); None on others, where each host serves its own."""
    from minova.rpc import memory as rpc_memory
    transport = rpc.get_transport()
    driver = transport._driver
    if isinstance(driver, rpc_memory.MemoryDriver):
        base_cls: type = _FleetServer
    elif hasattr(driver, '_get_exchange') and hasattr(driver, '_get_connection'):
        base_cls = _AmqpFleetServer
    else:
        return None
    server_cls = type('FleetServer', (base_cls,), {'hosts': list(hosts)})
    return rpc.get_server(messaging.Target(topic=compute_rpcapi.TOPIC), [router],
                          server_cls=server_cls)


class FakeComputeFleet:
    def __init__(self, count: int, prefix: str = 'fake-', start: int = 1,
                 workers: int = 8) -> None:
        self.names = [f'{prefix}{i}' for i in range(start, start + count)]
        self.workers = workers
        self.hosts: list[FakeHost] = []
        self._periodic: list[utils.Periodic] = []
        self._lock = threading.Lock()
        self._server: messaging.MessageHandlingServer | None = None

    def _start_one(self, name: str) -> FakeHost:
        host = FakeHost(compute_manager.BINARY, compute_rpcapi.TOPIC,
                        compute_manager.ComputeManager(name), name, via_conductor=True)
        host.start(serve=self._server is None)
        with self._lock:
            self.hosts.append(host)
        return host

    def start(self) -> None:
        """Start every host (a few at a time: each registers and reports inventory)."""
        self._managers: dict[str, compute_manager.ComputeManager] = {}
        self._server = _multiplexed(self.names, _Router(self._managers))
        with ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(self._start_one, self.names))
        self._managers.update({h.host: h.manager for h in self.hosts})
        if self._server is not None:
            self._server.start()
        # Heartbeats and resource refreshes go round the fleet a slice at a
        # time, spread over their interval, as a thousand separate hosts'
        # would: all at once, they made bursts of a thousand conductor calls
        # that stalled the boots being measured.
        self._periodic = [
            self._spread('fleet-heartbeat', self._each('heartbeat'), CONF.report_interval),
            utils.Periodic('fleet-flush-usage', self._each_rt('flush'), 2.0).start(),
            self._spread('fleet-update-resources',
                         self._each_rt('update_available_resource'),
                         CONF.update_resources_interval),
        ]
        LOG.info('%d fake compute hosts up', len(self.hosts))

    def _spread(self, name: str, each: Any, interval: float) -> utils.Periodic:
        """Run each(hosts) over the whole fleet every `interval`, a slice per
        tick of at most a tenth of a second."""
        ticks = max(1, min(len(self.hosts), int(interval * 10)))
        size = -(-len(self.hosts) // ticks)
        state = {'next': 0}

        def tick() -> None:
            hosts = list(self.hosts)
            start = state['next'] % max(1, len(hosts))
            state['next'] = start + size
            each(hosts[start:start + size])
        return utils.Periodic(name, tick, interval / ticks, initial_delay=interval).start()

    def _each(self, method: str) -> Any:
        def run(hosts: list[FakeHost] | None = None) -> None:
            for host in list(self.hosts) if hosts is None else hosts:
                try:
                    getattr(host, method)()
                except Exception:
                    LOG.exception('%s of %s failed', method, host.host)
        return run

    def _each_rt(self, method: str) -> Any:
        def run(hosts: list[FakeHost] | None = None) -> None:
            ctx = get_admin_context()
            for host in list(self.hosts) if hosts is None else hosts:
                try:
                    getattr(host.manager.rt, method)(ctx)
                except Exception:
                    LOG.exception('%s of %s failed', method, host.host)
        return run

    def stop(self) -> None:
        service.stop_running(self._periodic, self._server)
        self._server = None
        with ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(lambda h: h.stop(), self.hosts))
        self.hosts.clear()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='minova-fake-computes', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--count', type=int, default=100, help='hosts to simulate')
    parser.add_argument('--prefix', default='fake-', help='host name prefix')
    parser.add_argument('--start', type=int, default=1, help='number of the first host')
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    common.parse_args(rest)
    if not CONF.transport_url:
        parser.error('[DEFAULT] transport_url must reach the conductor (the in-memory bus '
                     'only connects services of one process)')
    fleet = FakeComputeFleet(args.count, args.prefix, args.start)
    fleet.start()
    print(f'{len(fleet.hosts)} fake compute hosts up ({args.prefix}{args.start}...); '
          'map them with: minova-manage cell_v2 discover_hosts', flush=True)
    common.wait_for_signal(fleet.stop)
