"""keystoneauth1 adapters for calls to other services ([placement], [glance]).

With an auth_type configured, auth, session and adapter come from the
group's options, so endpoints are found in the service catalog. Without one
(a noauth deployment), a fixed token is sent to a fixed endpoint.
"""
from __future__ import annotations

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from minova.conf import CONF


def adapter_from_conf(group: str, service_type: str, noauth_endpoint: str,
                      noauth_token: str,
                      endpoint_override: str | None = None) -> ks_adapter.Adapter:
    """An adapter for `group`; noauth_* apply only when no auth_type is set."""
    auth = ks_loading.load_auth_from_conf_options(CONF, group)
    if auth is None:
        endpoint = getattr(CONF, group).endpoint_override or noauth_endpoint
        sess = ks_session.Session(auth=token_endpoint.Token(endpoint, noauth_token))
        return ks_adapter.Adapter(sess, service_type=service_type, endpoint_override=endpoint)
    sess = ks_loading.load_session_from_conf_options(CONF, group, auth=auth)
    kwargs = {'endpoint_override': endpoint_override} if endpoint_override else {}
    return ks_loading.load_adapter_from_conf_options(CONF, group, session=sess, auth=auth,
                                                     **kwargs)
