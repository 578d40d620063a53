"""Remote consoles per microversion: POST /servers/{id}/remote-consoles (2.6+),
the legacy actions (2.1-2.5) and GET /os-console-auth-tokens/{token}."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minova.api import versioned
from minova.api.versioned import Schema


def _create(protocols: list[str], types: list[str]) -> Schema:
    return {
        'type': 'object',
        'properties': {'remote_console': {
            'type': 'object',
            'properties': {'protocol': {'enum': protocols}, 'type': {'enum': types}},
            'required': ['protocol', 'type'], 'additionalProperties': False}},
        'required': ['remote_console'], 'additionalProperties': False,
    }


_PROTOCOLS_26 = ['vnc', 'spice', 'rdp', 'serial']
_TYPES_26 = ['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', 'serial']

# POST /servers/{id}/remote-consoles: None before 2.6 (404)
CREATE: versioned.Table[Schema | None] = [
    ('2.1', None),
    ('2.6', _create(_PROTOCOLS_26, _TYPES_26)),
    ('2.8', _create([*_PROTOCOLS_26, 'mks'], [*_TYPES_26, 'webmks'])),
    # SPICE direct consoles (answered "Unavailable": no SPICE here)
    ('2.99', _create([*_PROTOCOLS_26, 'mks'], [*_TYPES_26, 'webmks', 'spice-direct'])),
]


def legacy_action(name: str, types: list[str]) -> Schema:
    return {
        'type': 'object',
        'properties': {name: {
            'type': 'object',
            'properties': {'type': {'type': 'string', 'enum': types}},
            'required': ['type'], 'additionalProperties': False}},
        'required': [name], 'additionalProperties': False,
    }


@dataclass(frozen=True)
class AuthTokens:
    """GET /os-console-auth-tokens/{token} at one microversion."""

    # before 2.31 only an RDP console's token may be shown (Nova's 401 otherwise)
    rdp_only: bool = True
    # 2.99: the body has tls_port (a SPICE console's; null for VNC and serial)
    tls_port: bool = False


AUTH_TOKENS: list[tuple[str, AuthTokens]] = versioned.history(
    AuthTokens(), ('2.31', {'rdp_only': False}), ('2.99', {'tls_port': True}))

EMPTY: dict[str, Any] = {}
