"""Flavor bodies per microversion."""
from __future__ import annotations

from typing import Any

import falcon

from minova.api import util


def basic(req: falcon.Request, flavor: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {'id': flavor['flavorid'], 'links': util.links(
        req, 'flavors', flavor['flavorid']), 'name': flavor['name']}
    if util.at_least(req, '2.55'):
        out['description'] = flavor.get('description')
    return out


def detail(req: falcon.Request, flavor: dict[str, Any],
           include_extra_specs: bool = False) -> dict[str, Any]:
    out = basic(req, flavor)
    swap = flavor.get('swap') or 0
    out.update({
        'ram': flavor['memory_mb'],
        'disk': flavor['root_gb'],
        'vcpus': flavor['vcpus'],
        'swap': swap if swap or util.at_least(req, '2.75') else '',
        'OS-FLV-EXT-DATA:ephemeral': flavor.get('ephemeral_gb') or 0,
        'os-flavor-access:is_public': bool(flavor['is_public']),
    })
    if not util.at_least(req, '2.102'):
        out['rxtx_factor'] = flavor.get('rxtx_factor', 1.0)
        out['OS-FLV-DISABLED:disabled'] = bool(flavor.get('disabled'))
    if include_extra_specs and util.at_least(req, '2.61'):
        out['extra_specs'] = dict(flavor.get('extra_specs') or {})
    return out
