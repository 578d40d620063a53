"""oslo.messaging plumbing: transports, versioned clients and servers.

Every RPC API in mini-Nova is a small client class (conductor/rpcapi.py,
scheduler/rpcapi.py, compute/rpcapi.py) over get_client(), and a manager
served by get_server(). Arguments cross the wire as JSON primitives; the
request context travels beside them.

With no transport_url configured, the in-memory driver (minova/rpc/memory.py) is
used: it only connects services living in the same process (the
all-in-one), which is why transports are cached per URL.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import oslo_messaging as messaging
from oslo_serialization import jsonutils

from minova import context as minova_context
from minova.conf import CONF

LOG = logging.getLogger(__name__)

IN_MEMORY_URL = 'memory:/'  # minova/rpc/memory.py
BUS_RETRY_MAX = 10.0  # seconds between attempts to reach a bus that is not ready
RPC_THREADS = 16  # default [DEFAULT] executor_thread_pool_size on threads


def _register_opts() -> None:
    # transport_url and friends are registered by oslo.messaging only when a
    # transport is built; register them up front so config reads see them.
    # (The same option objects oslo.messaging registers later, so no clash.)
    from oslo_messaging import transport
    CONF.register_opts(transport._transport_opts)
    messaging.set_transport_defaults('minova')
    # oslo.messaging defaults to rabbit://; unset must mean the in-memory bus.
    CONF.set_default('transport_url', None)


_register_opts()

_transports: dict[str, messaging.Transport] = {}
_lock = threading.Lock()


def transport_url() -> str:
    return CONF.transport_url or IN_MEMORY_URL


def get_transport(url: str | None = None) -> messaging.Transport:
    url = url or transport_url()
    with _lock:
        transport = _transports.get(url)
        if transport is None:
            transport = messaging.get_rpc_transport(
                CONF, url=url, allowed_remote_exmods=['minova.exception'])
            _transports[url] = transport
        return transport


def cleanup() -> None:
    with _lock:
        for transport in _transports.values():
            transport.cleanup()
        _transports.clear()


class ContextSerializer(messaging.Serializer):
    """Context as a dict; entities as JSON primitives (datetimes become strings)."""

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return jsonutils.to_primitive(entity, convert_instances=True)

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def serialize_context(self, ctxt: minova_context.RequestContext) -> dict[str, Any]:
        return ctxt.to_dict()

    def deserialize_context(self, ctxt: dict[str, Any]) -> minova_context.RequestContext:
        return minova_context.RequestContext.from_dict(ctxt)



def bus_errors() -> tuple[type[Exception], ...]:
    """What reaching a broker that is not ready raises.

    A refused connection oslo.messaging retries by itself; a broker that is up
    but not ready (a vhost not created or still starting: 'vhost ... not
    found', 'vhost is down'; users not loaded yet: access refused) makes it
    raise amqp's and kombu's own errors, not oslo.messaging's.
    """
    import amqp.exceptions  # imported here: the in-memory bus never loads amqp
    import kombu.exceptions
    return (amqp.exceptions.AMQPError, kombu.exceptions.KombuError, OSError,
            messaging.MessagingException)


def bus_retry_delays() -> Iterator[float]:
    """1, 2, 4, ... seconds, then BUS_RETRY_MAX for ever."""
    delay = 1.0
    while True:
        yield delay
        delay = min(delay * 2, BUS_RETRY_MAX)


def get_client(target: messaging.Target, version_cap: str | None = None,
               url: str | None = None, timeout: int | None = None) -> messaging.RPCClient:
    return messaging.get_rpc_client(get_transport(url), target, version_cap=version_cap,
                                    serializer=ContextSerializer(), timeout=timeout)


def get_server(target: messaging.Target, endpoints: list[Any], url: str | None = None,
               server_cls: type | None = None) -> messaging.MessageHandlingServer:
    """An RPC server on `target`; server_cls replaces oslo.messaging's (fake computes)."""
    kwargs: dict[str, Any] = {}
    if server_cls is not None:
        kwargs['server_cls'] = server_cls
    if CONF.concurrency_backend == 'eventlet':
        kwargs['executor'] = 'eventlet'  # threading is oslo.messaging's default
    else:
        # oslo.messaging's 64 (sized for green threads) as OS threads on a
        # small host: no more throughput, but more DB connections than the
        # pool keeps (py-spy: an eighth of a busy conductor's time went to
        # opening connections), and more memory.
        from oslo_messaging import opts as messaging_opts
        for group, opts in messaging_opts.list_opts():  # registered by the server
            if group is None or group == 'DEFAULT':
                CONF.register_opts([o for o in opts if o.name == 'executor_thread_pool_size'])
        messaging_opts.set_defaults(CONF, executor_thread_pool_size=RPC_THREADS)
    endpoints = [QuietEndpoint(e, e.expected_exceptions)
                 if getattr(e, 'expected_exceptions', None) else e for e in endpoints]
    return messaging.get_rpc_server(get_transport(url), target, endpoints,
                                    serializer=ContextSerializer(),
                                    access_policy=messaging.DefaultRPCAccessPolicy, **kwargs)


def start_server(target: messaging.Target, endpoints: list[Any], what: str,
                 url: str | None = None) -> messaging.MessageHandlingServer:
    """get_server() started, waiting for the bus as long as it is not ready.

    A service must not die because it started before its broker was ready:
    it logs one line per attempt and tries again. A server whose start
    failed cannot be started again (oslo.messaging marks it started first),
    so each attempt builds a new one.
    """
    delays = bus_retry_delays()
    while True:
        server = get_server(target, endpoints, url)
        try:
            server.start()
            return server
        except bus_errors() as e:
            error = e
        # Said outside the handler: oslo.log would repeat the error there.
        delay = next(delays)
        LOG.warning('Message bus not ready; %s waits for it (retrying in %.0fs): %s',
                    what, delay, error)
        time.sleep(delay)
class QuietEndpoint:
    """An RPC endpoint whose expected errors are not logged as failures.

    A manager lists in `expected_exceptions` what its callers expect and
    handle: races such as a compute agent updating a server that is being
    deleted (InstanceNotFound, InstanceInvalidState). oslo.messaging logs
    every other exception an endpoint raises with a traceback at ERROR; these
    reach the caller unchanged (as @messaging.expected_exceptions does) and
    leave one INFO line. The manager itself stays undecorated, so that
    in-process callers get the plain exceptions.
    """

    def __init__(self, endpoint: Any, expected: tuple[type[BaseException], ...]) -> None:
        self._endpoint = endpoint
        self._expected = tuple(expected)
        self.target = getattr(endpoint, 'target', None)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._endpoint, name)
        if name.startswith('_') or not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except self._expected as e:
                LOG.info('%s: %s (an expected race, returned to the caller)', name, e)
                raise messaging.ExpectedException() from e
        return call
