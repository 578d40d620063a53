"""A real Keystone and a mini-Nova all-in-one that trusts it.

Keystone is bootstrapped the way the install guides do it (keystone-manage
db_sync / fernet_setup / credential_setup / bootstrap, then the `service`
project, the `nova` and `placement` service users with the admin role, the
compute, placement and image services and their endpoints), plus two
projects with a member each and a reader in project A. mini-Nova runs as
one `minova-all-in-one` in a subprocess with `[api]`/`[placement_api]
auth_strategy = keystone`, `[keystone_authtoken]`, and `[placement]`
password auth with no endpoint_override: the all-in-one serves placement
itself (on the URL the catalog names), and its scheduler and compute reach
it as the `placement` service user. `[glance]` has no endpoint either, so
the Image service is found through the catalog.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client

from tests.integration.keystone import keystone_server
from tests.processes import free_port, stop_process

PASSWORDS = {'nova': 'nova-secret', 'placement': 'placement-secret',
             'demo-a': 'demo-a-secret', 'demo-b': 'demo-b-secret',
             'reader-a': 'reader-a-secret'}


@dataclass
class Cloud:
    """What the tests need to know about the running Keystone + mini-Nova."""

    keystone: keystone_server.Keystone
    root: Path
    api_port: int
    placement_port: int
    image_port: int
    ids: dict[str, str] = field(default_factory=dict)   # name -> keystone id
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def compute_url(self) -> str:
        return f'http://127.0.0.1:{self.api_port}/v2.1'

    @property
    def placement_url(self) -> str:
        return f'http://127.0.0.1:{self.placement_port}'

    def openrc(self, user: str, project: str) -> dict[str, str]:
        """An admin-openrc style environment for `user` in `project`."""
        password = keystone_server.ADMIN_PASSWORD if user == 'admin' else PASSWORDS[user]
        env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
        env.update(OS_USERNAME=user, OS_PASSWORD=password, OS_PROJECT_NAME=project,
                   OS_USER_DOMAIN_NAME='Default', OS_PROJECT_DOMAIN_NAME='Default',
                   OS_AUTH_URL=self.keystone.url, OS_IDENTITY_API_VERSION='3')
        return env

    def session(self, user: str, project: str) -> ks_session.Session:
        env = self.openrc(user, project)
        auth = v3.Password(auth_url=env['OS_AUTH_URL'], username=user,
                           password=env['OS_PASSWORD'], project_name=project,
                           user_domain_name='Default', project_domain_name='Default')
        return ks_session.Session(auth=auth)

    def log(self) -> str:
        path = self.root / 'minova.log'
        return path.read_text(errors='replace') if path.exists() else ''


def _register(cloud: Cloud) -> None:
    """The install guide's identity set-up, done through the Identity API."""
    admin = ks_client.Client(session=cloud.session('admin', 'admin'))
    default = admin.domains.get('default')
    roles = {r.name: r for r in admin.roles.list()}
    service = admin.projects.create('service', default, description='Service Project')
    projects = {name: admin.projects.create(name, default) for name in ('projectA', 'projectB')}
    cloud.ids.update({'service': service.id, 'projectA': projects['projectA'].id,
                      'projectB': projects['projectB'].id})
    for name, project, role in (('nova', service, 'admin'), ('placement', service, 'admin'),
                                ('demo-a', projects['projectA'], 'member'),
                                ('demo-b', projects['projectB'], 'member'),
                                ('reader-a', projects['projectA'], 'reader')):
        user = admin.users.create(name, domain=default, password=PASSWORDS[name])
        admin.roles.grant(roles[role], user=user, project=project)
        cloud.ids[name] = user.id
    keystone_server.register_services(admin, {
        ('nova', 'compute'): cloud.compute_url,
        ('placement', 'placement'): cloud.placement_url,
        ('glance', 'image'): f'http://127.0.0.1:{cloud.image_port}'})


def _minova_config(cloud: Cloud) -> Path:
    path = cloud.root / 'minova.conf'
    path.write_text(f"""[DEFAULT]
state_path = {cloud.root}/state
debug = True
log_file = {cloud.root}/minova.log
[api]
auth_strategy = keystone
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {cloud.api_port}
[placement_api]
auth_strategy = keystone
bind_host = 127.0.0.1
bind_port = {cloud.placement_port}
[image_api]
bind_host = 127.0.0.1
bind_port = {cloud.image_port}
""" + keystone_server.minova_auth_conf(cloud.keystone, PASSWORDS))
    return path


def _script(name: str) -> str:
    exe = shutil.which(name)
    assert exe, f'{name} is not installed (pip install -e .)'
    return exe


def _start(cloud: Cloud, name: str, conf: Path, url: str, timeout: float = 90.0) -> None:
    out = open(cloud.root / f'{name}.out', 'ab')  # noqa: SIM115
    proc = subprocess.Popen([_script(name), '--config-file', str(conf)], stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    cloud.procs.append(proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f'{name} exited:\n' + _tail(cloud))
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.3)
    raise AssertionError(f'{name} did not come up:\n' + _tail(cloud))


def _start_minova(cloud: Cloud, conf: Path) -> None:
    """The all-in-one alone: it syncs its databases and serves placement too."""
    _start(cloud, 'minova-all-in-one', conf, cloud.compute_url)


def _tail(cloud: Cloud, lines: int = 60) -> str:
    text = ''
    for name in ('minova-all-in-one.out', 'minova.log'):
        path = cloud.root / name
        if path.exists():
            text += '\n'.join(path.read_text(errors='replace').splitlines()[-lines:])
    return text


@pytest.fixture(scope='session')
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    keystone_server.ensure_venv()
    root = tmp_path_factory.mktemp('keystone-cloud')
    keystone = keystone_server.Keystone(root / 'keystone', free_port())
    keystone.configure()
    keystone.bootstrap()
    keystone.start()
    cloud = Cloud(keystone, root, free_port(), free_port(), free_port())
    try:
        _register(cloud)
        _start_minova(cloud, _minova_config(cloud))
        yield cloud
    finally:
        for proc in reversed(cloud.procs):
            stop_process(proc)
        keystone.stop()


def openstack(cloud: Cloud, user: str, project: str, *args: str,
              check: bool = True) -> Any:
    """Run python-openstackclient as `user`; JSON output parsed when asked for."""
    exe = shutil.which('openstack')
    assert exe, 'python-openstackclient is not installed'
    proc = subprocess.run([exe, *args], env=cloud.openrc(user, project), capture_output=True,
                          text=True, timeout=180)
    if check:
        assert proc.returncode == 0, f'openstack {" ".join(args)}: {proc.stderr}\n' + \
            _tail(cloud, 20)
    return proc
