"""Version document, microversion negotiation, errors, auth, providers."""
import uuid

from tests.unit.placement.conftest import Client


def test_version_document_needs_no_token(app):
    r = Client(app, version=None, token=None).get('/')
    assert r.status_code == 200
    v = r.json['versions'][0]
    assert (v['id'], v['min_version'], v['max_version'], v['status']) == \
        ('v1.0', '1.0', '1.39', 'CURRENT')
    assert v['links'] == [{'rel': 'self', 'href': ''}]
    assert r.headers['x-openstack-request-id'].startswith('req-')


def test_microversion_headers_and_latest(client):
    r = client.get('/resource_providers', version='latest')
    assert r.status_code == 200
    assert r.headers['openstack-api-version'] == 'placement 1.39'
    assert 'openstack-api-version' in r.headers['vary']
    r = client.get('/resource_providers', version='')
    assert r.headers['openstack-api-version'] == 'placement 1.0'


def test_microversion_out_of_range_is_406(client):
    r = client.get('/resource_providers', version='1.99')
    assert r.status_code == 406
    assert 'Unacceptable version header: 1.99' in r.json['errors'][0]['detail']


def test_malformed_microversion_is_400(client):
    r = client.get('/resource_providers', version='1.x')
    assert r.status_code == 400
    assert r.json['errors'][0]['title'] == 'Bad Request'


def test_route_gated_by_version_is_404(client):
    r = client.get('/allocation_candidates?resources=VCPU:1', version='1.9')
    assert r.status_code == 404
    r = client.get('/usages?project_id=x', version='1.8')
    assert r.status_code == 404


def test_auth_required_and_policy(app):
    c = Client(app, token=None)
    r = c.get('/resource_providers')
    assert r.status_code == 401
    assert r.json['errors'][0]['status'] == 401
    r = Client(app, token='alice:proj').get('/resource_providers')
    assert r.status_code == 403


def test_error_body_format(client):
    missing = str(uuid.uuid4())
    r = client.get(f'/resource_providers/{missing}')
    assert r.status_code == 404
    err = r.json['errors'][0]
    assert err['code'] == 'placement.resource_provider.not_found'
    assert err['request_id'] == r.headers['x-openstack-request-id']
    assert missing in err['detail']
    # before 1.23 there is no code
    r = client.get(f'/resource_providers/{missing}', version='1.22')
    assert 'code' not in r.json['errors'][0]


def test_create_provider_201_before_1_20(client):
    r = client.post('/resource_providers', {'name': 'old'}, version='1.19')
    assert r.status_code == 201
    # absolute, as upstream's (webob) Location headers are
    assert r.headers['location'].startswith('http://falconframework.org/resource_providers/')
    rp = r.headers['location'].rsplit('/', 1)[1]
    assert client.get(f'/resource_providers/{rp}').json['name'] == 'old'


def test_provider_crud_and_duplicates(client):
    rp = client.make_rp('cn1')
    r = client.get(f'/resource_providers/{rp}')
    assert r.json['generation'] == 0
    assert r.json['root_provider_uuid'] == rp
    assert r.json['parent_provider_uuid'] is None
    r = client.post('/resource_providers', {'name': 'cn1'})
    assert r.status_code == 409
    assert r.json['errors'][0]['code'] == 'placement.duplicate_name'
    r = client.post('/resource_providers', {'name': 'other', 'uuid': rp}, version='1.20')
    assert r.status_code == 409
    r = client.put(f'/resource_providers/{rp}', {'name': 'renamed'})
    assert r.status_code == 200
    assert r.json['name'] == 'renamed'
    assert r.json['generation'] == 0
    names = [p['name'] for p in client.get('/resource_providers').json['resource_providers']]
    assert names == ['renamed']
    assert client.delete(f'/resource_providers/{rp}').status_code == 204
    assert client.get(f'/resource_providers/{rp}').status_code == 404
    assert client.delete(f'/resource_providers/{rp}').status_code == 404


def test_nested_providers_and_filters(client):
    root = client.make_rp('root', inventory={'VCPU': {'total': 8}})
    child = client.make_rp('child', parent=root, inventory={'VCPU': {'total': 1}})
    other = client.make_rp('other')
    r = client.get(f'/resource_providers/{child}')
    assert r.json['parent_provider_uuid'] == root
    assert r.json['root_provider_uuid'] == root
    in_tree = client.get(f'/resource_providers?in_tree={child}').json['resource_providers']
    assert sorted(p['uuid'] for p in in_tree) == sorted([root, child])
    by_name = client.get('/resource_providers?name=other').json['resource_providers']
    assert [p['uuid'] for p in by_name] == [other]
    by_uuid = client.get(f'/resource_providers?uuid={child}').json['resource_providers']
    assert [p['name'] for p in by_uuid] == ['child']
    big = client.get('/resource_providers?resources=VCPU:2').json['resource_providers']
    assert [p['uuid'] for p in big] == [root]
    r = client.delete(f'/resource_providers/{root}')
    assert r.status_code == 409
    assert r.json['errors'][0]['code'] == 'placement.resource_provider.cannot_delete_parent'
    r = client.get('/resource_providers?resources=VCPU')
    assert r.status_code == 400
    # upstream's code for query errors up to 1.31
    assert r.json['errors'][0]['code'] == 'placement.undefined_code'
    r = client.get('/resources_providers?bogus=1')
    assert r.status_code == 404
    r = client.get('/resource_providers?bogus=1')
    assert r.status_code == 400


def test_unknown_method_is_405(client):
    r = client.request('PATCH', '/resource_providers')
    assert r.status_code == 405
    assert r.json['errors'][0]['status'] == 405
