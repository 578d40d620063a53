"""What every client of another service shares: its keystoneauth1 adapter.

One module per peer service beside this one (placement, image; later
network and volume), each with a `Client` built on `Client` here.

With an auth_type configured, auth, session and adapter come from the
group's options, so endpoints are found in the service catalog. Without one
(a noauth deployment), a fixed token is sent to a fixed endpoint.

Importing this module registers those groups' keystoneauth1 options
(minova.conf.register_client_opts): services that call no other service
never import keystoneauth1.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from keystoneauth1 import access as ks_access
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import plugin as ks_plugin
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

import minova.conf
from minova.conf import CONF

minova.conf.register_client_opts()

if TYPE_CHECKING:
    from minova.context import RequestContext


def v3_catalog(catalog: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The catalog with v3 endpoints (interface, url).

    keystonemiddleware hands X-Service-Catalog over in the v2 format
    (publicURL, internalURL, adminURL per endpoint), as Nova receives it.
    """
    out = []
    for service in catalog:
        endpoints = []
        for ep in service.get('endpoints') or []:
            if 'interface' in ep:
                endpoints.append(ep)
                continue
            for iface in ('public', 'internal', 'admin'):
                if ep.get(f'{iface}URL'):
                    endpoints.append({'id': ep.get('id'), 'interface': iface,
                                      'url': ep[f'{iface}URL'], 'region': ep.get('region'),
                                      'region_id': ep.get('region')})
        out.append(dict(service, endpoints=endpoints))
    return out


class UserAuthPlugin(ks_plugin.BaseAuthPlugin):
    """The caller's own token and service catalog, for calls made on its behalf."""

    def __init__(self, token: str | None, catalog: list[dict[str, Any]]) -> None:
        super().__init__()
        self.token = token
        self.catalog = ks_access.create(
            body={'token': {'catalog': v3_catalog(catalog)}}).service_catalog

    def get_token(self, *args: Any, **kwargs: Any) -> str | None:
        return self.token

    def get_endpoint(self, session: Any, service_type: str | None = None,
                     interface: str | None = None, region_name: str | None = None,
                     service_name: str | None = None, **kwargs: Any) -> str | None:
        return self.catalog.url_for(service_type=service_type, interface=interface or 'public',
                                    region_name=region_name, service_name=service_name)


def user_auth_plugin(ctx: RequestContext) -> UserAuthPlugin:
    """Authenticates as the caller of ctx (its token and service catalog)."""
    return UserAuthPlugin(ctx.auth_token, ctx.service_catalog)


class CatalogAdapter(ks_adapter.Adapter):
    """An adapter that looks its endpoint up in the service catalog once per
    token of its auth plugin, not once per request.

    keystoneauth1 finds the endpoint anew for every request, normalising
    (deep-copying) the whole catalog each time: about 0.12 ms of CPU per
    call to placement or the image service, several per boot. The URL found
    is kept together with the token it came from, and found again once the
    plugin has authenticated anew (a new token, possibly a new catalog).
    `endpoint_override` still wins as before.
    """

    _found: tuple[Any, str] | None = None     # (auth_ref it came from, URL)

    def request(self, url: str, method: str, **kwargs: Any) -> Any:
        if not self.endpoint_override and 'endpoint_override' not in kwargs \
                and 'auth' not in kwargs and self._plugin() is not None:
            endpoint = self._catalog_endpoint()
            if endpoint:
                kwargs['endpoint_override'] = endpoint
        return super().request(url, method, **kwargs)

    def _plugin(self) -> Any:
        return self.auth or self.session.auth

    def _catalog_endpoint(self) -> str | None:
        ref = getattr(self._plugin(), 'auth_ref', None)
        found = self._found
        if ref is not None and found is not None and found[0] is ref:
            return found[1]
        endpoint = self.get_endpoint()       # authenticates first if need be
        ref = getattr(self._plugin(), 'auth_ref', None)
        if endpoint and ref is not None:
            self._found = (ref, endpoint)
        return endpoint


class _CatalogAdapterLoader(ks_loading.adapter.Adapter):
    """keystoneauth1's adapter loader, making CatalogAdapters."""

    @property
    def plugin_class(self) -> type[ks_adapter.Adapter]:
        return CatalogAdapter


