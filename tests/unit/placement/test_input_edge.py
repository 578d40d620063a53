"""What placement refuses at the edge: text no database can store, JSON nested
too deep, numbers no column holds; a 400 in placement's error format."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.unit.placement.conftest import COMPUTE_INV, Client

BAD = '\ud800'


def send(client: Client, method: str, path: str, body: Any, version: str = '1.31') -> Any:
    """`body` as ASCII JSON: lone surrogates travel as \\ud800 escapes."""
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.request(method, path, body=raw, version=version,
                          headers={'Content-Type': 'application/json'})


def _error(r: Any, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    (err,) = r.json['errors']
    assert err['status'] == status and err['title'] and err['detail']
    return err


@pytest.fixture
def rp(client: Client) -> str:
    return client.make_rp('cn1', inventory=COMPUTE_INV)


def _allocation(rp: str, **over: Any) -> dict[str, Any]:
    body = {'allocations': {rp: {'resources': {'VCPU': 1}}}, 'project_id': 'p',
            'user_id': 'u', 'consumer_generation': None}
    body.update(over)
    return body


@pytest.mark.parametrize(('method', 'path', 'body'), [
    ('POST', '/resource_providers', {'name': 'n' + BAD}),
    ('PUT', '/resource_providers/{rp}', {'name': BAD}),
    ('PUT', '/allocations/{consumer}', 'project'),
    ('PUT', '/allocations/{consumer}', 'user'),
    ('POST', '/resource_classes', {'name': 'CUSTOM_' + BAD}),
    ('PUT', '/resource_providers/{rp}/traits',
     {'traits': [BAD], 'resource_provider_generation': 1}),
    ('POST', '/resource_providers', {'name': 'a\x00b'}),
])
def test_unstorable_text_is_400(client: Client, rp: str, method: str, path: str,
                                body: Any) -> None:
    if body == 'project':
        body = _allocation(rp, project_id='p' + BAD)
    elif body == 'user':
        body = _allocation(rp, user_id=BAD)
    r = send(client, method, path.format(rp=rp, consumer=uuid.uuid4()), body)
    detail = _error(r)['detail']
    assert detail.startswith('JSON does not validate: '), detail
    assert ('Lone surrogates' in detail) or ('NUL characters' in detail)
    assert client.get(f'/resource_providers/{rp}').json['name'] == 'cn1'


@pytest.mark.parametrize('path', ['/resource_providers', '/resource_providers/{rp}',
                                  '/resource_providers/{rp}/inventories',
                                  '/allocations/{consumer}', '/allocations', '/reshaper',
                                  '/resource_classes'])
def test_deeply_nested_json_is_400(client: Client, rp: str, path: str) -> None:
    method = 'POST' if path in ('/resource_providers', '/allocations', '/reshaper',
                                '/resource_classes') else 'PUT'
    for depth in (100000, 900, 65):
        r = send(client, method, path.format(rp=rp, consumer=uuid.uuid4()),
                 '[' * depth + ']' * depth)
        assert _error(r)['detail'] == 'Malformed JSON: JSON nested deeper than 64 levels'


@pytest.mark.parametrize('raw', ['{"name": NaN}', '{"name": Infinity}', '{"name": 1e400}'])
def test_non_finite_numbers_are_malformed(client: Client, raw: str) -> None:
    assert _error(send(client, 'POST', '/resource_providers', raw))['detail'].startswith(
        'Malformed JSON: ')


def test_huge_numbers_are_400(client: Client, rp: str) -> None:
    huge = 10 ** 30
    consumer = str(uuid.uuid4())
    r = send(client, 'PUT', f'/allocations/{consumer}',
             {'allocations': [{'resource_provider': {'uuid': rp},
                               'resources': {'VCPU': huge}}]}, version='1.0')
    assert 'is greater than the maximum of 2147483647' in _error(r)['detail']
    r = send(client, 'PUT', f'/allocations/{consumer}',
             _allocation(rp, consumer_generation=huge))
    assert 'is greater than the maximum' in _error(r)['detail']
    r = send(client, 'PUT', f'/allocations/{consumer}',
             {'allocations': {rp: {'resources': {'VCPU': 1}, 'generation': huge}},
              'project_id': 'p', 'user_id': 'u'}, version='1.27')
    assert 'is greater than the maximum' in _error(r)['detail']
    for path, body in ((f'/resource_providers/{rp}/inventories',
                        {'resource_provider_generation': huge, 'inventories': {}}),
                       (f'/resource_providers/{rp}/traits',
                        {'resource_provider_generation': -huge, 'traits': []}),
                       (f'/resource_providers/{rp}/aggregates',
                        {'resource_provider_generation': huge, 'aggregates': []})):
        r = send(client, 'PUT', path, body)
        assert 'the maximum' in _error(r)['detail'] or 'the minimum' in _error(r)['detail']
    assert client.get(f'/allocations/{consumer}').json['allocations'] == {}


def test_router_errors_carry_an_error_code(client: Client) -> None:
    # falcon's own 405/404 carry no code; placement's body still names one (1.23+).
    r = client.request('PATCH', '/resource_providers')
    assert r.status_code == 405
    assert r.json['errors'][0]['code'] == 'placement.undefined_code'
    assert client.get('/nope').json['errors'][0]['code'] == 'placement.undefined_code'


def test_nul_in_the_url_is_400(client: Client) -> None:
    for path in ('/resource_providers?name=a%00b', '/traits/CUSTOM_%00',
                 '/resource_classes/CUSTOM_%00'):
        detail = _error(client.get(path))['detail']
        assert detail.startswith('Invalid input in the URL: NUL'), detail


def test_noauth_ids_longer_than_a_column_are_401(app: Any) -> None:
    r = Client(app, token='u' * 256).get('/resource_providers')
    assert _error(r, 401)['detail'] == 'The request you have made requires authentication.'
