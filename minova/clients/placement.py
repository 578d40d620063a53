"""Placement client used by the scheduler and the compute agent.

Talks HTTP through one keystoneauth1 session (connection pooling, thread
safe), sending an explicit microversion on every call, so it works against
mini-Nova's placement and against upstream OpenStack Placement alike.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlencode

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc

import minova.conf
from minova import exception
from minova.clients import base as client_base

if TYPE_CHECKING:
    from minova.context import RequestContext

LOG = logging.getLogger(__name__)

GRANULAR_VERSION = '1.29'     # candidates: dict form, traits, parent/root in summaries
IN_TREE_VERSION = '1.31'
CONSUMER_GENERATION_VERSION = '1.28'
NESTED_PROVIDER_VERSION = '1.20'  # POST returns the provider; parent_provider_uuid
INVENTORY_VERSION = '1.26'
AGGREGATE_GENERATION_VERSION = '1.19'
TRAITS_VERSION = '1.6'
CONNECT_RETRIES = 3
CONFLICT_RETRIES = 4
TRAITS_REFRESH = 300.0
RETRY_SLEEP = 0.5

try:    # at 1,000 hosts the candidates are ~0.5 MB of JSON per request
    import orjson
    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:     # pragma: no cover
    _loads = json.loads

_CONNECT_ERRORS = (ks_exc.EndpointNotFound, ks_exc.MissingAuthPlugin,
                   ks_exc.DiscoveryFailure, ks_exc.ConnectionError)


class ProviderAllocation(TypedDict):
    resources: dict[str, int]       # resource class -> amount


class AllocationRequest(TypedDict, total=False):
    """What placement offers (GET /allocation_candidates) and takes back as
    a claim: {'allocations': {provider uuid: {'resources': {class: amount}}}}.
    (total=False only so that an empty one can stand for "none yet".)"""
    allocations: dict[str, ProviderAllocation]


def _short(e: Exception) -> str:
    """keystoneauth1's message without urllib3's chain of causes, keeping the
    operating system's reason ('... to http://...: [Errno 111] Connection refused')."""
    text = str(e)
    head = text.split(': HTTPConnectionPool(')[0].split(': HTTPSConnectionPool(')[0]
    errno = re.search(r'\[Errno -?\d+\] [^"\')]+', text)
    return f'{head}: {errno.group(0)}' if errno and errno.group(0) not in head else head


def _body(resp: Any) -> bytes:
    """A streamed response's whole body, read at once: requests' .content
    reads it 10 KiB at a time, a pass through requests, urllib3 and
    http.client each (at 1,000 hosts the candidates are 0.8 MB). The
    connection goes back to the pool once the body is read to its end."""
    return b''.join(resp.iter_content(chunk_size=None))


