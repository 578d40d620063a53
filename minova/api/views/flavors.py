"""Flavor bodies per microversion: one table of (version, field, getter) rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon

from minova.api import util
from minova.api.views.fields import OMIT, Field, Fields
from minova.db.flavors import Flavor

BASIC = 'basic'     # GET /flavors
DETAIL = 'detail'   # GET /flavors/detail, /flavors/{id}, create and update
_DETAIL = frozenset({DETAIL})


@dataclass
class Render:
    req: falcon.Request
    flavor: Flavor
    extra_specs: bool   # the extra specs policy lets the caller see them

    @property
    def swap(self) -> int:
        return self.flavor.get('swap') or 0


FIELDS: Fields[Render] = Fields(
    Field('2.1', 'id', lambda r: r.flavor['flavorid']),
    Field('2.1', 'links', lambda r: util.links(r.req, 'flavors', r.flavor['flavorid'])),
    Field('2.1', 'name', lambda r: r.flavor['name']),
    Field('2.55', 'description', lambda r: r.flavor.get('description')),
    Field('2.1', 'ram', lambda r: r.flavor['memory_mb'], _DETAIL),
    Field('2.1', 'disk', lambda r: r.flavor['root_gb'], _DETAIL),
    Field('2.1', 'vcpus', lambda r: r.flavor['vcpus'], _DETAIL),
    # Before 2.75 no swap is "", as Nova answers it.
    Field('2.1', 'swap', lambda r: r.swap or '', _DETAIL, until='2.75'),
    Field('2.75', 'swap', lambda r: r.swap, _DETAIL),
    Field('2.1', 'OS-FLV-EXT-DATA:ephemeral', lambda r: r.flavor.get('ephemeral_gb') or 0,
          _DETAIL),
    Field('2.1', 'os-flavor-access:is_public', lambda r: bool(r.flavor['is_public']),
          _DETAIL),
    Field('2.1', 'rxtx_factor', lambda r: r.flavor.get('rxtx_factor', 1.0), _DETAIL,
          until='2.102'),
    Field('2.1', 'OS-FLV-DISABLED:disabled', lambda r: bool(r.flavor.get('disabled')),
          _DETAIL, until='2.102'),
    Field('2.61', 'extra_specs', lambda r: dict(r.flavor.get('extra_specs') or {})
          if r.extra_specs else OMIT, _DETAIL),
)


def basic(req: falcon.Request, flavor: Flavor) -> dict[str, Any]:
    return FIELDS.render(req, Render(req, flavor, False), BASIC)


def detail(req: falcon.Request, flavor: Flavor,
           include_extra_specs: bool = False) -> dict[str, Any]:
    return FIELDS.render(req, Render(req, flavor, include_extra_specs), DETAIL)
