"""The compute API on fresh SQLite API and cell DBs per test, via falcon.testing."""
from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from minova import exception, utils
from minova.api import policy, util, wsgi
from minova.cells import lookup, mappings
from minova.compute.boot import BootRequest
from minova.conf import CONF
from minova.db import engines, main_tables
from tests import db_templates
from tests.falcon_client import ServiceClient


class Client(ServiceClient):
    """A test client that sends a noauth2 token and a compute microversion."""

    service = 'compute'

    def __init__(self, app: Any, token: str | None = 'admin:admin',
                 version: str | None = 'latest') -> None:
        super().__init__(app, token, version)

    def path(self, path: str) -> str:
        return path if path.startswith('/v2.1') or path == '/' else '/v2.1' + path


@contextlib.contextmanager
def compute_dbs(api_url: str, cell_url: str, cell0_url: str, state_path: str,
                migrate: Callable[[str, str], None] = db_templates.migrated,
                ) -> Iterator[dict[str, str]]:
    """The API DB and cell1 (this service's [database]) and cell0 at the
    given URLs, migrated by migrate(kind, url) and mapped; CONF and the
    API's caches set back afterwards."""
    CONF.set_override('connection', api_url, group='api_database')
    CONF.set_override('connection', cell_url, group='database')
    CONF.set_override('state_path', state_path)
    migrate('api_db', api_url)
    migrate('main_db', cell_url)
    migrate('main_db', cell0_url)
    cell0 = mappings.cell_create('cell0', 'none:///', cell0_url, uuid=mappings.CELL0_UUID)
    cell1 = mappings.cell_create('cell1', 'fake:/', cell_url)
    lookup.all_cells(refresh=True)
    policy.reset()
    yield {'api': api_url, 'cell': cell_url, 'cell0': cell0_url,
           'cell1_uuid': cell1['uuid'], 'cell0_uuid': cell0['uuid']}
    util.set_compute_api(None)
    policy.reset()
    engines.dispose_all()
    CONF.clear_override('connection', group='api_database')
    CONF.clear_override('connection', group='database')
    CONF.clear_override('state_path')
    lookup.reset()


@pytest.fixture
def dbs(tmp_path: Any) -> Iterator[dict[str, str]]:
    with compute_dbs(f'sqlite:///{tmp_path}/api.sqlite', f'sqlite:///{tmp_path}/cell1.sqlite',
                     f'sqlite:///{tmp_path}/cell0.sqlite', str(tmp_path)) as urls:
        yield urls


@pytest.fixture
def app(dbs: dict[str, str]) -> Any:
    return wsgi.make_app()


@pytest.fixture
def admin(app: Any) -> Client:
    return Client(app, token='admin:admin')


@pytest.fixture
def user(app: Any) -> Client:
    return Client(app, token='alice:proj-a')


@pytest.fixture
def other(app: Any) -> Client:
    return Client(app, token='bob:proj-b')


def insert_service(url: str, host: str, binary: str = 'minova-compute',
                   **values: Any) -> dict[str, Any]:
    now = utils.utcnow()
    row = dict(uuid=str(uuid.uuid4()), host=host, binary=binary, topic=binary,
               report_count=1, disabled=False, forced_down=False, version=1,
               last_seen_up=now, created_at=now, updated_at=now, deleted=0)
    row.update(values)
    with engines.writer(url) as conn:
        row['id'] = conn.execute(main_tables.services.insert().values(**row)
                                 ).inserted_primary_key[0]
    return row


def insert_node(url: str, host: str, **values: Any) -> dict[str, Any]:
    now = utils.utcnow()
    row = dict(uuid=str(uuid.uuid4()), host=host, hypervisor_hostname=host,
               hypervisor_type='fake', hypervisor_version=1000, host_ip='192.168.1.5',
               cpu_info='{"arch": "x86_64"}', vcpus=8, memory_mb=16384, local_gb=100,
               vcpus_used=1, memory_mb_used=512, local_gb_used=1, free_ram_mb=15872,
               free_disk_gb=99, disk_available_least=99, running_vms=1,
               mapped=1, created_at=now, updated_at=now, deleted=0)
    row.update(values)
    with engines.writer(url) as conn:
        row['id'] = conn.execute(main_tables.compute_nodes.insert().values(**row)
                                 ).inserted_primary_key[0]
    return row


