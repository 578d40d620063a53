"""tools/minova-* scripts (no .py suffix) imported as modules for unit tests."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_tool(name: str) -> ModuleType:
    path = str(REPO / 'tools' / name)
    loader = importlib.machinery.SourceFileLoader(name.replace('-', '_') + '_tool', path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module
    loader.exec_module(module)
    return module


def keystone_sections(conf: str, user: str) -> tuple[str, str]:
    """A peer's config written behind Keystone: [keystone_authtoken] and
    [nova] both with password auth as `user` in the service project, no
    noauth leftovers; the two sections' text."""
    assert 'auth_strategy = keystone\n' in conf
    assert 'admin_token' not in conf and 'admin:admin' not in conf
    authtoken = conf.split('[keystone_authtoken]\n')[1].split('\n[')[0]
    nova = conf.split('[nova]\n')[1].split('\n[')[0]
    for section in (authtoken, nova):
        assert 'auth_type = password' in section
        assert 'auth_url = http://127.0.0.1:5000/v3' in section
        assert f'username = {user}' in section and f'password = {user}-secret' in section
        assert 'project_name = service' in section
    assert 'www_authenticate_uri = http://127.0.0.1:5000/' in authtoken
    return authtoken, nova
