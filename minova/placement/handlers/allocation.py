"""/allocations/{consumer_uuid}, POST /allocations, provider allocations."""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import falcon
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from minova.db import engines
from minova.placement import errors, util
from minova.placement.db import allocations, providers
from minova.placement.handlers.resource_provider import require_uuid
from minova.placement.schemas import allocation as schema

LOG = logging.getLogger(__name__)

RETRIES = 10


def write_with_retry(url: str, fn: Callable[[Connection], None]) -> None:
    """Run a write, retrying when a provider generation moved under it.

    Provider generations changed by another allocation writer are not the
    caller's fault (it did not send them), so the write is simply redone;
    so is one the database rolled back to break a deadlock between writers.
    """
    for attempt in range(RETRIES):
        try:
            with engines.writer(url) as conn:
                fn(conn)
            return
        except errors.ProviderGenerationConflict:
            LOG.debug('allocation write raced another writer (attempt %d)', attempt + 1)
        except sa.exc.DBAPIError as e:
            if not engines.is_deadlock(e):
                raise
            LOG.debug('allocation write deadlocked (attempt %d): %s', attempt + 1, e.orig)
            time.sleep(random.uniform(0, 0.05 * (attempt + 1)))
    raise errors.conflict('Inventory and/or allocations changed while attempting to '
                          'allocate: Another thread concurrently updated the data. '
                          'Please retry your update', errors.CONCURRENT_UPDATE)


def _consumer_uuid(value: str) -> str:
    if not util.is_uuid(value):
        raise errors.bad_request(f'Malformed consumer_uuid: {value}')
    return util.normalize_uuid(value)


Getter = Callable[[dict[str, Any]], Any]

# Consumer fields of GET /allocations/{consumer}: (version, field, getter of
# the consumer row). A consumer written before 1.38 has type `unknown`.
CONSUMER_FIELDS: tuple[tuple[str, str, Getter], ...] = (
    ('1.12', 'project_id', lambda c: c['project_id']),
    ('1.12', 'user_id', lambda c: c['user_id']),
    ('1.28', 'consumer_generation', lambda c: c['generation']),
    ('1.38', 'consumer_type', lambda c: c['consumer_type'] or allocations.UNKNOWN_TYPE),
)
# Fields of each consumer in GET /resource_providers/{uuid}/allocations.
PROVIDER_CONSUMER_FIELDS: tuple[tuple[str, str, Getter], ...] = (
    ('1.28', 'consumer_generation', lambda c: c['consumer_generation']),
)


def _fields(req: falcon.Request, table: tuple[tuple[str, str, Getter], ...],
            row: dict[str, Any]) -> dict[str, Any]:
    return {name: get(row) for version, name, get in table if util.want(req, version)}


@util.handler('placement:allocations:list')
def list_for_consumer(req: falcon.Request, resp: falcon.Response,
                      consumer_uuid: str) -> None:
    with engines.reader(req.context.url) as conn:
        allocs = allocations.for_consumer(conn, consumer_uuid)
        consumer = allocations.get_consumer(conn, consumer_uuid)
    body: dict[str, Any] = {'allocations': allocs}
    if consumer is not None:
        body.update(_fields(req, CONSUMER_FIELDS, consumer))
    util.send_json(resp, body)


@util.handler('placement:resource_providers:allocations:list')
def list_for_provider(req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
    uuid = require_uuid(uuid)
    with engines.reader(req.context.url) as conn:
        provider = providers.require(conn, uuid)
        allocs = allocations.for_provider(conn, provider['id'])
    body = {c: {'resources': entry['resources'],
                **_fields(req, PROVIDER_CONSUMER_FIELDS, entry)}
            for c, entry in allocs.items()}
    util.send_json(resp, {'allocations': body,
                          'resource_provider_generation': provider['generation']})


def _entry(req: falcon.Request, consumer_uuid: str, data: dict[str, Any]) -> dict[str, Any]:
    """A request body turned into what allocations.replace() takes."""
    raw = data['allocations']
    if isinstance(raw, list):
        allocs: dict[str, dict[str, int]] = {}
        for item in raw:
            rp_uuid = util.normalize_uuid(item['resource_provider']['uuid'])
            allocs.setdefault(rp_uuid, {}).update(item['resources'])
    else:
        allocs = {util.normalize_uuid(k): dict(v['resources']) for k, v in raw.items()}
    ctx = req.context.ctx
    entry = {'consumer_uuid': consumer_uuid, 'allocations': allocs,
             # Before 1.8 the ids were optional: the caller's own are used then.
             'project_id': data.get('project_id') or ctx.project_id or 'unknown',
             'user_id': data.get('user_id') or ctx.user_id or 'unknown'}
    if util.want(req, '1.28'):
        entry['consumer_generation'] = data['consumer_generation']
    if 'consumer_type' in data:  # required from 1.38
        entry['consumer_type'] = data['consumer_type']
    return entry


@util.handler('placement:allocations:update')
def set_allocations_for_consumer(req: falcon.Request, resp: falcon.Response,
                                 consumer_uuid: str) -> None:
    consumer_uuid = _consumer_uuid(consumer_uuid)
    entry = _entry(req, consumer_uuid,
                   util.extract_json(req, util.for_version(req, schema.PUT)))
    write_with_retry(req.context.url, lambda conn: allocations.replace(conn, [entry]))
    util.no_content(resp)


@util.handler('placement:allocations:manage', '1.13')
def set_allocations(req: falcon.Request, resp: falcon.Response) -> None:
    data = util.extract_json(req, util.for_version(req, schema.POST))
    entries = [_entry(req, util.normalize_uuid(c), body) for c, body in data.items()]
    write_with_retry(req.context.url, lambda conn: allocations.replace(conn, entries))
    util.no_content(resp)


@util.handler('placement:allocations:delete')
def delete_allocations(req: falcon.Request, resp: falcon.Response,
                       consumer_uuid: str) -> None:
    found: list[bool] = []

    def _delete(conn: Connection) -> None:
        found[:] = [allocations.delete_consumer(conn, consumer_uuid)]

    write_with_retry(req.context.url, _delete)
    if not found[0]:
        raise errors.not_found(f"No allocations for consumer '{consumer_uuid}'")
    util.no_content(resp)
