"""POST /os-server-external-events: events from Neutron and Cinder about servers.

Validated with Nova's schema per microversion (an unknown event name makes the
whole request a 400). Each event gets its own code, as Nova's: 200 when it is
passed on to the server's compute host, 404 for an unknown server, 422 for a
server not on a host yet, 400 when an event that needs a tag has none; the
request answers 207 when any event failed. On the compute host an event wakes
whoever waits for it (a libvirt guest started paused until its VIFs are
plugged); network-changed refreshes the server's network info from Neutron and
network-vif-deleted drops the VIF (minova/compute/events.py, network.py).
"""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception
from minova.api import policy, util
from minova.api.schemas import server_external_events as schema
from minova.api.versioned import schema_for
from minova.context import RequestContext
from minova.db.instances import Instance
from minova.policies import servers as pol


def _instance(ctx: RequestContext, uuid: str) -> Instance | None:
    try:
        return util.compute_api().get(ctx, uuid)
    except exception.InstanceNotFound:
        return None


class ServerExternalEvents:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = util.validated_body(req, schema_for(req, schema.CREATE))
        ctx = util.ctx(req)
        policy.authorize(ctx, pol.EXTERNAL_EVENTS % 'create', {})
        found = {uuid: _instance(ctx, uuid)
                 for uuid in {e['server_uuid'] for e in body['events']}}
        result = 200
        accepted: list[dict[str, Any]] = []
        servers: list[Instance] = []    # the server of each accepted event
        for event in body['events']:
            instance = found[event['server_uuid']]
            if instance is None:
                event.update(status='failed', code=404)
            elif event['name'] in schema.TAG_REQUIRED and event.get('tag') is None:
                event.update(status='failed', code=400)
            elif instance.get('host') and instance.get('cell_uuid'):
                # the host gets the event as sent (a failed vif plug stays failed)
                accepted.append(dict(event, status=event.get('status', 'completed'),
                                     tag=event.get('tag')))
                servers.append(instance)
                event.update(status='completed', code=200)
                continue
            else:
                event.update(status='failed', code=422)
            result = 207
        if accepted:
            util.compute_api().external_instance_event(ctx, servers, accepted)
        resp.status = result
        resp.media = {'events': body['events']}
