"""/os-aggregates: host aggregates and the availability zones they define.

Membership is mirrored into placement: a host added to an aggregate puts its
resource providers into the placement aggregate of the same uuid, which the
scheduler's availability zone request filter then asks for with member_of.
A placement failure is logged and does not fail the call, as in Nova.
"""
from __future__ import annotations

import logging
from typing import Any

import falcon

from minova import exception
from minova.api import errors, host_status, policy, util, validation
from minova.api.handlers import services as services_handler
from minova.api.schemas import aggregates as schema
from minova.api.views import aggregates as view
from minova.db import aggregates as aggregates_db
from minova.db import paging
from minova.policies.admin import AGGREGATES

LOG = logging.getLogger(__name__)


def _id(aggregate_id: str) -> int:
    try:
        number = int(aggregate_id)
    except ValueError:
        raise errors.bad_request(f'Aggregate ID {aggregate_id} must be an integer') from None
    if number != paging.db_int(number):  # no row has it (Nova's DB answers the same)
        raise aggregates_db.AggregateNotFound(aggregate_id=aggregate_id)
    return number


def _authorize(req: falcon.Request, action: str) -> None:
    policy.authorize(util.ctx(req), AGGREGATES % action, {})


def _zone_conflicts(hosts: list[str], zone: str | None, agg_id: int) -> list[str]:
    """Zones other than `zone` that any of `hosts` is already in (via other aggregates)."""
    if not zone:
        return []
    found = set()
    for host in hosts:
        for other in aggregates_db.get_by_host(host, key=aggregates_db.AZ_KEY):
            if other['id'] != agg_id and other['availability_zone'] != zone:
                found.add(other['availability_zone'])
    return sorted(found)


def _mirror(req: falcon.Request, agg: dict[str, Any], host: str, add: bool) -> None:
    from minova.clients import placement as placement_client
    client = placement_client.Client()
    try:
        if add:
            found = client.aggregate_add_host(util.ctx(req), agg['uuid'], host)
        else:
            found = client.aggregate_remove_host(util.ctx(req), agg['uuid'], host)
        if not found:
            LOG.warning('No resource provider named %s: placement aggregate %s not updated',
                        host, agg['uuid'])
    except exception.MinovaException as e:
        LOG.warning('Could not mirror aggregate %s membership of %s into placement: %s',
                    agg['uuid'], host, e)


class Aggregates:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _authorize(req, 'index')
        resp.media = {'aggregates': [view.show(req, a) for a in aggregates_db.get_all()]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        _authorize(req, 'create')
        body = util.validated_body(req, schema.create)['aggregate']
        zone = body.get('availability_zone')
        agg = aggregates_db.create(body['name'].strip(), zone)
        resp.media = {'aggregate': view.show(req, agg, view.BRIEF)}


class Aggregate:
    def on_get(self, req: falcon.Request, resp: falcon.Response, aggregate_id: str) -> None:
        _authorize(req, 'show')
        resp.media = {'aggregate': view.show(req, aggregates_db.get(_id(aggregate_id)))}

    def on_put(self, req: falcon.Request, resp: falcon.Response, aggregate_id: str) -> None:
        _authorize(req, 'update')
        agg_id = _id(aggregate_id)
        body = util.validated_body(req, schema.update)['aggregate']
        agg = aggregates_db.get(agg_id)
        zone = body.get('availability_zone')
        conflicts = _zone_conflicts(agg['hosts'], zone, agg_id)
        if conflicts:
            raise errors.bad_request(
                f'Cannot update aggregate {agg_id}. Reason: One or more hosts already in '
                f'availability zone(s) {conflicts}.')
        if 'availability_zone' in body and zone is None:
            aggregates_db.update_metadata(agg_id, {aggregates_db.AZ_KEY: None})
        agg = aggregates_db.update(agg_id, name=body.get('name'), availability_zone=zone)
        resp.media = {'aggregate': view.show(req, agg)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, aggregate_id: str) -> None:
        _authorize(req, 'delete')
        agg_id = _id(aggregate_id)
        if aggregates_db.get(agg_id)['hosts']:
            raise errors.bad_request(f"Cannot perform action 'delete' on aggregate {agg_id}. "
                                     'Reason: Host aggregate is not empty.')
        aggregates_db.delete(agg_id)
        resp.status = falcon.HTTP_200


class AggregateAction:
    def on_post(self, req: falcon.Request, resp: falcon.Response, aggregate_id: str) -> None:
        body = util.read_body(req)
        action = util.action_name(body)
        handler = {'add_host': self._add_host, 'remove_host': self._remove_host,
                   'set_metadata': self._set_metadata}.get(action)
        if handler is None:
            raise errors.bad_request(f'There is no such action: {action}')
        agg_id = _id(aggregate_id)
        _authorize(req, action)
        validation.validate_body(getattr(schema, action), body)
        resp.media = {'aggregate': view.show(req, handler(req, agg_id, body[action]))}

    def _add_host(self, req: falcon.Request, agg_id: int, body: dict[str, Any]
                  ) -> dict[str, Any]:
        host = body['host']
        agg = aggregates_db.get(agg_id)
        if not services_handler.all_services(host=host, binary=host_status.api_binary(
                host_status.COMPUTE_BINARY)):
            raise exception.ComputeHostNotFound(host=host)
        conflicts = _zone_conflicts([host], agg['availability_zone'], agg_id)
        if conflicts:
            raise errors.conflict(
                f'Cannot add host to aggregate {agg_id}. Reason: One or more hosts already '
                f'in availability zone(s) {conflicts}.')
        agg = aggregates_db.add_host(agg_id, host)
        _mirror(req, agg, host, add=True)
        return agg

    def _remove_host(self, req: falcon.Request, agg_id: int, body: dict[str, Any]
                     ) -> dict[str, Any]:
        host = body['host']
        aggregates_db.get(agg_id)
        agg = aggregates_db.remove_host(agg_id, host)
        _mirror(req, agg, host, add=False)
        return agg

    def _set_metadata(self, req: falcon.Request, agg_id: int, body: dict[str, Any]
                      ) -> dict[str, Any]:
        metadata = body['metadata']
        agg = aggregates_db.get(agg_id)
        zone = metadata.get(aggregates_db.AZ_KEY)
        if zone:
            if ':' in zone:
                raise errors.bad_request('Invalid availability zone name: it may not hold ":"')
            conflicts = _zone_conflicts(agg['hosts'], zone, agg_id)
            if conflicts:
                raise errors.bad_request(
                    f'Cannot update metadata of aggregate {agg_id}. Reason: One or more '
                    f'hosts already in availability zone(s) {conflicts}.')
        return aggregates_db.update_metadata(agg_id, metadata)
