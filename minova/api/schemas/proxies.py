"""Nova's deprecated proxies (images, os-networks, os-hosts): their query
schemas and the microversions they exist at. A None row is a microversion
from which their URLs are 404 (versioned.require)."""
from __future__ import annotations

from minova.api.schemas import types
from minova.api.versioned import Schema

Table = list[tuple[str, Schema | None]]

IMAGES: Table = [('2.1', types.query({}, strict=False)), ('2.36', None)]
NETWORKS: Table = [('2.1', types.query({}, strict=False)), ('2.36', None)]
# The row holds GET /os-hosts' query schema; the other routes only need it to exist.
HOSTS: Table = [('2.1', types.query({'zone': types.multi({'type': 'string'})}, strict=False)),
                ('2.43', None)]