def make_instance(**values: Any) -> dict[str, Any]:
    """An instance dict shaped as minova.compute.api.API returns it."""
    created = datetime.datetime(2026, 1, 2, 3, 4, 5)
    inst: dict[str, Any] = {
        'id': 7, 'uuid': str(uuid.uuid4()), 'display_name': 'vm1',
        'display_description': None, 'hostname': 'vm1', 'user_id': 'alice',
        'project_id': 'proj-a', 'image_ref': '70a599e0-31e7-49b7-b260-868f441e862b',
        'flavor': {'flavorid': '1', 'name': 'm1.tiny', 'vcpus': 1, 'memory_mb': 512,
                   'root_gb': 1, 'ephemeral_gb': 0, 'swap': 0, 'extra_specs': {}},
        'vcpus': 1, 'memory_mb': 512, 'root_gb': 1, 'ephemeral_gb': 0,
        'host': 'compute1', 'node': 'compute1', 'availability_zone': 'nova',
        'vm_state': 'active', 'task_state': None, 'power_state': 1, 'key_name': None,
        'config_drive': '', 'metadata': {'a': 'b'}, 'system_metadata': {},
        'network_info': [], 'tags': [], 'access_ip_v4': None, 'access_ip_v6': None,
        'progress': 0, 'locked': False, 'locked_by': None, 'launch_index': 0,
        'reservation_id': 'r-abc', 'root_device_name': '/dev/vda', 'user_data': None,
        'launched_at': created, 'terminated_at': None, 'created_at': created,
        'updated_at': created, 'deleted': 0, 'fault': None, 'cell_uuid': None,
    }
    inst.update(values)
    return inst


