"""tools/minova-cinder's cinder.conf: noauth by default (the cinder tier's),
Keystone with --keystone-url (Tempest's cloud), the fixed-key manager with
--fixed-key."""
from __future__ import annotations

import argparse
from pathlib import Path
from types import ModuleType

from tests.unit.tool_loader import keystone_sections, load_tool


def _tool() -> ModuleType:
    return load_tool('minova-cinder')


def _args(tmp_path: Path, **kw: str | None) -> argparse.Namespace:
    base = dict(state_dir=str(tmp_path), port=8786, database='db',
                transport_url='rabbit://guest:guest@127.0.0.1:5672/minova_cinder',
                nova_url='http://127.0.0.1:8774/v2.1', nova_token='admin:admin',
                glance_url='http://127.0.0.1:9292', keystone_url=None,
                keystone_admin_password=None, keystone_region='RegionOne',
                service_password='cinder-secret', fixed_key=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_default_is_noauth_with_admin_token_events(tmp_path: Path) -> None:
    tool = _tool()
    stack = tool.Stack(_args(tmp_path))
    stack.write_conf('db', None)
    conf = stack.conf.read_text()
    assert 'auth_strategy = noauth\n' in conf
    assert '[keystone_authtoken]' not in conf
    assert ('[nova]\n# mini-Nova\'s API under noauth2: a fixed token and its endpoint, '
            'no Keystone\nauth_type = admin_token\nendpoint = http://127.0.0.1:8774/v2.1\n'
            'token = admin:admin\nregion_name = RegionOne\n[cinder_sys_admin]') in conf
    assert stack.keystone is None and stack._token() == tool.ADMIN_TOKEN
    assert stack.project == tool.PROJECT


def test_keystone_url_writes_authtoken_and_nova_password_auth(tmp_path: Path) -> None:
    tool = _tool()
    stack = tool.Stack(_args(tmp_path, keystone_url='http://127.0.0.1:5000/v3',
                             keystone_admin_password='pw'))
    stack.write_conf('db', None)
    conf = stack.conf.read_text()
    _, nova = keystone_sections(conf, 'cinder')
    assert 'interface = public' in nova


def test_fixed_key_adds_the_key_manager_and_nothing_else(tmp_path: Path) -> None:
    tool = _tool()
    plain = tool.Stack(_args(tmp_path / 'plain'))
    plain.write_conf('db', None)
    assert '[key_manager]' not in plain.conf.read_text()
    keyed = tool.Stack(_args(tmp_path / 'keyed', fixed_key='00ff' * 16))
    keyed.write_conf('db', None)
    text = keyed.conf.read_text()
    section = text.split('[key_manager]\n')[1].split('\n[')[0]
    assert section.splitlines() == ['backend = cinder.keymgr.conf_key_mgr.ConfKeyManager',
                                    f'fixed_key = {"00ff" * 16}']
    assert text.replace(f'\n[key_manager]\n{section}', '') == \
        plain.conf.read_text().replace(str(tmp_path / 'plain'), str(tmp_path / 'keyed'))
