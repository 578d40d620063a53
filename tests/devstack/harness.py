"""A deployment made by minova-deploy, driven as an operator and a user drive it:
the deploy tool, minova-manage, minova-status and the REST API."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

IMAGE = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
ADMIN = {'X-Auth-Token': 'admin:admin'}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def script(name: str) -> str:
    path = shutil.which(name)
    assert path, f'{name} is not installed (pip install -e .)'
    return path


def wait(predicate: Callable[[], Any], timeout: float = 60.0, what: str = 'condition',
         interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout}s waiting for {what}')
        time.sleep(interval)


class Deployment:
    def __init__(self, root: Path, **settings: Any) -> None:
        self.root = root
        self.prefix = 'mnds_' + uuid.uuid4().hex[:8]
        self.api_port = free_port()
        self.placement_port = free_port()
        self.settings = settings

    # -- the deploy tool -------------------------------------------------------

    def deploy(self, *args: str, check: bool = True, timeout: float = 240
               ) -> subprocess.CompletedProcess:
        r = subprocess.run([script('minova-deploy'), '--state-dir', str(self.root), *args],
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f'minova-deploy {" ".join(args)}: {r.returncode}\n'
                                 f'{r.stdout}\n{r.stderr}\n{self.logs()}')
        return r

    def up(self) -> None:
        args = ['up', '--prefix', self.prefix, '--api-port', str(self.api_port),
                '--placement-port', str(self.placement_port)]
        for key, value in self.settings.items():
            if isinstance(value, list | tuple):
                for item in value:
                    args += [f'--{key.replace("_", "-")}', str(item)]
            elif value is True:
                args.append(f'--{key.replace("_", "-")}')
            else:
                args += [f'--{key.replace("_", "-")}', str(value)]
        self.deploy(*args)

    def all_running(self) -> bool:
        """Every service of the deployment has a live process (then `up`,
        which also runs discover_hosts, has nothing to start)."""
        from minova.deploy import procs
        from minova.deploy.layout import Settings
        s = Settings.load(str(self.root))
        return all(procs.running_pid(s, svc['name']) for svc in s.services())

    def teardown(self) -> None:
        self.deploy('teardown', check=False, timeout=120)

    def pid(self, name: str) -> int | None:
        try:
            return int((self.root / 'run' / f'{name}.pid').read_text())
        except (OSError, ValueError):
            return None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a service's process group, as an operator (or the OOM killer) would."""
        from minova.deploy.procs import _alive
        pid = self.pid(name)
        assert pid, f'{name} is not running'
        os.killpg(pid, sig)
        wait(lambda: not _alive(pid), 20, f'{name} to die')

    def logs(self, lines: int = 15) -> str:
        out = []
        for path in sorted((self.root / 'log').glob('*.log')) if self.root.exists() else []:
            text = path.read_text(errors='replace').splitlines()
            errors = [ln for ln in text if 'ERROR' in ln or 'Traceback' in ln][-lines:]
            if errors:
                out.append(f'--- {path.name}\n' + '\n'.join(errors))
        return '\n'.join(out)

    def conf(self) -> str:
        return str(self.root / 'etc' / 'minova.conf')

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([script('minova-manage'), '--config-file', self.conf(), *args],
                           capture_output=True, text=True, timeout=120)
        if check:
            assert r.returncode == 0, r.stdout + r.stderr
        return r

    def status_check(self) -> subprocess.CompletedProcess:
        return subprocess.run([script('minova-status'), '--config-file', self.conf(),
                               'upgrade', 'check'], capture_output=True, text=True, timeout=60)

    # -- REST ------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, version: str = 'latest',
            token: str = 'admin:admin', timeout: float = 60) -> requests.Response:
        headers = {'X-Auth-Token': token, 'OpenStack-API-Version': f'compute {version}'}
        return requests.request(method, f'http://127.0.0.1:{self.api_port}/v2.1{path}',
                                json=body, headers=headers, timeout=timeout)

    def placement(self, path: str, version: str = '1.31') -> Any:
        r = requests.get(f'http://127.0.0.1:{self.placement_port}{path}',
                         headers={'X-Auth-Token': 'admin',
                                  'OpenStack-API-Version': f'placement {version}'},
                         timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def ensure_flavor(self, name: str = 'tiny') -> None:
        r = self.api('POST', '/flavors', {'flavor': {'name': name, 'id': name, 'vcpus': 1,
                                                     'ram': 64, 'disk': 1}})
        assert r.status_code in (200, 409), r.text

    def boot(self, name: str, count: int = 1, token: str = 'admin:admin',
             **extra: Any) -> requests.Response:
        body = {'server': {'name': name, 'flavorRef': 'tiny', 'imageRef': IMAGE,
                           'networks': 'none', 'min_count': count, 'max_count': count,
                           **extra}}
        return self.api('POST', '/servers', body, token=token)

    def servers(self, version: str = 'latest', query: str = '') -> list[dict[str, Any]]:
        r = self.api('GET', '/servers/detail?all_tenants=1' + query, version=version)
        assert r.status_code == 200, r.text
        return r.json()['servers']

    def services(self, binary: str = 'nova-compute') -> dict[str, str]:
        r = self.api('GET', f'/os-services?binary={binary}')
        assert r.status_code == 200, r.text
        return {s['host']: s['state'] for s in r.json()['services']}

    def wait_settled(self, ids: list[str] | None = None, timeout: float = 120
                     ) -> list[dict[str, Any]]:
        """Until every server (or those named) is ACTIVE or ERROR."""
        def settled() -> list[dict[str, Any]] | None:
            try:
                servers = self.servers()
            except (requests.RequestException, AssertionError):
                return None
            if ids is not None:
                servers = [s for s in servers if s['id'] in ids]
            return servers if all(s['status'] in ('ACTIVE', 'ERROR')
                                  for s in servers) else None
        return wait(settled, timeout, 'servers to end ACTIVE or ERROR', 0.25)

    def allocation_consumers(self) -> set[str]:
        """Consumers holding allocations on any provider."""
        consumers: set[str] = set()
        for rp in self.placement('/resource_providers')['resource_providers']:
            allocs = self.placement(f'/resource_providers/{rp["uuid"]}/allocations')
            consumers |= set(allocs['allocations'])
        return consumers

    def assert_consistent(self) -> list[dict[str, Any]]:
        """Allocations exactly for the live servers that hold a host."""
        servers = self.servers()
        assert all(s['status'] in ('ACTIVE', 'ERROR') for s in servers), \
            [(s['id'], s['status']) for s in servers]
        active = {s['id'] for s in servers if s['status'] == 'ACTIVE'}
        assert self.allocation_consumers() == active
        return servers

    def delete_all(self) -> None:
        for s in self.servers():
            r = self.api('DELETE', f'/servers/{s["id"]}')
            assert r.status_code in (204, 404), r.text
        wait(lambda: not self.servers(), 90, 'servers to be deleted', 0.25)
        wait(lambda: not self.allocation_consumers(), 30, 'allocations to go')


def running(root: Path, **settings: Any) -> Iterator[Deployment]:
    """A deployment brought up with the 'tiny' flavor, torn down afterwards
    (for module-scoped fixtures: `yield from running(...)`)."""
    dep = Deployment(root, **settings)
    try:
        dep.up()
        dep.ensure_flavor()
        yield dep
    finally:
        dep.teardown()


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)
