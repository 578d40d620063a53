"""GET /servers/{id}/diagnostics per microversion (TABLE)."""
from __future__ import annotations

from dataclasses import dataclass

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema


@dataclass(frozen=True)
class ServerDiagnostics:
    """What the diagnostics resource does at one microversion."""

    query: Schema
    # Nova's fixed body (the compute API's get_instance_diagnostics); before,
    # whatever the driver reports (get_diagnostics)
    fixed_shape: bool = False


TABLE = versioned.history(
    ServerDiagnostics(query=types.query({}, strict=False)),
    ('2.48', {'fixed_shape': True}),
    ('2.102', {'query': types.query({}, strict=True)}),
)
