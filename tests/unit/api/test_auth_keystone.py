"""auth_strategy = keystone without a Keystone: what the middleware does with
auth_token's headers, and what auth_token answers before it needs Keystone.

The real token validation is exercised in tests/integration/keystone.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from minova.api import wsgi
from minova.conf import CONF
from minova.conf import api as api_conf
from minova.placement import wsgi as placement_wsgi

CATALOG = [
    {'type': 'image', 'name': 'glance', 'endpoints': [
        {'interface': 'public', 'region': 'RegionOne', 'url': 'http://img.example:9292'}]},
    {'type': 'identity', 'name': 'keystone', 'endpoints': [
        {'interface': 'public', 'region': 'RegionOne', 'url': 'http://ks.example/v3'}]},
]

# What keystonemiddleware's auth_token puts on a request it has validated.
CONFIRMED = {
    'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u-1', 'X-User-Name': 'demo',
    'X-Project-Id': 'p-1', 'X-Project-Name': 'demo', 'X-Roles': 'member,reader',
    'X-User-Domain-Id': 'default', 'X-Project-Domain-Id': 'default',
    'X-Auth-Token': 'tok-123', 'X-Service-Catalog': json.dumps(CATALOG),
}


@pytest.fixture
def keystone_conf() -> Iterator[None]:
    api_conf.register_authtoken_opts(CONF)
    CONF.set_override('auth_strategy', 'keystone', group='api')
    CONF.set_override('auth_strategy', 'keystone', group='placement_api')
    yield
    CONF.clear_override('auth_strategy', group='api')
    CONF.clear_override('auth_strategy', group='placement_api')


def test_context_from_auth_token_headers(keystone_conf: None, dbs: Any) -> None:
    from minova.api import util
    seen: dict[str, Any] = {}

    class Probe:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            seen['ctx'] = util.ctx(req)
            resp.media = {}

    app = wsgi.make_falcon_app()
    app.add_route('/v2.1/probe', Probe())
    r = falcon.testing.TestClient(app).simulate_get('/v2.1/probe', headers=CONFIRMED)
    assert r.status_code == 200, r.text
    ctx = seen['ctx']
    assert (ctx.user_id, ctx.project_id, ctx.roles) == ('u-1', 'p-1', ['member', 'reader'])
    assert (ctx.user_name, ctx.project_name) == ('demo', 'demo')
    assert ctx.auth_token == 'tok-123' and not ctx.is_admin
    # Only the catalog entries of services mini-Nova calls are kept, and a
    # keystoneauth1 plugin built from the context reaches them as the user.
    assert [s['type'] for s in ctx.service_catalog] == ['image']
    from minova.clients import base
    plugin = base.user_auth_plugin(ctx)
    assert plugin.get_token(None) == 'tok-123'
    assert plugin.get_endpoint(None, service_type='image', region_name='RegionOne') == \
        'http://img.example:9292'
    # And the context survives the trip over RPC.
    again = type(ctx).from_dict(ctx.to_dict())
    assert again.service_catalog == ctx.service_catalog and again.auth_token == 'tok-123'


def test_unconfirmed_identity_is_refused(keystone_conf: None, dbs: Any) -> None:
    client = falcon.testing.TestClient(wsgi.make_falcon_app())
    for headers in ({**CONFIRMED, 'X-Identity-Status': 'Invalid'}, {}):
        r = client.simulate_get('/v2.1/flavors', headers=headers)
        assert r.status_code == 401
        assert r.json['unauthorized']['message']


def test_auth_token_guards_everything_but_version_documents(keystone_conf: None,
                                                            dbs: Any) -> None:
    CONF.set_override('www_authenticate_uri', 'http://keystone.example:5000/',
                      group='keystone_authtoken')
    try:
        client = falcon.testing.TestClient(wsgi.make_app())
        r = client.simulate_get('/v2.1/servers')
        assert r.status_code == 401
        assert r.headers['WWW-Authenticate'] == 'Keystone uri="http://keystone.example:5000/"'
        # A forged identity without a token is not believed.
        r = client.simulate_get('/v2.1/servers', headers={
            k: v for k, v in CONFIRMED.items() if k != 'X-Auth-Token'})
        assert r.status_code == 401
        for path in ('/', '/v2.1'):
            assert client.simulate_get(path).status_code == 200
        placement = falcon.testing.TestClient(placement_wsgi.make_app('sqlite://'))
        r = placement.simulate_get('/resource_providers')
        assert r.status_code == 401
        assert r.headers['WWW-Authenticate'] == 'Keystone uri="http://keystone.example:5000/"'
        assert placement.simulate_get('/').status_code == 200
    finally:
        CONF.clear_override('www_authenticate_uri', group='keystone_authtoken')
