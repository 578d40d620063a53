"""minova/lean.py: stand-ins for modules imported but rarely used, until they are."""
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
        from minova.clients import placement  # noqa: F401 - registers [placement] and [glance]
        assert CONF.placement.service_type == 'placement'
        assert CONF.glance.service_type == 'image' and CONF.glance.auth_type is None
        from minova.context import RequestContext
        catalog = [{'type': 'image', 'endpoints': [
            {'interface': 'public', 'url': 'http://glance:9292', 'region': 'R1'}]}]
        from minova.clients import base
        plugin = base.user_auth_plugin(RequestContext(auth_token='tok',
                                                      service_catalog=catalog))
        assert plugin.get_token() == 'tok'
        assert plugin.get_endpoint(None, service_type='image') == 'http://glance:9292'
        print('ok')
    ''') == 'ok'


def test_stand_ins_load_on_first_use() -> None:
    assert _run('''
        import sys
        import minova.cmd.compute, minova.compute.manager
        from minova import lean
        kept = [n for n in ('rfc3986', 'psutil', 'iso8601')
                if type(sys.modules[n]) is lean._Deferred]
        assert kept == ['rfc3986', 'psutil', 'iso8601'], kept
        from oslo_utils import timeutils
        assert timeutils.parse_isotime('2024-01-02T03:04:05Z').year == 2024
        import iso8601
        assert iso8601.parse_date('2024-01-02T03:04:05Z').month == 1
        assert type(sys.modules['iso8601']) is not lean._Deferred
        from oslo_config import types
        assert types.URI()('http://example.com/x') == 'http://example.com/x'
        import psutil
        assert psutil.net_if_addrs()
        print('ok')
    ''') == 'ok'


def test_stevedore_keeps_no_entry_point_table() -> None:
    assert _run('''
        import minova.cmd
        from stevedore import _cache, driver
        mgr = driver.DriverManager('oslo.messaging.drivers', 'rabbit')
        assert mgr.driver is not None
        assert not _cache._c._internal
        print('ok')
    ''') == 'ok'


def test_kombu_yaml_codec_imports_pyyaml_when_used() -> None:
    pytest.importorskip('yaml')
    pytest.importorskip('kombu')
    assert _run('''
        import sys
        import minova.cmd
        from minova import lean
        from kombu import serialization
        assert type(sys.modules['yaml']) is lean._Deferred, 'imported eagerly'
        ctype, enc, data = serialization.dumps({'a': [1, 2]}, serializer='yaml')
        assert (ctype, data) == ('application/x-yaml', 'a:\\n- 1\\n- 2\\n'), (ctype, data)
        assert serialization.loads(memoryview(data.encode()), ctype, enc,
                                   force=True) == {'a': [1, 2]}
        print('ok')
    ''') == 'ok'
