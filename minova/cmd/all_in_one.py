"""minova-all-in-one: every service in one process, ready to use.

With nothing configured it keeps its databases as SQLite files under
state_path and connects the services through the in-memory transport, so it
needs no server. It syncs the schemas, maps cell0 and cell1 and its own host
on start-up, which an operator of a split deployment does with minova-manage.
"""
from __future__ import annotations

import logging
import os
import secrets
import sys
from typing import Any

import minova.conf
from minova import rpc
from minova.cells import manage as cells_manage
from minova.cells import mappings
from minova.cmd import common
from minova.conf import CONF
from minova.db import engines, migration
from minova.service import Service
from minova.wsgi.server import WSGIServer

LOG = logging.getLogger(__name__)


def prepare_databases() -> None:
    """Sync every schema and create the cell0/cell1 mappings if missing."""
    os.makedirs(CONF.state_path, exist_ok=True)
    migration.upgrade('api_db', engines.api_url())
    migration.upgrade('placement_db', engines.placement_url())
    migration.upgrade('main_db', engines.cell_url())
    _created, cell0 = cells_manage.map_cell0()
    migration.upgrade('main_db', cell0['database_connection'])
    if not [c for c in mappings.cell_list() if not mappings.is_cell0(c)]:
        cells_manage.create_cell('cell1', rpc.transport_url(), engines.cell_url())


