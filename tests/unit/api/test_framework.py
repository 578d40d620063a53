"""Versions, microversion negotiation, auth, errors and request ids."""
from __future__ import annotations

from typing import Any

import pytest

from minova.api import microversion


def test_versions_root_needs_no_token(app: Any) -> None:
    from tests.unit.api.conftest import Client
    r = Client(app, token=None, version=None).get('/')
    assert r.status_code == 200
    # as Nova: the legacy v2.0 first, then v2.1
    v20, v = r.json['versions']
    assert v20 == {'id': 'v2.0', 'status': 'DEPRECATED', 'version': '', 'min_version': '',
                   'updated': '2025-07-04T12:00:00Z',
                   'links': [{'rel': 'self', 'href': v20['links'][0]['href']}]}
    assert v20['links'][0]['href'].endswith('/v2/')
    assert v['id'] == 'v2.1' and v['status'] == 'CURRENT'
    assert v['min_version'] == '2.1' and v['version'] == microversion.MAX_VERSION
    assert v['links'][0]['href'].endswith('/v2.1/')


def test_version_document(app: Any) -> None:
    from tests.unit.api.conftest import Client
    for path in ('/v2.1', '/v2.1/'):
        r = Client(app, token=None, version=None).get(path)
        assert r.status_code == 200, path
        doc = r.json['version']
        assert doc['id'] == 'v2.1' and doc['version'] == microversion.MAX_VERSION
        assert doc['media-types'][0]['base'] == 'application/json'


def test_default_version_is_21_and_headers(admin: Any) -> None:
    r = admin.get('/flavors', version='')
    assert r.status_code == 200
    assert r.headers['OpenStack-API-Version'] == 'compute 2.1'
    assert r.headers['X-OpenStack-Nova-API-Version'] == '2.1'
    assert r.headers['Vary'] == 'OpenStack-API-Version, X-OpenStack-Nova-API-Version'
    rid = r.headers['x-openstack-request-id']
    assert rid.startswith('req-') and r.headers['x-compute-request-id'] == rid


def test_latest_and_legacy_header(admin: Any) -> None:
    r = admin.get('/flavors', version='latest')
    assert r.headers['OpenStack-API-Version'] == f'compute {microversion.MAX_VERSION}'
    r = admin.get('/flavors', version='', headers={'X-OpenStack-Nova-API-Version': '2.55'})
    assert r.headers['X-OpenStack-Nova-API-Version'] == '2.55'


def test_unsupported_version_is_406(admin: Any) -> None:
    r = admin.get('/flavors', version='2.9999')
    assert r.status_code == 406
    assert r.json == {'computeFault': {
        'code': 406, 'message': f'Version 2.9999 is not supported by the API. Minimum is '
                                f'2.1 and maximum is {microversion.MAX_VERSION}.'}}
    assert admin.get('/flavors', version='3.0').status_code == 406


def test_malformed_version_is_400(admin: Any) -> None:
    r = admin.get('/flavors', version='2.x')
    assert r.status_code == 400
    assert 'API Version String 2.x is of invalid format' in r.json['badRequest']['message']


def test_missing_token_is_401(app: Any) -> None:
    from tests.unit.api.conftest import Client
    r = Client(app, token=None).get('/flavors')
    assert r.status_code == 401
    assert r.json['unauthorized']['code'] == 401


@pytest.mark.parametrize('token', [':', ':proj', 'u' * 256, 'user:' + 'p' * 256])
def test_noauth_token_naming_no_recordable_identity_is_401(app: Any, token: str) -> None:
    # Empty or overlong ids could not be recorded with a server (and
    # placement refuses them), so a boot would never end.
    from tests.unit.api.conftest import Client
    r = Client(app, token=token).get('/flavors')
    assert r.status_code == 401, r.text
    assert r.json['unauthorized']['code'] == 401


def test_unknown_url_is_404_and_bad_method_405(admin: Any) -> None:
    r = admin.get('/no-such-thing')
    assert r.status_code == 404 and r.json['itemNotFound']['code'] == 404
    r = admin.request('PATCH', '/flavors')
    assert r.status_code == 405 and 'badMethod' in r.json


def test_malformed_json_is_400(admin: Any) -> None:
    r = admin.request('POST', '/flavors', body='{not json',
                      headers={'Content-Type': 'application/json'})
    assert r.status_code == 400
    assert r.json == {'badRequest': {'code': 400, 'message': 'Malformed request body'}}


def test_project_id_in_url(user: Any) -> None:
    r = user.get('/v2.1/proj-a/flavors')
    assert r.status_code == 200
    r = user.get('/v2.1/someone-else/flavors')
    assert r.status_code == 400
    assert "doesn't match Context's project_id" in r.json['badRequest']['message']


def test_x_roles_overrides(app: Any) -> None:
    from tests.unit.api.conftest import Client
    c = Client(app, token='carol:proj-c')
    r = c.get('/os-services', headers={'X-Roles': 'admin'})
    assert r.status_code == 200


def test_unexpected_error_is_500(admin: Any, monkeypatch: Any) -> None:
    from minova.db import flavors as flavors_db

    def boom(**kw: Any) -> None:
        raise RuntimeError('kaboom')
    monkeypatch.setattr(flavors_db, 'get_all', boom)
    r = admin.get('/flavors')
    assert r.status_code == 500
    assert r.json['computeFault']['code'] == 500


def test_policy_file_override(user: Any, tmp_path: Any) -> None:
    from minova.api import policy
    from minova.conf import CONF
    path = tmp_path / 'policy.yaml'
    path.write_text('"os_compute_api:os-services:list": "@"\n')
    assert user.get('/os-services').status_code == 403
    CONF.set_override('policy_file', str(path), group='oslo_policy')
    policy.reset()
    try:
        assert user.get('/os-services').status_code == 200
    finally:
        CONF.clear_override('policy_file', group='oslo_policy')
        policy.reset()


def test_policy_file_change_is_obeyed_within_a_second(user: Any, tmp_path: Any) -> None:
    """Decisions are remembered only until the rules are looked at again
    (at most a second later): an edited policy file takes effect."""
    import os
    import time

    from minova.api import policy
    from minova.conf import CONF
    path = tmp_path / 'policy.yaml'
    path.write_text('"os_compute_api:os-services:list": "@"\n')
    CONF.set_override('policy_file', str(path), group='oslo_policy')
    policy.reset()
    try:
        assert user.get('/os-services').status_code == 200
        assert user.get('/os-services').status_code == 200   # remembered
        path.write_text('"os_compute_api:os-services:list": "!"\n')
        later = time.time() + 5   # a new mtime even on coarse file systems
        os.utime(path, (later, later))
        time.sleep(policy.RELOAD_CHECK_SECONDS + 0.1)
        assert user.get('/os-services').status_code == 403
    finally:
        CONF.clear_override('policy_file', group='oslo_policy')
        policy.reset()
