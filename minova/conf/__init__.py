"""Configuration: every option mini-Nova reads, registered on one global CONF.

Sections and option names follow nova.conf wherever the meaning is the same.
"""
from oslo_config import cfg

from minova.conf import (
    api,
    compute,
    database,
    default,
    glance,
    image,
    placement,
    quota,
    scheduler,
    virt,
)

CONF = cfg.CONF

for _mod in (default, api, database, scheduler, compute, placement, glance, image, quota,
             virt):
    _mod.register_opts(CONF)
