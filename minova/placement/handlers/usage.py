"""GET /resource_providers/{uuid}/usages and GET /usages."""
from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.engine import Connection

from minova.db import engines
from minova.placement import util
from minova.placement.db import allocations, inventories, providers
from minova.placement.handlers.resource_provider import require_uuid
from minova.placement.schemas import usage as schema


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


def _flat(conn: Connection, req: falcon.Request, project_id: str,
          user_id: str | None) -> dict[str, Any]:
    return allocations.usages_for_project(conn, project_id, user_id)


def _by_type(conn: Connection, req: falcon.Request, project_id: str,
             user_id: str | None) -> dict[str, Any]:
    return allocations.usages_by_type(conn, project_id, user_id,
                                      util.query(req, 'consumer_type'))


# GET /usages: (version, query schema, usages builder).
TOTAL_USAGES: util.VersionTable = (
    ('1.38', (schema.GET_V1_38, _by_type)),
    ('1.9', (schema.GET_V1_9, _flat)),
)


@util.handler('placement:usages', '1.9')
def get_total_usages(req: falcon.Request, resp: falcon.Response) -> None:
    query_schema, build = util.for_version(req, TOTAL_USAGES)
    util.validate_query(req, query_schema)
    with engines.reader(req.context.url) as conn:
        usages = build(conn, req, util.query(req, 'project_id'), util.query(req, 'user_id'))
    util.send_json(resp, {'usages': usages})