class FakeComputeAPI:
    """Stands in for minova.compute.api.API: keeps instances in a dict."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.get_all_calls: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.calls: list[tuple[str, str, Any]] = []
        self.uptime: str | None = None

    def add(self, **values: Any) -> dict[str, Any]:
        inst = make_instance(**values)
        self.instances[inst['uuid']] = inst
        return inst

    def create(self, ctx: Any, boot: BootRequest) -> tuple[list[dict[str, Any]], str]:
        from minova import quota
        quota.enforce_metadata_items(ctx.project_id, len(boot.metadata))
        quota.enforce_instances(ctx.project_id, boot.min_count, boot.flavor['vcpus'],
                                boot.flavor['memory_mb'], boot.max_count)
        self.created.append(dict(vars(boot)))
        inst = self.add(display_name=boot.name, project_id=ctx.project_id,
                        user_id=ctx.user_id, vm_state='building', task_state='scheduling',
                        host=None)
        return [inst], 'r-123'

    def get(self, ctx: Any, uuid: str, cell_down_support: bool = False,
            read_deleted: bool = False) -> dict[str, Any]:
        if uuid not in self.instances or (self.instances[uuid].get('deleted')
                                          and not read_deleted):
            raise exception.InstanceNotFound(instance_id=uuid)
        return self.instances[uuid]

    def get_all(self, ctx: Any, filters: dict[str, Any], limit: int | None,
                marker: str | None, sort_keys: list[str], sort_dirs: list[str],
                cell_down_support: bool = False, columns: list[str] | None = None
                ) -> list[dict[str, Any]]:
        self.get_all_calls.append({'filters': filters, 'limit': limit, 'marker': marker,
                                   'sort_keys': sort_keys, 'sort_dirs': sort_dirs})
        found = [i for i in self.instances.values()
                 if 'project_id' not in filters or i['project_id'] == filters['project_id']]
        if marker is not None:
            ids = [i['uuid'] for i in found]
            if marker not in ids:
                raise exception.NotFound(f'Marker {marker} could not be found.')
            found = found[ids.index(marker) + 1:]
        return found[:limit] if limit is not None else found

    def update(self, ctx: Any, instance: dict[str, Any], changes: dict[str, Any]
               ) -> dict[str, Any]:
        instance.update({k: v for k, v in changes.items() if k in instance})
        return instance

    def delete(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.deleted.append(instance['uuid'])

    def get_migrations(self, ctx: Any, filters: dict[str, Any], limit: int | None = None,
                       marker: str | None = None) -> list[dict[str, Any]]:
        from minova.compute.records import RecordsAPI  # it reads only the cell DBs
        return RecordsAPI.get_migrations(self, ctx, filters, limit, marker)  # type: ignore[arg-type]

    def get_active_by_window(self, ctx: Any, begin: Any, end: Any, project_id: Any = None,
                             limit: int | None = None, marker: str | None = None
                             ) -> list[dict[str, Any]]:
        from minova.compute.records import RecordsAPI  # it reads only the cell DBs
        return RecordsAPI.get_active_by_window(self, ctx, begin, end, project_id,  # type: ignore[arg-type]
                                               limit, marker)

    def external_instance_event(self, ctx: Any, instances: list[dict[str, Any]],
                                events: list[dict[str, Any]]) -> None:
        self.calls.append(('external_instance_event', '', events))

    # power actions and the console: recorded as (method, uuid, args)
    def reboot(self, ctx: Any, instance: dict[str, Any], reboot_type: str) -> None:
        self.calls.append(('reboot', instance['uuid'], reboot_type))

    def stop(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.calls.append(('stop', instance['uuid'], None))

    def start(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.calls.append(('start', instance['uuid'], None))

    def pause(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.calls.append(('pause', instance['uuid'], None))

    def unpause(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.calls.append(('unpause', instance['uuid'], None))

    def suspend(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.calls.append(('suspend', instance['uuid'], None))

    def resume(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.calls.append(('resume', instance['uuid'], None))

    def rescue(self, ctx: Any, instance: dict[str, Any], rescue_password: str,
               rescue_image_ref: str | None = None) -> None:
        self.calls.append(('rescue', instance['uuid'], (rescue_password, rescue_image_ref)))

    def unrescue(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.calls.append(('unrescue', instance['uuid'], None))

    def trigger_crash_dump(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.calls.append(('trigger_crash_dump', instance['uuid'], None))

    def lock(self, ctx: Any, instance: dict[str, Any], reason: str | None = None) -> None:
        self.calls.append(('lock', instance['uuid'], reason))

    def unlock(self, ctx: Any, instance: dict[str, Any]) -> None:
        self.calls.append(('unlock', instance['uuid'], None))

    def is_expected_locked_by(self, ctx: Any, instance: dict[str, Any]) -> bool:
        from minova.compute.api import API
        return API.is_expected_locked_by(ctx, instance)

    def reset_state(self, ctx: Any, instance: dict[str, Any], vm_state: str) -> None:
        self.calls.append(('reset_state', instance['uuid'], vm_state))

    def get_host_uptime(self, ctx: Any, cell: dict[str, Any], host: str) -> str:
        if self.uptime is None:   # as the fake driver: Nova's 501
            raise exception.NotSupported()
        return self.uptime

    def _guest(self, instance: dict[str, Any]) -> Any:
        from minova.virt import fake
        if not instance.get('host'):
            raise exception.InstanceNotReady(instance_id=instance['uuid'])
        driver = fake.FakeDriver()
        if instance.get('power_state') == 1:
            driver._create(instance)
        return driver

    def _diagnostics(self, instance: dict[str, Any], method: str) -> dict[str, Any]:
        """The compute manager's checks over a fake driver holding this guest."""
        import types

        from minova.compute.manager import ComputeManager
        driver = self._guest(instance)
        return ComputeManager._diagnostics(types.SimpleNamespace(driver=driver),  # type: ignore[arg-type]
                                           instance, getattr(driver, method))

    def get_diagnostics(self, ctx: Any, instance: dict[str, Any]) -> dict[str, Any]:
        return self._diagnostics(instance, 'get_diagnostics')

    def get_instance_diagnostics(self, ctx: Any, instance: dict[str, Any]) -> dict[str, Any]:
        return self._diagnostics(instance, 'get_instance_diagnostics')

    def get_console_output(self, ctx: Any, instance: dict[str, Any],
                           tail_length: int | None) -> str:
        self.calls.append(('get_console_output', instance['uuid'], tail_length))
        return 'FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE'

    def get_vnc_console(self, ctx: Any, instance: dict[str, Any], console_type: str) -> str:
        self.calls.append(('get_vnc_console', instance['uuid'], console_type))
        return 'http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3Dtok'

    def get_serial_console(self, ctx: Any, instance: dict[str, Any],
                           console_type: str) -> str:
        self.calls.append(('get_serial_console', instance['uuid'], console_type))
        return 'ws://127.0.0.1:6083/?token=tok'

    def validate_console_token(self, ctx: Any, token: str) -> dict[str, Any] | None:
        if token != 'tok':
            return None
        return {'console_type': 'novnc', 'instance_uuid': 'u', 'host': '127.0.0.1',
                'port': 5900, 'internal_access_path': None}

    def get_actions(self, ctx: Any, instance: dict[str, Any], **kwargs: Any) -> list[dict]:
        return [{'action': 'create', 'instance_uuid': instance['uuid'], 'message': None,
                 'project_id': instance['project_id'], 'request_id': 'req-1',
                 'start_time': datetime.datetime(2026, 1, 2), 'user_id': 'alice',
                 'updated_at': datetime.datetime(2026, 1, 2, 0, 1)}]

    def get_action(self, ctx: Any, instance: dict[str, Any], request_id: str) -> dict:
        if request_id != 'req-1':
            raise exception.NotFound('no such action')
        action = self.get_actions(ctx, instance)[0]
        action['events'] = [{'event': 'compute_build_and_run_instance',
                             'start_time': datetime.datetime(2026, 1, 2),
                             'finish_time': datetime.datetime(2026, 1, 2, 0, 1),
                             'result': 'Error', 'traceback': 'Traceback...',
                             'host': 'compute1', 'details': 'boom'}]
        return action


@pytest.fixture
def compute(dbs: dict[str, str]) -> FakeComputeAPI:
    fake = FakeComputeAPI()
    util.set_compute_api(fake)
    return fake
