"""Query schemas of GET /limits, per microversion (the body: views/limits.py)."""
from __future__ import annotations

from minova.api.schemas import types

QUERY = [('2.1', types.query({'tenant_id': types.multi({'type': 'string'})}, strict=False)),
         ('2.75', types.query({'tenant_id': types.multi({'type': 'string'})}, strict=True))]
