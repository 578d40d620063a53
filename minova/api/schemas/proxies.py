"""Nova's deprecated proxies (images, os-networks, os-hosts): their query
schemas and the microversions they exist at. A None row is a microversion
from which their URLs are 404 (versioned.require)."""
from __future__ import annotations

from typing import Any

from minova.api.schemas import types
from minova.api.versioned import Schema

Table = list[tuple[str, Schema | None]]

IMAGES: Table = [('2.1', types.query({}, strict=False)), ('2.36', None)]
# /images/{id}/metadata[/{key}] outlive the image proxy: Nova removes them at 2.39.
IMAGE_METADATA: Table = [('2.1', types.query({}, strict=False)), ('2.39', None)]
IMAGE_METADATA_BODY: dict[str, Any] = {
    'type': 'object', 'properties': {'metadata': types.metadata},
    'required': ['metadata'], 'additionalProperties': False,
}
IMAGE_META_BODY: dict[str, Any] = {
    'type': 'object',
    'properties': {'meta': {**types.metadata, 'minProperties': 1, 'maxProperties': 1}},
    'required': ['meta'], 'additionalProperties': False,
}
NETWORKS: Table = [('2.1', types.query({}, strict=False)), ('2.36', None)]
# The row holds GET /os-hosts' query schema; the other routes only need it to exist.
HOSTS: Table = [('2.1', types.query({'zone': types.multi({'type': 'string'})}, strict=False)),
                ('2.43', None)]
