"""POST /os-server-external-events: events from Neutron and Cinder about servers.

Validated with Nova's schema per microversion (an unknown event name makes the
whole request a 400). Each event gets its own code, as Nova's: 200 when it is
passed on to the server's compute host, 404 for an unknown server, 422 for a
server not on a host yet, 400 when an event that needs a tag has none; the
request answers 207 when any event failed. Nothing on the compute hosts waits
for these events yet (networking and volumes will); they are logged there.
"""
from __future__ import annotations

import copy
from typing import Any

import falcon

from minova import exception
from minova.api import policy, util
from minova.policies import servers as pol

STATUSES = ['failed', 'completed', 'in-progress']
TAG_REQUIRED = ('volume-extended', 'power-update', 'accelerator-request-bound')

create: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'events': {
            'type': 'array', 'minItems': 1,
            'items': {
                'type': 'object',
                'properties': {
                    'name': {'type': 'string', 'enum': [
                        'network-changed', 'network-vif-plugged', 'network-vif-unplugged',
                        'network-vif-deleted']},
                    'server_uuid': {'type': 'string', 'format': 'uuid'},
                    'status': {'type': 'string', 'enum': STATUSES},
                    'tag': {'type': 'string', 'maxLength': 255},
                },
                'required': ['name', 'server_uuid'],
                'additionalProperties': False,
            },
        },
    },
    'required': ['events'],
    'additionalProperties': False,
}


def _with_event(schema: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out['properties']['events']['items']['properties']['name']['enum'].append(name)
    return out


create_v251 = _with_event(create, 'volume-extended')
create_v276 = _with_event(create_v251, 'power-update')
create_v282 = _with_event(create_v276, 'accelerator-request-bound')
create_v293 = _with_event(create_v282, 'volume-reimaged')
CREATE = [('2.93', create_v293), ('2.82', create_v282), ('2.76', create_v276),
          ('2.51', create_v251), ('2.1', create)]


def _instance(ctx: Any, uuid: str) -> dict[str, Any] | None:
    try:
        return util.compute_api().get(ctx, uuid)
    except exception.InstanceNotFound:
        return None


class ServerExternalEvents:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = util.validated_body(req, util.for_version(req, CREATE))
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.EXTERNAL_EVENTS % 'create', {})
        found = {uuid: _instance(ctx, uuid)
                 for uuid in {e['server_uuid'] for e in body['events']}}
        result = 200
        accepted: list[dict[str, Any]] = []
        for event in body['events']:
            instance = found[event['server_uuid']]
            if instance is None:
                event.update(status='failed', code=404)
            elif event['name'] in TAG_REQUIRED and event.get('tag') is None:
                event.update(status='failed', code=400)
            elif instance.get('host') and instance.get('cell_uuid'):
                # the host gets the event as sent (a failed vif plug stays failed)
                accepted.append(dict(event, status=event.get('status', 'completed'),
                                     tag=event.get('tag')))
                event.update(status='completed', code=200)
                continue
            else:
                event.update(status='failed', code=422)
            result = 207
        if accepted:
            util.compute_api().external_instance_event(
                ctx, [found[e['server_uuid']] for e in accepted], accepted)
        resp.status = result
        resp.media = {'events': body['events']}