class AllInOne:
    """Placement, API, conductor, scheduler and one compute, started in order."""

    def __init__(self, api_port: int | None = None, placement_port: int | None = None,
                 host: str | None = None, image_port: int | None = None) -> None:
        self.api_port = CONF.api.osapi_compute_listen_port if api_port is None else api_port
        self.placement_port: int | None = (CONF.placement_api.bind_port
                                           if placement_port is None else placement_port)
        self.host = host or CONF.host
        # Ephemeral ports for everything when the API's is (tests).
        self.image_port: int | None = (
            image_port if image_port is not None
            else 0 if api_port == 0 else CONF.image_api.bind_port)
        self.servers: list[WSGIServer] = []
        self.services: list[Service] = []
        self.overrides: list[tuple[str, str | None]] = []
        self.proxies: list[Any] = []
        self.metadata_port: int | None = None
        self.ephemeral = api_port == 0   # tests: every port ephemeral

    def start(self) -> None:
        from minova.api import errors as api_errors
        from minova.api import wsgi as api_wsgi
        from minova.conductor import manager as conductor_manager
        from minova.placement import wsgi as placement_wsgi
        from minova.scheduler import manager as scheduler_manager

        prepare_databases()
        if not CONF.neutron.metadata_proxy_shared_secret:
            # The guests' metadata sockets sign their requests to the metadata
            # service in this same process: a secret of its own, never written.
            self._override('metadata_proxy_shared_secret', secrets.token_hex(32), 'neutron')
        minova.conf.register_client_opts()  # [placement] and [glance] are read below
        # A placement of its own unless [placement] endpoint_override points at
        # another one (e.g. an upstream OpenStack Placement). auth_type and the
        # other [placement] credentials only say how to authenticate: with
        # Keystone the scheduler and compute reach this placement as the
        # placement service user, at its own URL rather than the catalog's.
        if not CONF.placement.endpoint_override:
            self._start_placement(placement_wsgi.make_app())
        else:
            self.placement_port = None
        self._start_image_service()
        for binary, topic, manager, via_conductor in (
                ('minova-conductor', 'conductor',
                 conductor_manager.ConductorManager(api_db=True), False),
                ('minova-scheduler', 'scheduler', scheduler_manager.SchedulerManager(), False)):
            svc = Service(binary, topic, manager, self.host, via_conductor=via_conductor)
            svc.start()
            self.services.append(svc)
        for n in range(CONF.all_in_one_computes):
            self.add_compute(self.host if n == 0 else f'{self.host}-{n + 1}')
        api = WSGIServer('minova-api', api_wsgi.make_app(), CONF.api.osapi_compute_listen,
                         self.api_port, error_body=api_errors.error_body)
        api.start()
        self.servers.append(api)
        self.api_port = api.port
        self._start_console_proxies()
        self._start_metadata()
        LOG.info('mini-Nova all-in-one ready: compute API on :%s, placement on %s',
                 self.api_port, CONF.placement.endpoint_override or CONF.placement.auth_type)

    def _start_placement(self, app: Any) -> None:
        """Serve placement on [placement_api] bind_host/port and point [placement] at it."""
        from minova.placement import errors as placement_errors
        # (the ports are None only once their server is not ours: never here)
        placement = WSGIServer('placement', app, CONF.placement_api.bind_host,
                               self.placement_port or 0,
                               error_body=placement_errors.error_body)
        try:
            placement.start()
        except OSError as e:
            LOG.error('Cannot serve placement on %s:%s (%s); to use a placement running '
                      'elsewhere, set [placement] endpoint_override to its URL',
                      CONF.placement_api.bind_host, self.placement_port, e)
            raise
        self.servers.append(placement)
        self.placement_port = placement.port
        host = CONF.placement_api.bind_host
        host = '127.0.0.1' if host in ('0.0.0.0', '::') else host
        self._override('endpoint_override', f'http://{host}:{placement.port}', 'placement')

    def _start_image_service(self) -> None:
        """The embedded Image service (minova-image) on [image_api] bind_host/port.

        Compute and the API's imageRef check use it, whatever the driver,
        unless [glance] names another Image service. At first start it gets
        the built-in image minova-tiny, so that a first server needs nothing.
        """
        from minova.clients import image as image_client
        from minova.image import builtin
        from minova.image import wsgi as image_wsgi
        from minova.image.store import ImageStore
        store = ImageStore(CONF.image_api.images_path)
        builtin.ensure(store)
        image = WSGIServer('minova-image', image_wsgi.make_service_app(store),
                           CONF.image_api.bind_host, self.image_port or 0)
        try:
            image.start()
        except OSError as e:
            if image_client.configured():
                LOG.warning('Image service not started (%s); using the one [glance] names', e)
                self.image_port = None
                return
            LOG.error('Cannot serve the image service on %s:%s (%s); to use an image service '
                      'running elsewhere, set [glance] api_servers or endpoint_override',
                      CONF.image_api.bind_host, self.image_port, e)
            raise
        self.servers.append(image)
        self.image_port = image.port
        if not image_client.configured():
            host = CONF.image_api.bind_host
            host = '127.0.0.1' if host in ('0.0.0.0', '::') else host
            self._override('api_servers', [f'http://{host}:{image.port}'], 'glance')

    def _start_console_proxies(self) -> None:
        """minova-novncproxy ([vnc] enabled) and minova-serialproxy ([serial_console]
        enabled) in this process. On ephemeral ports (tests) the console URLs'
        base is pointed at them. A port already taken costs the consoles, not
        the rest: the error says so and the all-in-one goes on."""
        from minova.console import websocketproxy
        ephemeral = self.api_port == 0 or self.image_port == 0
        for enabled, make, group, url_opt, scheme, path in (
                (CONF.vnc.enabled, websocketproxy.novncproxy, 'vnc', 'novncproxy_base_url',
                 'http', '/vnc_auto.html'),
                (CONF.serial_console.enabled, websocketproxy.serialproxy, 'serial_console',
                 'base_url', 'ws', '/')):
            if not enabled:
                continue
            try:
                proxy = make(port=0 if ephemeral else None)
            except OSError as e:
                LOG.error('Console proxy for [%s] not started (%s): its console URLs '
                          'will not connect', group, e)
                continue
            proxy.start()
            self.proxies.append(proxy)
            if ephemeral:
                self._override(url_opt, f'{scheme}://127.0.0.1:{proxy.port}{path}', group)

    def _start_metadata(self) -> None:
        """minova-api-metadata on [DEFAULT] metadata_listen/metadata_listen_port
        (ephemeral in tests). A port already taken costs the metadata service
        only: the error says so and the all-in-one goes on."""
        from minova.metadata import wsgi as metadata_wsgi
        server = WSGIServer('minova-api-metadata', metadata_wsgi.make_app(),
                            CONF.metadata_listen,
                            0 if self.ephemeral else CONF.metadata_listen_port)
        try:
            server.start()
        except OSError as e:
            LOG.error('Metadata service not started on %s:%s (%s)', CONF.metadata_listen,
                      CONF.metadata_listen_port, e)
            return
        self.servers.append(server)
        self.metadata_port = server.port
        if self.ephemeral:   # where the guests' metadata sockets relay to
            self._override('metadata_listen_port', server.port, None)

    def add_compute(self, host: str, manager: Any = None) -> Service:
        """Start one more compute service in this process, as host `host`,
        and map it as discover_hosts would; stop() stops it with the rest.
        manager: that of a compute removed earlier, to start it again with
        its hypervisor as it was (the fake driver's guests live in it)."""
        from minova.compute import manager as compute_manager
        svc = Service(compute_manager.BINARY, 'compute',
                      manager or compute_manager.ComputeManager(host), host,
                      via_conductor=True)
        svc.start()
        self.services.append(svc)
        cells_manage.discover_hosts()
        return svc

    def remove_compute(self, svc: Service) -> None:
        """Stop a compute started by add_compute (its records stay)."""
        svc.stop()
        self.services.remove(svc)

    def _override(self, name: str, value: Any, group: str | None) -> None:
        """CONF.set_override, undone by stop()."""
        CONF.set_override(name, value, group=group)
        self.overrides.append((name, group))

    def stop(self) -> None:
        for proxy in reversed(self.proxies):
            proxy.stop()
        self.proxies.clear()
        for server in reversed(self.servers):
            server.stop()
        for svc in reversed(self.services):
            svc.stop()
        self.servers.clear()
        self.services.clear()
        for name, group in self.overrides:
            CONF.clear_override(name, group=group)
        self.overrides.clear()


def state_path_problem() -> str | None:
    """One line saying why state_path cannot be used, or None."""
    path = CONF.state_path
    try:
        os.makedirs(path, exist_ok=True)
        writable = os.access(path, os.W_OK | os.X_OK)
        reason = 'Permission denied'
    except OSError as e:
        writable, reason = False, e.strerror or str(e)
    if writable:
        return None
    return (f'minova-all-in-one: cannot keep its state in {path} ({reason}); run it as '
            'root, or give it a directory of yours: minova-all-in-one --state-path '
            '~/minova-state')


def main(argv: list[str] | None = None) -> Any:
    common.parse_args(sys.argv[1:] if argv is None else argv)
    problem = state_path_problem()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        sys.exit(1)
    aio = AllInOne()
    aio.start()
    print(f'mini-Nova is up: compute API http://127.0.0.1:{aio.api_port}/v2.1, '
          f'placement {CONF.placement.endpoint_override}, '
          f'image http://127.0.0.1:{aio.image_port}', flush=True)
    common.wait_for_signal(aio.stop)
