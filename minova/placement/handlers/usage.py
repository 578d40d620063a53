"""GET /resource_providers/{uuid}/usages and GET /usages."""
from __future__ import annotations

import falcon

from minova.db import engines
from minova.placement import errors, util
from minova.placement.db import allocations, inventories, providers
from minova.placement.handlers.resource_provider import require_uuid


@util.handler('placement:resource_providers:usages')
def list_provider_usages(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with engines.reader(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        pid = provider['id']
        usages = {rc: 0 for rc in inventories.get_all(conn, [pid])[pid]}
        usages.update(inventories.usages(conn, [pid])[pid])
    util.send_json(resp, {'resource_provider_generation': provider['generation'],
                          'usages': usages})


@util.handler('placement:usages', '1.9')
def get_total_usages(req: falcon.Request, resp: falcon.Response) -> None:
    util.check_query(req, {'project_id', 'user_id'})
    project_id = util.query(req, 'project_id')
    if not project_id:
        raise errors.bad_request("Invalid query string parameters: 'project_id' is a "
                                 'required property', errors.QUERYPARAM_MISSING_VALUE)
    with engines.reader(req.context.url) as conn:
        usages = allocations.usages_for_project(conn, project_id, util.query(req, 'user_id'))
    util.send_json(resp, {'usages': usages})
