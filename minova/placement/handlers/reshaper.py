"""POST /reshaper (1.30): move inventory and allocations in one transaction."""
from __future__ import annotations

import falcon

from minova.db import engines
from minova.placement import errors, util
from minova.placement.db import allocations, inventories, providers
from minova.placement.handlers.allocation import _entry
from minova.placement.schemas import reshaper as schema


@util.handler('placement:reshaper:reshape', '1.30')
def reshape(req: falcon.Request, resp: falcon.Response) -> None:
    data = util.extract_json(req, util.for_version(req, schema.POST))
    entries = [_entry(req, util.normalize_uuid(c), body)
               for c, body in data['allocations'].items()]
    allow_equal = util.want(req, '1.26')
    with engines.writer(req.context.url) as conn:
        changed = []
        for rp_uuid, body in data['inventories'].items():
            provider = providers.get(conn, util.normalize_uuid(rp_uuid))
            if provider is None:
                raise errors.bad_request(f'Resource provider {rp_uuid} in inventories '
                                         'not found')
            providers.check_generation(provider, body['resource_provider_generation'])
            records = {rc: inventories.validate(provider, rc, rec, allow_equal)
                       for rc, rec in body['inventories'].items()}
            inventories.replace(conn, provider, records, check_in_use=False)
            changed.append(provider)
        try:
            allocations.replace(conn, entries)
        except errors.ProviderGenerationConflict as e:
            raise errors.conflict(e.description or '', errors.CONCURRENT_UPDATE) from None
        for provider in changed:
            inventories.check_allocated_have_inventory(conn, provider)
    util.no_content(resp)
