"""/os-aggregates and the availability zones aggregates define."""
from __future__ import annotations

from typing import Any

import pytest

from minova.clients import placement as placement_client
from tests.unit.api.conftest import insert_service


class RecordingPlacement:
    """Records the placement aggregate changes the API asks for."""

    calls: list[tuple[str, str, str]] = []

    def __init__(self) -> None:
        pass

    def aggregate_add_host(self, ctx: Any, agg_uuid: str, host: str) -> int:
        self.calls.append(('add', agg_uuid, host))
        return 1

    def aggregate_remove_host(self, ctx: Any, agg_uuid: str, host: str) -> int:
        self.calls.append(('remove', agg_uuid, host))
        return 1


@pytest.fixture
def placement(monkeypatch: pytest.MonkeyPatch) -> type[RecordingPlacement]:
    RecordingPlacement.calls = []
    monkeypatch.setattr(placement_client, 'Client', RecordingPlacement)
    return RecordingPlacement


def _create(admin: Any, name: str, az: str | None = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {'name': name}
    if az is not None:
        body['availability_zone'] = az
    r = admin.post('/os-aggregates', {'aggregate': body}, **kw)
    assert r.status_code == 200, r.text
    return r.json['aggregate']


def test_create_show_list_update_delete(admin: Any, dbs: dict[str, str]) -> None:
    agg = _create(admin, 'rack1', 'az1')
    # create answers without hosts and metadata, as Nova does
    assert set(agg) == {'id', 'name', 'availability_zone', 'created_at', 'updated_at',
                        'deleted', 'deleted_at', 'uuid'}
    assert agg['name'] == 'rack1' and agg['availability_zone'] == 'az1'
    shown = admin.get(f"/os-aggregates/{agg['id']}").json['aggregate']
    assert shown['hosts'] == [] and shown['metadata'] == {'availability_zone': 'az1'}
    assert shown['uuid'] == agg['uuid']
    assert 'uuid' not in admin.get(f"/os-aggregates/{agg['id']}", version='2.40'
                                   ).json['aggregate']
    assert [a['name'] for a in admin.get('/os-aggregates').json['aggregates']] == ['rack1']
    r = admin.put(f"/os-aggregates/{agg['id']}", {'aggregate': {'name': 'rack-one',
                                                                'availability_zone': 'az2'}})
    assert r.status_code == 200
    assert r.json['aggregate']['name'] == 'rack-one'
    assert r.json['aggregate']['availability_zone'] == 'az2'
    assert r.json['aggregate']['metadata'] == {'availability_zone': 'az2'}
    r = admin.delete(f"/os-aggregates/{agg['id']}")
    assert r.status_code == 200
    r = admin.get(f"/os-aggregates/{agg['id']}")
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == f"Aggregate {agg['id']} could not be found."


def test_bad_requests(admin: Any, user: Any, dbs: dict[str, str]) -> None:
    _create(admin, 'dup')
    r = admin.post('/os-aggregates', {'aggregate': {'name': 'dup'}})
    assert r.status_code == 409
    assert r.json['conflictingRequest']['message'] == 'Aggregate dup already exists.'
    assert admin.post('/os-aggregates', {'aggregate': {}}).status_code == 400
    assert admin.post('/os-aggregates', {'aggregate': {'name': 'x',
                                                       'availability_zone': 'a:b'}}
                      ).status_code == 400
    assert admin.get('/os-aggregates/abc').status_code == 400
    assert admin.put('/os-aggregates/1', {'aggregate': {}}).status_code == 400
    assert admin.post('/os-aggregates/1/action', {'bogus': {}}).status_code == 400
    assert admin.post('/os-aggregates/1/action', {'add_host': {}}).status_code == 400
    assert user.post('/os-aggregates', {'aggregate': {'name': 'u'}}).status_code == 403
    assert user.get('/os-aggregates/1').status_code == 403


def test_hosts_metadata_and_placement_mirror(admin: Any, dbs: dict[str, str],
                                             placement: Any) -> None:
    insert_service(dbs['cell'], 'host1')
    insert_service(dbs['cell'], 'host2')
    agg = _create(admin, 'rack1')
    path = f"/os-aggregates/{agg['id']}/action"
    r = admin.post(path, {'add_host': {'host': 'host1'}})
    assert r.status_code == 200, r.text
    assert r.json['aggregate']['hosts'] == ['host1']
    assert placement.calls == [('add', agg['uuid'], 'host1')]
    r = admin.post(path, {'add_host': {'host': 'host1'}})
    assert r.status_code == 409
    assert r.json['conflictingRequest']['message'] == \
        f"Aggregate {agg['id']} already has host host1."
    r = admin.post(path, {'add_host': {'host': 'nosuch'}})
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == 'Compute host nosuch could not be found.'
    r = admin.post(path, {'set_metadata': {'metadata': {'ssd': 'true', 'gpu': 'no'}}})
    assert r.json['aggregate']['metadata'] == {'ssd': 'true', 'gpu': 'no'}
    r = admin.post(path, {'set_metadata': {'metadata': {'gpu': None}}})
    assert r.json['aggregate']['metadata'] == {'ssd': 'true'}
    r = admin.delete(f"/os-aggregates/{agg['id']}")
    assert r.status_code == 400
    assert 'Host aggregate is not empty' in r.json['badRequest']['message']
    r = admin.post(path, {'remove_host': {'host': 'host2'}})
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == f"Aggregate {agg['id']} has no host host2."
    r = admin.post(path, {'remove_host': {'host': 'host1'}})
    assert r.status_code == 200 and r.json['aggregate']['hosts'] == []
    assert placement.calls[-1] == ('remove', agg['uuid'], 'host1')
    assert admin.delete(f"/os-aggregates/{agg['id']}").status_code == 200


def test_availability_zones_come_from_aggregates(admin: Any, user: Any, dbs: dict[str, str],
                                                 placement: Any) -> None:
    insert_service(dbs['cell'], 'host1')
    insert_service(dbs['cell'], 'host2')
    az1 = _create(admin, 'agg-az1', 'az1')
    admin.post(f"/os-aggregates/{az1['id']}/action", {'add_host': {'host': 'host1'}})
    zones = user.get('/os-availability-zone').json['availabilityZoneInfo']
    assert sorted(z['zoneName'] for z in zones) == ['az1', 'nova']
    services = {s['host']: s['zone'] for s in admin.get('/os-services').json['services']}
    assert services == {'host1': 'az1', 'host2': 'nova'}
    detail = admin.get('/os-availability-zone/detail').json['availabilityZoneInfo']
    assert list(next(z for z in detail if z['zoneName'] == 'az1')['hosts']) == ['host1']
    # A host can be in one availability zone only.
    az2 = _create(admin, 'agg-az2', 'az2')
    r = admin.post(f"/os-aggregates/{az2['id']}/action", {'add_host': {'host': 'host1'}})
    assert r.status_code == 409
    assert "already in availability zone(s) ['az1']" in r.json['conflictingRequest']['message']
    # ...but may join any number of aggregates without a zone, or with the same one.
    plain = _create(admin, 'plain')
    assert admin.post(f"/os-aggregates/{plain['id']}/action",
                      {'add_host': {'host': 'host1'}}).status_code == 200
    r = admin.post(f"/os-aggregates/{plain['id']}/action",
                   {'set_metadata': {'metadata': {'availability_zone': 'az3'}}})
    assert r.status_code == 400
    # Renaming the zone through update moves its hosts along.
    r = admin.put(f"/os-aggregates/{az1['id']}", {'aggregate': {'availability_zone': 'az9'}})
    assert r.status_code == 200
    services = {s['host']: s['zone'] for s in admin.get('/os-services').json['services']}
    assert services['host1'] == 'az9'