def environment_once(session: Any) -> Any:
    """`session` (a requests.Session) reading the environment's proxy and CA
    bundle settings once per endpoint rather than for every request.

    requests looks them up for each request (each time walking os.environ,
    twice for the proxies alone): at 1,000 hosts that was as much CPU per
    select_destinations as building its host states. The environment of a
    running service does not change, so the answer per (scheme, host,
    arguments) is kept; whatever is not hashable is looked up as before.
    """
    merge = session.merge_environment_settings
    known: dict[Any, dict[str, Any]] = {}

    def merge_environment_settings(url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        if not session.trust_env:
            return merge(url, proxies, stream, verify, cert)
        try:
            scheme, netloc = urlsplit(url)[:2]
            key = (scheme, netloc, tuple(sorted((proxies or {}).items())), stream, verify,
                   cert, tuple(sorted(session.proxies.items())))
            found = known.get(key)
        except TypeError:   # an unhashable argument
            return merge(url, proxies, stream, verify, cert)
        if found is None:
            found = known[key] = merge(url, proxies, stream, verify, cert)
        return {**found, 'proxies': dict(found['proxies'])}
    session.merge_environment_settings = merge_environment_settings
    return session


def adapter_from_conf(group: str, service_type: str, noauth_endpoint: str,
                      noauth_token: str,
                      endpoint_override: str | None = None) -> ks_adapter.Adapter:
    """An adapter for `group`; noauth_* apply only when no auth_type is set."""
    auth = ks_loading.load_auth_from_conf_options(CONF, group)
    if auth is None:
        endpoint = getattr(CONF, group).endpoint_override or noauth_endpoint
        sess = ks_session.Session(auth=token_endpoint.Token(endpoint, noauth_token))
        environment_once(sess.session)
        return ks_adapter.Adapter(sess, service_type=service_type, endpoint_override=endpoint)
    sess = ks_loading.load_session_from_conf_options(CONF, group, auth=auth)
    environment_once(sess.session)
    kwargs = {'endpoint_override': endpoint_override} if endpoint_override else {}
    return _CatalogAdapterLoader().load_from_conf_options(CONF, group, session=sess,
                                                          auth=auth, **kwargs)


class Client:
    """A peer service's client: one keystoneauth1 adapter (connection pooling,
    thread safe), built on first use so that importing a client costs nothing."""

    def __init__(self, adapter: ks_adapter.Adapter | None = None) -> None:
        self._adapter = adapter
        self._adapter_lock = threading.Lock()

    def _build_adapter(self) -> ks_adapter.Adapter:
        raise NotImplementedError

    @property
    def adapter(self) -> ks_adapter.Adapter:
        with self._adapter_lock:
            if self._adapter is None:
                self._adapter = self._build_adapter()
            return self._adapter


# A peer that cannot be reached (as opposed to one that answered an error).
CONNECT_ERRORS = (ks_exc.EndpointNotFound, ks_exc.MissingAuthPlugin,
                  ks_exc.DiscoveryFailure, ks_exc.ConnectionError)
RETRY_SLEEP = 0.5


def call_peer(adapter: ks_adapter.Adapter, url: str, method: str, retries: int,
              unavailable: Callable[[str], Exception], **kwargs: Any) -> tuple[int, Any]:
    """(status, decoded body) of a peer's answer: None for an empty one, the
    response itself for an error (>= 400), which the caller translates.
    A connection failure is retried `retries` times, then raised as
    unavailable(reason); Keystone refusing the credentials is raised at once."""
    for attempt in range(retries + 1):
        try:
            resp = adapter.request(url, method, raise_exc=False, **kwargs)
            break
        except CONNECT_ERRORS as e:
            if attempt >= retries:
                raise unavailable(str(e)) from e
            time.sleep(RETRY_SLEEP)
        except ks_exc.ClientException as e:
            raise unavailable(f'{type(e).__name__}: {e}') from e
    if resp.status_code >= 400:
        return resp.status_code, resp
    if resp.status_code == 204 or not resp.content:
        return resp.status_code, None
    return resp.status_code, resp.json()
