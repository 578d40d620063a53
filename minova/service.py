"""An RPC service: a manager served on its topic, with a service record,
heartbeats and periodic tasks.

Compute agents reach their service record through conductor (they hold no
DB credentials) and wait for conductor at start-up; conductor and scheduler
write theirs directly.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import oslo_messaging as messaging

from minova import rpc, utils
from minova.conf import CONF
from minova.context import get_admin_context

LOG = logging.getLogger(__name__)

SERVICE_VERSION = 1


class Service:
    """One RPC service. Those `via_conductor` (compute) never import the DB
    layer: SQLAlchemy alone is about 11 MiB of each process."""

    def __init__(self, binary: str, topic: str, manager: Any, host: str | None = None,
                 via_conductor: bool = False) -> None:
        self.binary = binary
        self.topic = topic
        self.manager = manager
        self.host = host or CONF.host
        self.via_conductor = via_conductor
        self.record: dict[str, Any] | None = None
        self._server: messaging.MessageHandlingServer | None = None
        self._periodic: list[utils.Periodic] = []

    def _register(self) -> dict[str, Any]:
        ctx = get_admin_context()
        if not self.via_conductor:
            from minova.db import engines, services
            return services.get_or_create(engines.cell_url(), self.host, self.binary,
                                          self.topic, SERVICE_VERSION)
        from minova.conductor import rpcapi
        conductor = rpcapi.ConductorAPI(timeout=10)
        delays = rpc.bus_retry_delays()
        while True:
            try:
                return conductor.service_get_or_create(ctx, self.host, self.binary,
                                                       self.topic, SERVICE_VERSION)
            except messaging.MessagingTimeout:
                waiting = f'Waiting for conductor to answer before {self.binary} starts...'
            except Exception as e:  # noqa: BLE001 - amqp errors are not oslo's
                # e.g. 'vhost is down': a vhost still starting on a fresh broker
                waiting = f'Message bus not ready before {self.binary} starts: {e}'
            # Said outside the handler: oslo.log would repeat the error there.
            LOG.warning('%s', waiting)
            time.sleep(next(delays))

    def _heartbeat(self) -> None:
        assert self.record is not None
        if self.via_conductor:
            self.manager.conductor.service_heartbeat(get_admin_context(), self.record['id'])
        else:
            from minova.db import engines, services
            services.heartbeat(engines.cell_url(), self.record['id'])

    def _beat_once(self) -> None:
        try:
            self._heartbeat()
        except Exception:  # noqa: BLE001 - the periodic heartbeat tries again
            LOG.warning('First heartbeat of %s on %s failed; the next one is in %ss',
                        self.binary, self.host, CONF.report_interval, exc_info=True)

    def start(self) -> None:
        self.record = self._register()
        if hasattr(self.manager, 'init_host'):
            self.manager.init_host(self.record)
        target = messaging.Target(topic=self.topic, server=self.host)
        self._server = rpc.start_server(target, [self.manager], self.binary)
        # Heard from now, not one report_interval later: a restart that took
        # longer than service_down_time (an init_host that rolled moves back)
        # would otherwise be serving yet seen as down, and the scheduler's
        # ComputeFilter would turn away the first request it is sent.
        self._beat_once()
        self._periodic.append(utils.Periodic(f'{self.binary}-heartbeat', self._heartbeat,
                                             CONF.report_interval).start())
        if hasattr(self.manager, 'periodic_tasks'):
            self._periodic.extend(p.start() for p in self.manager.periodic_tasks())
        LOG.info('%s started on %s (topic %s)', self.binary, self.host, self.topic)

    def stop(self) -> None:
        stop_running(self._periodic, self._server)
        self._server = None


def stop_running(periodic: list[utils.Periodic],
                 server: messaging.MessageHandlingServer | None) -> None:
    """Stop periodic tasks (emptying the list), then the RPC server, if any."""
    for p in periodic:
        p.stop()
    periodic.clear()
    if server is not None:
        server.stop()
        server.wait()