class Client(client_base.Client):
    """The calls mini-Nova makes to placement (Nova's Client)."""

    def __init__(self, adapter: ks_adapter.Adapter | None = None) -> None:
        super().__init__(adapter)
        self._lock = threading.Lock()
        self._providers: dict[str, dict[str, Any]] = {}   # uuid -> {generation, ...}
        # uuid -> (when read, the traits): a periodic update that would change
        # nothing asks placement again only after TRAITS_REFRESH seconds, as
        # Nova's provider tree cache does (1,000 hosts each GET once a minute
        # otherwise).
        self._traits_seen: dict[str, tuple[float, set[str]]] = {}
        self._inventories: dict[str, dict[str, dict]] = {}

    # -- plumbing -------------------------------------------------------------

    def _build_adapter(self) -> ks_adapter.Adapter:
        """The [placement] adapter; a noauth2 placement takes the literal token "admin"."""
        return client_base.adapter_from_conf('placement', 'placement',
                                             minova.conf.placement.DEFAULT_ENDPOINT, 'admin')

    def _call(self, ctx: RequestContext, method: str, url: str, version: str,
              json: Any = None, stream: bool = False) -> Any:
        headers = {'Accept': 'application/json'}
        request_id = getattr(ctx, 'global_request_id', None)
        if request_id:
            headers['X-OpenStack-Request-ID'] = request_id
        kwargs: dict[str, Any] = {'microversion': version, 'headers': headers,
                                  'raise_exc': False}
        if json is not None:
            kwargs['json'] = json
        if stream:
            kwargs['stream'] = True     # the caller reads the body (_body)
        # Failures raise PlacementAPIConnectFailure carrying the reason, and
        # are not logged here: the caller knows what failed and whether it
        # will try again, so it says so in one line.
        for attempt in range(CONNECT_RETRIES + 1):
            try:
                return self.adapter.request(url, method, **kwargs)
            except _CONNECT_ERRORS as e:
                if attempt == CONNECT_RETRIES:
                    LOG.debug('Placement unreachable for %s %s: %s', method, url, e)
                    raise exception.PlacementAPIConnectFailure(reason=_short(e)) from e
                time.sleep(RETRY_SLEEP)
            except ks_exc.ClientException as e:
                # Keystone refused or failed the service user's token: not
                # placement's answer, and not worth an immediate retry.
                raise exception.PlacementAPIConnectFailure(
                    reason=f'{type(e).__name__}: {e}') from e
        raise exception.PlacementAPIConnectFailure()

    @staticmethod
    def _error_code(resp: Any) -> str | None:
        try:
            return resp.json()['errors'][0].get('code')
        except (ValueError, KeyError, IndexError, TypeError):
            return None

    @staticmethod
    def _detail(resp: Any) -> str:
        """The error's detail from Placement's error body, else the start of the text."""
        try:
            return str(resp.json()['errors'][0]['detail'])
        except (ValueError, KeyError, IndexError, TypeError):
            return ' '.join(resp.text.split())[:200]

    def _fail(self, what: str, resp: Any) -> exception.MinovaException:
        if resp.status_code >= 500:
            # Placement is there but not able to answer (starting, its DB not
            # synced): the caller decides whether to log and retry.
            return exception.PlacementAPIUnavailable(status=resp.status_code, what=what,
                                                     detail=self._detail(resp))
        LOG.error('%s failed: %s %s', what, resp.status_code, resp.text)
        if resp.status_code == 409:
            return exception.ResourceProviderConflict(uuid=what)
        return exception.MinovaException(f'{what} failed: {resp.status_code} {resp.text}')

    # -- providers and inventory ----------------------------------------------

    def get_resource_provider(self, ctx: RequestContext, uuid: str) -> dict | None:
        resp = self._call(ctx, 'GET', f'/resource_providers/{uuid}', NESTED_PROVIDER_VERSION)
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self._fail(f'GET resource provider {uuid}', resp)
        provider = resp.json()
        with self._lock:
            self._providers[uuid] = provider
        return provider

    def ensure_resource_provider(self, ctx: RequestContext, uuid: str, name: str,
                                 parent_provider_uuid: str | None = None) -> dict:
        """The provider `uuid`, created when missing; its generation is cached."""
        provider = self.get_resource_provider(ctx, uuid)
        if provider is not None:
            return provider
        body: dict[str, Any] = {'uuid': uuid, 'name': name}
        if parent_provider_uuid:
            body['parent_provider_uuid'] = parent_provider_uuid
        resp = self._call(ctx, 'POST', '/resource_providers', NESTED_PROVIDER_VERSION, body)
        if resp.status_code == 200:
            provider = resp.json()
        elif resp.status_code == 409:
            # Someone else created it meanwhile (or the name is taken).
            provider = self.get_resource_provider(ctx, uuid)
            if provider is None:
                raise self._fail(f'create resource provider {name}', resp)
        else:
            raise self._fail(f'create resource provider {name}', resp)
        with self._lock:
            self._providers[uuid] = provider
            self._inventories.pop(uuid, None)
            self._traits_seen.pop(uuid, None)     # a new provider has no traits
        return provider

    def _refresh_inventory(self, ctx: RequestContext, rp_uuid: str) -> dict[str, dict]:
        resp = self._call(ctx, 'GET', f'/resource_providers/{rp_uuid}/inventories',
                          INVENTORY_VERSION)
        if resp.status_code != 200:
            raise self._fail(f'GET inventory of {rp_uuid}', resp)
        data = resp.json()
        with self._lock:
            self._providers.setdefault(rp_uuid, {})['generation'] = \
                data['resource_provider_generation']
            self._inventories[rp_uuid] = data['inventories']
        return data['inventories']

    @staticmethod
    def _same_inventory(have: dict[str, dict] | None, want: dict[str, dict]) -> bool:
        if have is None or set(have) != set(want):
            return False
        return all(have[rc].get(k) == v for rc, rec in want.items() for k, v in rec.items())

    def set_inventory(self, ctx: RequestContext, rp_uuid: str,
                      inventories: dict[str, dict]) -> None:
        """Replace the provider's inventory; no request when nothing changed."""
        with self._lock:
            cached = self._inventories.get(rp_uuid)
            generation = self._providers.get(rp_uuid, {}).get('generation')
        if generation is None:
            cached = self._refresh_inventory(ctx, rp_uuid)
        if self._same_inventory(cached, inventories):
            return
        for _ in range(CONFLICT_RETRIES):
            with self._lock:
                generation = self._providers[rp_uuid]['generation']
            resp = self._call(ctx, 'PUT', f'/resource_providers/{rp_uuid}/inventories',
                              INVENTORY_VERSION,
                              {'resource_provider_generation': generation,
                               'inventories': inventories})
            if resp.status_code == 200:
                data = resp.json()
                with self._lock:
                    self._providers[rp_uuid]['generation'] = \
                        data['resource_provider_generation']
                    self._inventories[rp_uuid] = data['inventories']
                return
            if resp.status_code == 409 and \
                    self._error_code(resp) == 'placement.concurrent_update':
                if self._same_inventory(self._refresh_inventory(ctx, rp_uuid), inventories):
                    return
                continue
            raise self._fail(f'set inventory of {rp_uuid}', resp)
        raise exception.ResourceProviderConflict(uuid=rp_uuid)

    # -- traits ------------------------------------------------------------------

    def _get_traits(self, ctx: RequestContext, rp_uuid: str) -> tuple[set[str], int]:
        resp = self._call(ctx, 'GET', f'/resource_providers/{rp_uuid}/traits',
                          TRAITS_VERSION)
        if resp.status_code != 200:
            raise self._fail(f'GET traits of {rp_uuid}', resp)
        data = resp.json()
        return set(data['traits']), data['resource_provider_generation']

    def update_traits(self, ctx: RequestContext, rp_uuid: str,
                      add: set[str], remove: set[str]) -> set[str]:
        """Add and remove traits on the provider, keeping the others it has (an
        operator's own); no write when nothing changes. Returns its traits."""
        seen = self._traits_seen.get(rp_uuid)
        if seen is not None and time.monotonic() - seen[0] < TRAITS_REFRESH \
                and (seen[1] - remove) | add == seen[1]:
            return seen[1]
        for _ in range(CONFLICT_RETRIES):
            have, generation = self._get_traits(ctx, rp_uuid)
            want = (have - remove) | add
            if want == have:
                self._traits_seen[rp_uuid] = (time.monotonic(), have)
                return have
            resp = self._call(ctx, 'PUT', f'/resource_providers/{rp_uuid}/traits',
                              TRAITS_VERSION, {'resource_provider_generation': generation,
                                               'traits': sorted(want)})
            if resp.status_code == 200:
                with self._lock:    # the inventory's next PUT needs the new generation
                    if rp_uuid in self._providers:
                        self._providers[rp_uuid]['generation'] = \
                            resp.json()['resource_provider_generation']
                self._traits_seen[rp_uuid] = (time.monotonic(), want)
                return want
            if not (resp.status_code == 409 and
                    self._error_code(resp) == 'placement.concurrent_update'):
                raise self._fail(f'set traits of {rp_uuid}', resp)
        raise exception.ResourceProviderConflict(uuid=rp_uuid)

    def delete_resource_provider(self, ctx: RequestContext, rp_uuid: str) -> None:
        resp = self._call(ctx, 'DELETE', f'/resource_providers/{rp_uuid}', '1.0')
        with self._lock:
            self._providers.pop(rp_uuid, None)
            self._traits_seen.pop(rp_uuid, None)
            self._inventories.pop(rp_uuid, None)
        if resp.status_code not in (204, 404):
            raise self._fail(f'delete resource provider {rp_uuid}', resp)

    # -- aggregates (mirrors of host aggregates) ------------------------------

    def _provider_uuids_by_name(self, ctx: RequestContext, name: str) -> list[str]:
        resp = self._call(ctx, 'GET', '/resource_providers?' + urlencode({'name': name}),
                          NESTED_PROVIDER_VERSION)
        if resp.status_code != 200:
            raise self._fail(f'GET resource providers named {name}', resp)
        return [rp['uuid'] for rp in resp.json()['resource_providers']]

    def _change_aggregates(self, ctx: RequestContext, rp_uuid: str, agg_uuid: str,
                           add: bool) -> None:
        for _ in range(CONFLICT_RETRIES):
            resp = self._call(ctx, 'GET', f'/resource_providers/{rp_uuid}/aggregates',
                              AGGREGATE_GENERATION_VERSION)
            if resp.status_code != 200:
                raise self._fail(f'GET aggregates of {rp_uuid}', resp)
            data = resp.json()
            have = list(data['aggregates'])
            want = have + [agg_uuid] if add else [a for a in have if a != agg_uuid]
            if (agg_uuid in have) == add:
                return
            resp = self._call(ctx, 'PUT', f'/resource_providers/{rp_uuid}/aggregates',
                              AGGREGATE_GENERATION_VERSION,
                              {'aggregates': want, 'resource_provider_generation':
                               data['resource_provider_generation']})
            if resp.status_code == 200:
                with self._lock:
                    self._providers.setdefault(rp_uuid, {})['generation'] = \
                        resp.json()['resource_provider_generation']
                return
            if resp.status_code != 409:
                raise self._fail(f'PUT aggregates of {rp_uuid}', resp)
        raise exception.ResourceProviderConflict(uuid=rp_uuid)

    def aggregate_add_host(self, ctx: RequestContext, agg_uuid: str, host: str) -> int:
        """Put the providers named `host` into placement aggregate `agg_uuid`;
        returns how many providers were found."""
        rps = self._provider_uuids_by_name(ctx, host)
        for rp in rps:
            self._change_aggregates(ctx, rp, agg_uuid, add=True)
        return len(rps)

    def aggregate_remove_host(self, ctx: RequestContext, agg_uuid: str, host: str) -> int:
        rps = self._provider_uuids_by_name(ctx, host)
        for rp in rps:
            self._change_aggregates(ctx, rp, agg_uuid, add=False)
        return len(rps)

    # -- scheduling -------------------------------------------------------------

    def get_allocation_candidates(
            self, ctx: RequestContext, resources: dict[str, int], limit: int,
            required: list[str] | None = None, member_of: list[str] | None = None,
            in_tree: str | None = None) -> tuple[list[AllocationRequest], dict[str, Any]]:
        """(allocation_requests, provider_summaries) for the resources asked."""
        params = [('resources', ','.join(f'{rc}:{n}' for rc, n in sorted(resources.items())
                                         if n > 0)),
                  ('limit', str(limit))]
        if required:
            params.append(('required', ','.join(required)))
        if member_of:
            params.append(('member_of', 'in:' + ','.join(member_of)))
        version = GRANULAR_VERSION
        if in_tree:
            params.append(('in_tree', in_tree))
            version = IN_TREE_VERSION
        resp = self._call(ctx, 'GET', '/allocation_candidates?' + urlencode(params), version,
                          stream=True)
        if resp.status_code != 200:
            LOG.warning('GET /allocation_candidates failed: %s %s', resp.status_code,
                        resp.text)
            return [], {}
        data = _loads(_body(resp))
        return data['allocation_requests'], data['provider_summaries']

    def claim_resources(self, ctx: RequestContext, consumer_uuid: str,
                        allocation_request: AllocationRequest, project_id: str,
                        user_id: str, keep_existing: bool = False) -> bool:
        """Allocate for a new consumer; False when placement says no (409).

        keep_existing (an evacuation, as Nova's claim for a move whose server
        keeps its source allocation): what the consumer holds already stays,
        the claim is added to it; a concurrent change of the consumer raises
        AllocationUpdateFailed."""
        allocations: dict[str, Any] = dict(allocation_request['allocations'])
        generation = None
        if keep_existing:
            current = self._consumer(ctx, consumer_uuid)
            if current['allocations']:
                generation = current.get('consumer_generation')
                held = {rp: {'resources': a['resources']}
                        for rp, a in current['allocations'].items()}
                allocations = {**held, **allocations}
        body = {'allocations': allocations,
                'project_id': project_id, 'user_id': user_id,
                'consumer_generation': generation}
        resp = self._call(ctx, 'PUT', f'/allocations/{consumer_uuid}',
                          CONSUMER_GENERATION_VERSION, body)
        if resp.status_code == 204:
            return True
        LOG.info('Claim for %s refused: %s %s', consumer_uuid, resp.status_code, resp.text)
        if resp.status_code == 409 and not (
                keep_existing and self._error_code(resp) == 'placement.concurrent_update'):
            return False
        raise exception.AllocationUpdateFailed(consumer_uuid=consumer_uuid, error=resp.text)

    def get_allocations_for_consumer(self, ctx: RequestContext, consumer_uuid: str) -> dict:
        """{rp uuid: {'generation': g, 'resources': {rc: n}}} ({} when none)."""
        resp = self._call(ctx, 'GET', f'/allocations/{consumer_uuid}',
                          CONSUMER_GENERATION_VERSION)
        if resp.status_code != 200:
            raise self._fail(f'GET allocations of {consumer_uuid}', resp)
        return resp.json()['allocations']

    def delete_allocation_for_instance(self, ctx: RequestContext, consumer_uuid: str) -> bool:
        """True when allocations were deleted, False when there were none."""
        resp = self._call(ctx, 'DELETE', f'/allocations/{consumer_uuid}', '1.0')
        if resp.status_code == 204:
            return True
        if resp.status_code == 404:
            return False
        raise self._fail(f'DELETE allocations of {consumer_uuid}', resp)

    def move_allocations(self, ctx: RequestContext, source: str, target: str) -> bool:
        """Give the allocations of consumer `source` to consumer `target` in one
        request (POST /allocations, consumer generations), replacing whatever
        target held, as Nova's move_allocations does for a move: the source
        ends with none. False when source holds nothing; raises
        AllocationUpdateFailed when placement refuses."""
        for _ in range(CONFLICT_RETRIES):
            src = self._consumer(ctx, source)
            if not src['allocations']:
                return False
            dst = self._consumer(ctx, target)
            body = {
                source: {'allocations': {}, 'consumer_generation':
                         src.get('consumer_generation'),
                         'project_id': src['project_id'], 'user_id': src['user_id']},
                target: {'allocations': {rp: {'resources': a['resources']}
                                         for rp, a in src['allocations'].items()},
                         'consumer_generation': dst.get('consumer_generation'),
                         'project_id': src['project_id'], 'user_id': src['user_id']}}
            resp = self._call(ctx, 'POST', '/allocations', CONSUMER_GENERATION_VERSION,
                              body)
            if resp.status_code == 204:
                return True
            if resp.status_code == 409 and \
                    self._error_code(resp) == 'placement.concurrent_update':
                continue
            raise exception.AllocationUpdateFailed(consumer_uuid=target, error=resp.text)
        raise exception.AllocationUpdateFailed(consumer_uuid=target,
                                               error='concurrent updates')

    def remove_provider_from_allocation(self, ctx: RequestContext, consumer_uuid: str,
                                        rp_uuid: str) -> bool:
        """Drop what consumer_uuid holds on provider rp_uuid and keep the rest
        (an evacuated server's source, or a failed destination), as Nova's
        remove_provider_tree_from_instance_allocation. False when it held
        nothing there; raises AllocationUpdateFailed when placement refuses."""
        for _ in range(CONFLICT_RETRIES):
            current = self._consumer(ctx, consumer_uuid)
            if rp_uuid not in current['allocations']:
                return False
            body = {consumer_uuid: {
                'allocations': {rp: {'resources': a['resources']}
                                for rp, a in current['allocations'].items() if rp != rp_uuid},
                'consumer_generation': current.get('consumer_generation'),
                'project_id': current['project_id'], 'user_id': current['user_id']}}
            resp = self._call(ctx, 'POST', '/allocations', CONSUMER_GENERATION_VERSION, body)
            if resp.status_code == 204:
                return True
            if resp.status_code == 409 and \
                    self._error_code(resp) == 'placement.concurrent_update':
                continue
            raise exception.AllocationUpdateFailed(consumer_uuid=consumer_uuid,
                                                   error=resp.text)
        raise exception.AllocationUpdateFailed(consumer_uuid=consumer_uuid,
                                               error='concurrent updates')

    def _consumer(self, ctx: RequestContext, consumer_uuid: str) -> dict[str, Any]:
        resp = self._call(ctx, 'GET', f'/allocations/{consumer_uuid}',
                          CONSUMER_GENERATION_VERSION)
        if resp.status_code != 200:
            raise self._fail(f'GET allocations of {consumer_uuid}', resp)
        return resp.json()

    def get_usages(self, ctx: RequestContext, rp_uuid: str) -> dict:
        """{rc: used} of one provider."""
        resp = self._call(ctx, 'GET', f'/resource_providers/{rp_uuid}/usages', '1.0')
        if resp.status_code != 200:
            raise self._fail(f'GET usages of {rp_uuid}', resp)
        return resp.json()['usages']


