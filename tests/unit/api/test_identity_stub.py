"""The identity stub under noauth2: what clients ask of Keystone, answered in noauth2's terms."""
from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from minova.api import wsgi
from minova.conf import CONF


@pytest.fixture
def sim(app: Any) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


def _password(user: str, project: str | None = None) -> dict[str, Any]:
    auth: dict[str, Any] = {'identity': {'methods': ['password'], 'password': {
        'user': {'name': user, 'domain': {'name': 'Default'}, 'password': 'x'}}}}
    if project:
        auth['scope'] = {'project': {'name': project, 'domain': {'name': 'Default'}}}
    return {'auth': auth}


def test_version_documents(sim: falcon.testing.TestClient) -> None:
    r = sim.simulate_get('/identity')
    assert r.status_code == 300
    assert r.json['versions']['values'][0]['id'].startswith('v3')
    assert sim.simulate_get('/identity/v3').json['version']['status'] == 'stable'


def test_password_token_with_project_roles_and_catalog(
        sim: falcon.testing.TestClient) -> None:
    CONF.set_override('api_servers', ['http://0.0.0.0:9292'], group='glance')
    try:
        r = sim.simulate_post('/identity/v3/auth/tokens', json=_password('alice', 'proj-a'),
                              headers={'Host': '10.0.0.5:8774'})
    finally:
        CONF.clear_override('api_servers', group='glance')
    assert r.status_code == 201
    assert r.headers['X-Subject-Token'] == 'alice:proj-a'
    token = r.json['token']
    assert token['project']['id'] == 'proj-a' and token['user']['id'] == 'alice'
    assert {role['name'] for role in token['roles']} == {'member', 'reader'}
    urls = {s['type']: s['endpoints'][0]['url'] for s in token['catalog']}
    assert urls['compute'].endswith('/v2.1') and urls['identity'].endswith('/identity/v3')
    # A loopback or wildcard address is given with the host the client used.
    assert urls['image'] == 'http://10.0.0.5:9292'
    assert {e['interface'] for e in token['catalog'][0]['endpoints']} == {
        'public', 'internal', 'admin'}


def test_catalog_names_the_cinder_in_use(sim: falcon.testing.TestClient) -> None:
    """Clients look volumes up in Cinder (openstack server add volume): the
    catalog names the [cinder] endpoint, the template with the token's project."""
    def volume_urls(project: str) -> dict[str, str]:
        r = sim.simulate_post('/identity/v3/auth/tokens', json=_password('alice', project))
        assert r.status_code == 201
        return {s['type']: s['endpoints'][0]['url'] for s in r.json['token']['catalog']
                if s['type'] in ('volumev3', 'block-storage')}

    assert volume_urls('p1') == {}      # no [cinder]: no volume service
    CONF.set_override('endpoint_template', 'http://192.0.2.7:8776/v3/%(project_id)s',
                      group='cinder')
    try:
        assert volume_urls('abc123') == {'volumev3': 'http://192.0.2.7:8776/v3/abc123',
                                         'block-storage': 'http://192.0.2.7:8776/v3/abc123'}
        r = sim.simulate_get('/identity/v3/auth/catalog',
                             headers={'X-Auth-Token': 'alice:def456'})
        assert 'http://192.0.2.7:8776/v3/def456' in {
            s['endpoints'][0]['url'] for s in r.json['catalog']}
    finally:
        CONF.clear_override('endpoint_template', group='cinder')


def test_admin_token_method_and_validation(sim: falcon.testing.TestClient) -> None:
    r = sim.simulate_post('/identity/v3/auth/tokens', json={'auth': {'identity': {
        'methods': ['token'], 'token': {'id': 'admin:admin'}}}})
    assert r.status_code == 201 and r.headers['X-Subject-Token'] == 'admin:admin'
    assert 'admin' in {role['name'] for role in r.json['token']['roles']}
    shown = sim.simulate_get('/identity/v3/auth/tokens', headers={
        'X-Auth-Token': 'admin:admin', 'X-Subject-Token': 'bob:proj-b'})
    assert shown.status_code == 200 and shown.json['token']['project']['id'] == 'proj-b'
    assert sim.simulate_get('/identity/v3/auth/tokens', headers={
        'X-Subject-Token': 'bob:proj-b'}).status_code == 401
    unscoped = sim.simulate_post('/identity/v3/auth/tokens', json=_password('carol'))
    assert unscoped.headers['X-Subject-Token'] == 'carol'
    assert 'catalog' not in unscoped.json['token']


def test_bad_requests(sim: falcon.testing.TestClient) -> None:
    r = sim.simulate_post('/identity/v3/auth/tokens', json={'nope': 1})
    assert r.status_code == 400 and r.json['error']['code'] == 400
    r = sim.simulate_post('/identity/v3/auth/tokens', json=_password('a:b', 'p'))
    assert r.status_code == 401 and 'WWW-Authenticate' in r.headers


def test_projects_users_domains(sim: falcon.testing.TestClient) -> None:
    h = {'X-Auth-Token': 'alice:proj-a'}
    assert sim.simulate_get('/identity/v3/projects/demo', headers=h).json['project'][
        'name'] == 'demo'
    assert [p['id'] for p in sim.simulate_get('/identity/v3/projects', headers=h,
                                              params={'name': 'demo'}).json['projects']] \
        == ['demo']
    assert [p['id'] for p in sim.simulate_get('/identity/v3/projects',
                                              headers=h).json['projects']] == ['proj-a']
    assert [p['id'] for p in sim.simulate_get('/identity/v3/auth/projects',
                                              headers=h).json['projects']] == ['proj-a']
    assert sim.simulate_get('/identity/v3/users/bob', headers=h).json['user']['id'] == 'bob'
    assert sim.simulate_get('/identity/v3/domains/default', headers=h).json['domain'][
        'name'] == 'Default'
    assert sim.simulate_get('/identity/v3/projects/demo').status_code == 401


def test_not_served_with_keystone(dbs: dict[str, str]) -> None:
    CONF.set_override('auth_strategy', 'keystone', group='api')
    try:
        app = wsgi.make_falcon_app()
    finally:
        CONF.clear_override('auth_strategy', group='api')
    assert falcon.testing.TestClient(app).simulate_get('/identity/v3').status_code in (
        401, 404)
