"""The placement client against the real placement app over HTTP."""
import uuid

import pytest

from minova import exception
from minova.clients.placement import Client
from minova.conf import CONF
from minova.context import RequestContext
from minova.db import engines, migration
from minova.placement import wsgi
from minova.virt.fake import FakeDriver
from minova.wsgi.server import WSGIServer

INV = {'VCPU': {'total': 2, 'allocation_ratio': 1.0},
       'MEMORY_MB': {'total': 1024, 'reserved': 0},
       'DISK_GB': {'total': 10}}


@pytest.fixture
def placement(tmp_path):
    url = f'sqlite:///{tmp_path}/placement.sqlite'
    CONF.set_override('connection', url, group='placement_database')
    migration.upgrade('placement_db', url)
    server = WSGIServer('placement', wsgi.make_app(), host='127.0.0.1', port=0)
    server.start()
    CONF.set_override('endpoint_override', f'http://127.0.0.1:{server.port}',
                      group='placement')
    yield server
    server.stop()
    CONF.clear_override('endpoint_override', group='placement')
    CONF.clear_override('connection', group='placement_database')
    engines.dispose_all()


def test_client_end_to_end(placement):
    ctx = RequestContext(user_id='u', project_id='p', global_request_id=f'req-{uuid.uuid4()}')
    client = Client()
    rp = str(uuid.uuid4())
    provider = client.ensure_resource_provider(ctx, rp, 'cn1')
    assert provider['uuid'] == rp and provider['generation'] == 0
    assert client.ensure_resource_provider(ctx, rp, 'cn1')['uuid'] == rp
    client.set_inventory(ctx, rp, INV)
    client.set_inventory(ctx, rp, INV)          # unchanged: no new generation
    assert client.get_resource_provider(ctx, rp)['generation'] == 1

    reqs, summaries = client.get_allocation_candidates(
        ctx, {'VCPU': 2, 'MEMORY_MB': 512, 'DISK_GB': 1}, limit=10)
    assert len(reqs) == 1
    assert summaries[rp]['resources']['VCPU'] == {'capacity': 2, 'used': 0}
    c1, c2 = str(uuid.uuid4()), str(uuid.uuid4())
    assert client.claim_resources(ctx, c1, reqs[0], 'p', 'u') is True
    # the same request again no longer fits
    assert client.claim_resources(ctx, c2, reqs[0], 'p', 'u') is False
    assert client.get_allocation_candidates(ctx, {'VCPU': 1}, limit=10) == ([], {})
    allocs = client.get_allocations_for_consumer(ctx, c1)
    assert allocs[rp]['resources'] == {'VCPU': 2, 'MEMORY_MB': 512, 'DISK_GB': 1}
    assert client.get_usages(ctx, rp) == {'VCPU': 2, 'MEMORY_MB': 512, 'DISK_GB': 1}

    assert client.delete_allocation_for_instance(ctx, c1) is True
    assert client.delete_allocation_for_instance(ctx, c1) is False
    assert client.get_usages(ctx, rp) == {'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0}
    assert client.get_allocations_for_consumer(ctx, c1) == {}

    # inventory changed elsewhere: the client refreshes its generation and retries
    other = Client()
    other.set_inventory(ctx, rp, {**INV, 'VCPU': {'total': 4}})
    client.set_inventory(ctx, rp, {**INV, 'VCPU': {'total': 8}})
    assert client.get_allocation_candidates(ctx, {'VCPU': 8}, limit=1)[0]

    client.delete_resource_provider(ctx, rp)
    assert client.get_resource_provider(ctx, rp) is None


def test_evacuation_claim_adds_to_what_the_server_holds(placement):
    """keep_existing (an evacuation's claim) adds the destination to the
    consumer's allocation; remove_provider_from_allocation drops one provider
    and keeps the rest."""
    ctx = RequestContext(user_id='u', project_id='p')
    client = Client()
    src, dst = str(uuid.uuid4()), str(uuid.uuid4())
    for rp, name in ((src, 'src'), (dst, 'dst')):
        client.ensure_resource_provider(ctx, rp, name)
        client.set_inventory(ctx, rp, INV)
    server = str(uuid.uuid4())
    one = {'VCPU': 1, 'MEMORY_MB': 256, 'DISK_GB': 1}
    assert client.claim_resources(ctx, server, {'allocations': {src: {'resources': one}}},
                                  'p', 'u')
    # Without keep_existing an existing consumer is refused (a new one is expected).
    assert client.claim_resources(ctx, server, {'allocations': {dst: {'resources': one}}},
                                  'p', 'u') is False
    assert client.claim_resources(ctx, server, {'allocations': {dst: {'resources': one}}},
                                  'p', 'u', keep_existing=True)
    held = client.get_allocations_for_consumer(ctx, server)
    assert {rp: a['resources'] for rp, a in held.items()} == {src: one, dst: one}
    assert client.remove_provider_from_allocation(ctx, server, src) is True
    assert client.remove_provider_from_allocation(ctx, server, src) is False
    held = client.get_allocations_for_consumer(ctx, server)
    assert {rp: a['resources'] for rp, a in held.items()} == {dst: one}
    assert client.get_usages(ctx, src) == {'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0}


def test_client_unreachable(monkeypatch):
    import minova.clients.placement as pc
    monkeypatch.setattr(pc, 'RETRY_SLEEP', 0)
    CONF.set_override('endpoint_override', 'http://127.0.0.1:9', group='placement')
    try:
        with pytest.raises(exception.PlacementAPIConnectFailure):
            Client().claim_resources(
                RequestContext(), str(uuid.uuid4()), {'allocations': {}}, 'p', 'u')
    finally:
        CONF.clear_override('endpoint_override', group='placement')


def test_unreachable_placement_says_why(monkeypatch):
    import minova.clients.placement as pc
    monkeypatch.setattr(pc, 'RETRY_SLEEP', 0)
    CONF.set_override('endpoint_override', 'http://127.0.0.1:9', group='placement')
    try:
        with pytest.raises(exception.PlacementAPIConnectFailure) as err:
            Client().get_resource_provider(RequestContext(), str(uuid.uuid4()))
    finally:
        CONF.clear_override('endpoint_override', group='placement')
    assert str(err.value).startswith('Unable to communicate with the Placement API: ')
    assert '127.0.0.1:9' in str(err.value)


def test_placement_on_an_unsynced_db_answers_503_until_synced(tmp_path, caplog):
    """A running placement whose DB has no schema yet: 503 with an error body
    that says what to do (and one log line), then, once the DB is synced,
    the same process answers, with nothing restarted."""
    from minova.compute.resource_tracker import ResourceTracker
    url = f'sqlite:///{tmp_path}/placement.sqlite'
    CONF.set_override('connection', url, group='placement_database')
    server = WSGIServer('placement', wsgi.make_app(), host='127.0.0.1', port=0)
    server.start()
    CONF.set_override('endpoint_override', f'http://127.0.0.1:{server.port}',
                      group='placement')
    try:
        ctx = RequestContext()
        client = Client()
        for _ in range(2):
            with pytest.raises(exception.PlacementAPIUnavailable) as err:
                client.get_resource_provider(ctx, str(uuid.uuid4()))
        assert err.value.kwargs['status'] == 503
        assert "run 'minova-manage placement_db sync'" in str(err.value)
        said = [r for r in caplog.records if r.name == 'minova.placement.wsgi']
        assert len(said) == 1 and 'not ready' in said[0].getMessage()

        # The compute's resource update: one line, and it tries again later.
        rt = ResourceTracker('h1', FakeDriver(), None, client)
        res = {'vcpus': 2, 'memory_mb': 2048, 'local_gb': 10}
        rp = str(uuid.uuid4())
        assert rt.report_to_placement(ctx, 'h1', rp, res) is False
        assert rt.unreported == {'h1'}

        migration.upgrade('placement_db', url)
        assert rt.report_to_placement(ctx, 'h1', rp, res) is True
        assert rt.unreported == set()
        assert client.get_resource_provider(ctx, rp)['name'] == 'h1'
        assert set(client._refresh_inventory(ctx, rp)) == {'VCPU', 'MEMORY_MB', 'DISK_GB'}
    finally:
        server.stop()
        CONF.clear_override('endpoint_override', group='placement')
        CONF.clear_override('connection', group='placement_database')
        engines.dispose_all()


def test_placement_answering_500_is_unavailable_with_its_reason():
    """A 500 that is not Placement's error body (a proxy, a WSGI container
    whose app failed to load) still says what came back."""
    def app(environ, start_response):
        start_response('500 Internal Server Error', [('Content-Type', 'text/html')])
        return [b'<html><body>\n<h1>Internal Server Error</h1>\n</body></html>']

    server = WSGIServer('broken-placement', app, host='127.0.0.1', port=0)
    server.start()
    CONF.set_override('endpoint_override', f'http://127.0.0.1:{server.port}',
                      group='placement')
    try:
        with pytest.raises(exception.PlacementAPIUnavailable) as err:
            Client().ensure_resource_provider(RequestContext(),
                                                             str(uuid.uuid4()), 'cn1')
    finally:
        server.stop()
        CONF.clear_override('endpoint_override', group='placement')
    assert err.value.kwargs['status'] == 500
    assert str(err.value).endswith(
        ': <html><body> <h1>Internal Server Error</h1> </body></html>')


def test_candidates_read_whole_and_the_connection_reused(placement, monkeypatch):
    """GET /allocation_candidates is streamed and its body read in one piece
    (placement._body): the answer is the same, and the connection goes back
    to the pool for the next call instead of a new one being opened."""
    ctx = RequestContext(user_id='u', project_id='p')
    client = Client()
    rp = str(uuid.uuid4())
    client.ensure_resource_provider(ctx, rp, 'cn1')
    client.set_inventory(ctx, rp, INV)
    opened = []
    import urllib3.connectionpool as pool
    real = pool.HTTPConnectionPool._new_conn
    monkeypatch.setattr(pool.HTTPConnectionPool, '_new_conn',
                        lambda self: opened.append(1) or real(self))
    answers = [client.get_allocation_candidates(ctx, {'VCPU': 1}, 10) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    areqs, summaries = answers[0]
    assert [a['allocations'] for a in areqs] == [{rp: {'resources': {'VCPU': 1}}}]
    assert summaries[rp]['resources']['VCPU'] == {'capacity': 2, 'used': 0}
    assert len(opened) <= 1, 'a streamed answer left its connection out of the pool'
