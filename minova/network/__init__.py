"""Networking through Neutron, as Nova does it (issue 19).

neutron.py is the REST client (keystoneauth1, Neutron's errors as Nova's
exceptions), model.py turns ports into the network info a server caches (its
VIFs), api.py is Nova's network API (validate at the API, allocate and
deallocate on the compute host, refresh), security_groups.py the security group
calls. None of it is used unless [neutron] is configured (is_neutron()).
"""
from __future__ import annotations


def is_neutron() -> bool:
    """Servers are networked by Neutron ([neutron] auth_type or endpoint_override)."""
    from minova.conf import CONF
    from minova.conf.network import neutron_configured
    return neutron_configured(CONF)
