"""/resource_providers/{uuid}/aggregates (1.1+; generation-aware at 1.19)."""
from __future__ import annotations

from typing import Any

import falcon

from minova.db import engines
from minova.placement import util
from minova.placement.db import providers
from minova.placement.handlers.resource_provider import require_uuid
from minova.placement.schemas import traits_aggregates as schema


def _body(req: falcon.Request, provider: dict[str, Any], aggs: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {'aggregates': aggs}
    if util.want(req, '1.19'):
        body['resource_provider_generation'] = provider['generation']
    return body


@util.handler('placement:resource_providers:aggregates:list', '1.1')
def get_aggregates(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with engines.reader(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        util.send_json(resp, _body(req, provider,
                                   providers.get_aggregates(conn, provider['id'])))


@util.handler('placement:resource_providers:aggregates:update', '1.1')
def set_aggregates(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with_generation = util.want(req, '1.19')
    data = util.extract_json(req, schema.AGGREGATES_V1_19 if with_generation
                             else schema.AGGREGATES_V1_1)
    aggs = [util.normalize_uuid(a) for a in (data['aggregates'] if with_generation
                                             else data)]
    with engines.writer(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        if with_generation:
            providers.check_generation(provider, data['resource_provider_generation'])
        providers.set_aggregates(conn, provider, aggs, increment_generation=with_generation)
        util.send_json(resp, _body(req, provider,
                                   providers.get_aggregates(conn, provider['id'])))
