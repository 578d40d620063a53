"""minova/lean.py: a module stands in for charset_normalizer until it is used."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_requests_imports_without_charset_detection() -> None:
    pytest.importorskip('charset_normalizer')
    assert _run('''
        import sys, warnings
        warnings.simplefilter('error')  # requests warns if the version looks wrong
        import minova.cmd
        import keystoneauth1.session, requests
        assert 'charset_normalizer.api' not in sys.modules, 'imported eagerly'
        assert requests.compat.chardet.__version__ == sys.modules['charset_normalizer'].__version__
        r = requests.models.Response()
        r._content = 'ça marche, évidemment'.encode('utf-8')
        assert r.apparent_encoding == 'utf-8', r.apparent_encoding
        assert 'charset_normalizer.api' in sys.modules
        assert sys.modules['charset_normalizer'].from_bytes is requests.compat.chardet.from_bytes
        print('ok')
    ''') == 'ok'


def test_a_submodule_import_loads_the_real_module() -> None:
    pytest.importorskip('charset_normalizer')
    assert _run('''
        from minova import lean
        assert lean.defer('charset_normalizer', 'charset-normalizer')
        import charset_normalizer.api
        from charset_normalizer import from_bytes
        assert from_bytes(b'hello').best().encoding == 'ascii'
        print('ok')
    ''') == 'ok'


def test_nothing_deferred_when_imported_or_absent() -> None:
    from minova import lean
    assert not lean.defer('sys', 'python')
    assert not lean.defer('no_such_module_here', 'no-such-dist')


def test_services_that_call_no_service_do_not_import_keystoneauth() -> None:
    assert _run('''
        import sys
        import minova.cmd.placement, minova.placement.wsgi
        import minova.cmd.conductor, minova.conductor.manager
        assert 'keystoneauth1' not in sys.modules, 'imported eagerly'
        from minova.conf import CONF
        CONF([], project='minova')
        from minova import placement_client  # registers [placement] and [glance]
        assert CONF.placement.service_type == 'placement'
        assert CONF.glance.service_type == 'image' and CONF.glance.auth_type is None
        from minova.context import RequestContext
        catalog = [{'type': 'image', 'endpoints': [
            {'interface': 'public', 'url': 'http://glance:9292', 'region': 'R1'}]}]
        plugin = RequestContext(auth_token='tok', service_catalog=catalog).get_auth_plugin()
        assert plugin.get_token() == 'tok'
        assert plugin.get_endpoint(None, service_type='image') == 'http://glance:9292'
        print('ok')
    ''') == 'ok'

