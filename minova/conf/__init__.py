"""Configuration: every option mini-Nova reads, registered on one global CONF.

Sections and option names follow nova.conf wherever the meaning is the same.
"""
import threading

from oslo_config import cfg

from minova.conf import (
    api,
    compute,
    console,
    database,
    default,
    glance,
    image,
    key_manager,
    metadata,
    network,
    placement,
    quota,
    scheduler,
    virt,
    volume,
)

CONF = cfg.CONF

for _mod in (default, api, database, scheduler, compute, placement, glance, image, quota,
             virt, console, metadata, network, volume, key_manager):
    _mod.register_opts(CONF)

_client_opts_lock = threading.Lock()
_client_opts_registered = False


def register_client_opts() -> None:
    """Register [placement], [glance] and [neutron]'s keystoneauth1 options (auth, session,
    adapter), once.

    keystoneauth1 and requests are 2.7 MiB of every process that imports
    them, and placement or a conductor never call another service (a
    conductor only to clean up after a failed build). So these options are
    registered by the modules that make such calls (minova/clients/base.py),
    and by anything reading them before those are imported.
    """
    global _client_opts_registered
    if _client_opts_registered:
        return  # asked once per server of a detailed list: no lock then
    with _client_opts_lock:
        if not _client_opts_registered:
            placement.register_client_opts(CONF)
            glance.register_client_opts(CONF)
            network.register_client_opts(CONF)
            volume.register_client_opts(CONF)
            _client_opts_registered = True
