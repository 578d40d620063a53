"""python-openstackclient and novaclient against the all-in-one without Keystone.

They authenticate with ordinary password (or token) credentials against the
identity stub the compute API serves under noauth2 (minova.api.identity), as
the README's clouds.yaml and noauth-openrc do, and every command here goes
through the real client.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from minova.cmd.all_in_one import AllInOne
from minova.image import builtin

pytestmark = pytest.mark.skipif(not (shutil.which('openstack') and shutil.which('nova')),
                                reason="python-openstackclient and python-novaclient "
                                       "(pip install -e '.[test]')")


def _env(aio: AllInOne, tmp: Path, user: str = 'admin', project: str = 'admin'
         ) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(OS_AUTH_URL=f'http://127.0.0.1:{aio.api_port}/identity/v3',
               OS_USERNAME=user, OS_PASSWORD='anything', OS_PROJECT_NAME=project,
               OS_USER_DOMAIN_NAME='Default', OS_PROJECT_DOMAIN_NAME='Default',
               OS_IDENTITY_API_VERSION='3', OS_COMPUTE_API_VERSION='2.latest',
               HOME=str(tmp))
    return env


def _run(env: dict[str, str], *args: str, check: bool = True
         ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, f'{" ".join(args)}:\n{proc.stdout}\n{proc.stderr}'
    assert 'Traceback' not in proc.stderr, proc.stderr
    return proc


def _osc(env: dict[str, str], *args: str) -> Any:
    return json.loads(_run(env, 'openstack', *args, '-f', 'json').stdout)


@pytest.fixture(scope='module')
def env(aio: AllInOne, tmp_path_factory: pytest.TempPathFactory,
        tiny_flavor: dict[str, Any]) -> dict[str, str]:
    return _env(aio, tmp_path_factory.mktemp('osc'))


def test_openstack_quota_and_project_lookups(env: dict[str, str]) -> None:
    quotas = {q['Resource']: q['Limit'] for q in _osc(env, 'quota', 'show')}
    assert quotas['instances'] == 10
    _run(env, 'openstack', 'quota', 'set', '--instances', '15', '--cores', '30', 'demo')
    quotas = {q['Resource']: q['Limit'] for q in _osc(env, 'quota', 'show', 'demo')}
    assert (quotas['instances'], quotas['cores']) == (15, 30)
    flavor = _osc(env, 'flavor', 'create', '--vcpus', '1', '--ram', '64', '--disk', '1',
                  '--private', '--project', 'demo', 'demo-only')
    assert flavor['os-flavor-access:is_public'] is False
    access = _osc(env, 'flavor', 'show', 'demo-only')
    assert access['access_project_ids'] == ['demo']
    _run(env, 'openstack', 'flavor', 'delete', 'demo-only')


def test_openstack_versions_catalog_and_token(env: dict[str, str]) -> None:
    versions = _osc(env, 'versions', 'show')
    assert {'compute', 'identity', 'placement', 'image'} <= {v['Service Type']
                                                             for v in versions}
    compute = [v for v in versions if v['Service Type'] == 'compute'
               and v['Status'] == 'CURRENT']
    assert compute and compute[0]['Max Microversion'].startswith('2.')
    catalog = {c['Type'] for c in _osc(env, 'catalog', 'list')}
    assert catalog == {'compute', 'identity', 'placement', 'image'}
    token = _osc(env, 'token', 'issue')
    assert (token['id'], token['project_id'], token['user_id']) == ('admin:admin', 'admin',
                                                                    'admin')


def test_openstack_servers_images_and_ssh(env: dict[str, str]) -> None:
    images = _osc(env, 'image', 'list')
    assert [(i['ID'], i['Name']) for i in images] == [(builtin.TINY_IMAGE_ID, 'minova-tiny')]
    server = _osc(env, 'server', 'create', '--flavor', 'tiny', '--image', 'minova-tiny',
                  '--nic', 'none', '--wait', 'osc-vm')
    assert server['status'] == 'ACTIVE'
    # The token's project, from the identity stub, is whose usage is shown.
    usage = _osc(env, 'usage', 'show')
    assert usage['Project'] == 'admin' and len(usage['Servers']) >= 1
    listed = {s['Name']: s for s in _osc(env, 'server', 'list')}
    assert listed['osc-vm']['Image'] == 'minova-tiny'      # GET /v2/images?id=in:...
    # The client gets as far as the server's addresses: the fake driver's
    # server with no NIC has none to reach.
    ssh = _run(env, 'openstack', 'server', 'ssh', 'osc-vm', '--', '-V', check=False)
    assert ssh.returncode == 1
    assert 'No public IP version [4, 6] address found' in ssh.stderr
    # the console URL, as the install guides' `openstack console url show`
    console = _osc(env, 'console', 'url', 'show', 'osc-vm')
    assert console['protocol'] == 'vnc' and console['type'] == 'novnc'
    assert '/vnc_auto.html?path=%3Ftoken%3D' in console['url']
    refused = _run(env, 'openstack', 'console', 'url', 'show', '--serial', 'osc-vm',
                   check=False)
    assert 'Unavailable console type serial.' in refused.stderr
    out = _run(env, 'openstack', 'server', 'rebuild', '--image', 'minova-tiny', '--name',
               'osc-vm', '--property', 'role=web', '--wait', 'osc-vm', '-f', 'json')
    assert out.stdout.startswith('Complete')   # --wait says so first
    rebuilt = json.loads(out.stdout.split('\n', 1)[1])
    assert rebuilt['status'] in ('REBUILD', 'ACTIVE')   # the action's answer
    shown = _osc(env, 'server', 'show', 'osc-vm')
    assert shown['status'] == 'ACTIVE' and shown['properties'] == {'role': 'web'}
    _run(env, 'openstack', 'server', 'rescue', '--image', 'minova-tiny', '--password',
         'rescue-pw', 'osc-vm')
    _wait_osc_status(env, 'osc-vm', 'RESCUE')
    _run(env, 'openstack', 'server', 'unrescue', 'osc-vm')
    _wait_osc_status(env, 'osc-vm', 'ACTIVE')
    _run(env, 'openstack', 'server', 'delete', '--wait', 'osc-vm')


def _wait_osc_status(env: dict[str, str], server: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while (shown := _osc(env, 'server', 'show', server))['status'] != status:
        assert time.monotonic() < deadline, shown['status']
        time.sleep(0.2)


def test_a_member_sees_its_own_project(aio: AllInOne, tmp_path: Path) -> None:
    env = _env(aio, tmp_path, user='alice', project='proj-a')
    token = _osc(env, 'token', 'issue')
    assert token['project_id'] == 'proj-a'
    assert {q['Resource']: q['Limit'] for q in _osc(env, 'quota', 'show')}['instances'] > 0
    refused = _run(env, 'openstack', 'quota', 'set', '--instances', '1', 'proj-a',
                   check=False)
    assert refused.returncode == 1 and '403' in refused.stderr


def test_novaclient(env: dict[str, str], tmp_path: Path) -> None:
    assert 'instances' in _run(env, 'nova', 'quota-show').stdout
    assert '2.1' in _run(env, 'nova', 'version-list').stdout
    boot = _run(env, 'nova', 'boot', '--flavor', 'tiny', '--image', 'minova-tiny', '--nic',
                'none', '--poll', 'nova-vm').stdout
    assert 'nova-vm' in boot
    assert 'nova-vm' in _run(env, 'nova', 'list').stdout
    vnc = _run(env, 'nova', 'get-vnc-console', 'nova-vm', 'novnc').stdout
    assert 'novnc' in vnc and 'vnc_auto.html?path=%3Ftoken%3D' in vnc
    # the 2.1-2.5 action, as an old client sends it
    old = dict(env, OS_COMPUTE_API_VERSION='2.5')
    assert 'vnc_auto.html' in _run(old, 'nova', 'get-vnc-console', 'nova-vm', 'novnc').stdout
    _run(env, 'nova', 'delete', 'nova-vm')
    assert 'Servers' in _run(env, 'nova', 'usage').stdout
    # The token method works as well: a token and a project, no password.
    token_env = {k: v for k, v in env.items()
                 if k not in ('OS_USERNAME', 'OS_PASSWORD', 'OS_USER_DOMAIN_NAME')}
    token_env.update(OS_AUTH_TYPE='v3token', OS_TOKEN='admin:admin')
    assert 'Name' in _run(token_env, 'nova', 'list').stdout
