"""tools/minova-neutron's neutron.conf: noauth by default (the neutron tier's),
Keystone with --keystone-url (Tempest's cloud); and the Keystone registration
tools/keystone_catalog.py does for it and for tools/minova-cinder."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from tests.unit.tool_loader import REPO, keystone_sections, load_tool


def _args(tmp_path: Path, **kw: str | None) -> argparse.Namespace:
    base = dict(state_dir=str(tmp_path), host='h1', nova_url='http://127.0.0.1:8774/v2.1',
                nova_token='admin:admin', port=9797, database='db', metadata_url='',
                metadata_secret='', keystone_url='', keystone_admin_password=None,
                keystone_region='RegionOne', service_password='neutron-secret')
    base.update(kw)
    return argparse.Namespace(**base)


def _conf(tmp_path: Path, **kw: str | None) -> tuple[Any, str]:
    stack = load_tool('minova-neutron').Stack(_args(tmp_path, **kw))
    stack._conf('db')
    return stack, (tmp_path / 'etc' / 'neutron.conf').read_text()


def test_default_is_noauth_with_admin_token_events(tmp_path: Path) -> None:
    stack, conf = _conf(tmp_path)
    assert stack.keystone is None
    assert 'auth_strategy = noauth\n' in conf and '[keystone_authtoken]' not in conf
    assert ("[nova]\n# mini-Nova's API under noauth2: a fixed token and its endpoint, "
            'no Keystone\nauth_type = admin_token\nendpoint = http://127.0.0.1:8774/v2.1\n'
            'token = admin:admin\nregion_name = RegionOne\n[oslo_concurrency]') in conf
    assert 'keystone_url' not in stack.info()


def test_keystone_url_writes_authtoken_and_nova_password_auth(tmp_path: Path) -> None:
    stack, conf = _conf(tmp_path, keystone_url='http://127.0.0.1:5000/v3',
                        keystone_admin_password='pw')
    authtoken, nova = keystone_sections(conf, 'neutron')
    for section in (authtoken, nova):
        assert 'region_name = RegionOne' in section
    assert 'endpoint_type = public' in nova
    assert stack.info()['auth_strategy'] == 'keystone'


def test_keystone_url_needs_the_admin_password(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    tool = load_tool('minova-neutron')
    monkeypatch.setattr('sys.argv', ['minova-neutron', 'status', '--keystone-url',
                                     'http://127.0.0.1:5000/v3'])
    monkeypatch.delenv('MINOVA_NEUTRON_KEYSTONE_ADMIN_PASSWORD', raising=False)
    with pytest.raises(SystemExit) as exit_:
        tool.main()
    assert exit_.value.code == 2
    assert '--keystone-url needs --keystone-admin-password' in capsys.readouterr().err


class FakeKeystone:
    """The Identity API calls register() makes, recorded; what exists answered."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.services = [{'id': 'old-net'}]

    def __call__(self, method: str, path: str, body: Any = None,
                 token: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
        self.calls.append((method, path, body))
        if method == 'GET' and path.startswith('/services?'):
            return {'services': self.services}, {}
        if method == 'GET':     # no user, project or role exists yet
            kind = path[1:].split('?')[0]
            return {kind: []}, {}
        if method == 'POST' and path != '/endpoints':
            one = path[1:-1]
            return {one: dict(body[one], id=f'{one}-id')}, {}
        return {}, {}


def test_register_makes_the_user_roles_service_and_endpoints(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    sys.path.insert(0, str(REPO / 'tools'))
    import keystone_catalog
    ks = keystone_catalog.Keystone('http://127.0.0.1:5000/v3/', 'pw')
    fake = FakeKeystone()
    monkeypatch.setattr(ks, 'call', fake)
    ks.register('neutron', 'secret', 'RegionOne',
                (('neutron', 'network', 'OpenStack Networking'),), 'http://127.0.0.1:9696')
    posts = [(p, b) for m, p, b in fake.calls if m == 'POST']
    assert ('/users', {'user': {'name': 'neutron', 'domain_id': 'default',
                                'password': 'secret'}}) in posts
    grants = [p for m, p, _ in fake.calls if m == 'PUT']
    assert grants == ['/projects/project-id/users/user-id/roles/role-id'] * 2
    assert ('DELETE', '/services/old-net', None) in fake.calls   # replaced, endpoints too
    assert ('/services', {'service': {'name': 'neutron', 'type': 'network',
                                      'description': 'OpenStack Networking'}}) in posts
    endpoints = [b['endpoint'] for p, b in posts if p == '/endpoints']
    assert sorted(e['interface'] for e in endpoints) == ['admin', 'internal', 'public']
    assert {(e['url'], e['region_id'], e['service_id']) for e in endpoints} == {
        ('http://127.0.0.1:9696', 'RegionOne', 'service-id')}
