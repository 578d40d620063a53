"""Request schemas of /os-services and the family's version table (TABLE)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minova.api import versioned
from minova.api.schemas import types
from minova.api.versioned import Schema

_filters = {'host': types.multi({'type': 'string'}),
            'binary': types.multi({'type': 'string'})}
index_query = types.query(_filters, strict=False)
index_query_v275 = types.query(_filters, strict=True)

_reason = {'type': 'string', 'minLength': 1, 'maxLength': 255,
           'pattern': r'^[^\x00-\x1f\x7f]*$'}
_host_binary = {'host': types.fqdn, 'binary': {'type': 'string', 'minLength': 1,
                                               'maxLength': 255}}


def _legacy(extra: dict[str, Any], required: list[str]) -> Schema:
    return {'type': 'object', 'properties': dict(_host_binary, **extra),
            'required': ['host', 'binary', *required], 'additionalProperties': False}


enable_disable = _legacy({}, [])
disable_log_reason = _legacy({'disabled_reason': _reason}, [])
force_down = _legacy({'forced_down': types.boolean}, ['forced_down'])
update_v253: Schema = {
    'type': 'object',
    'properties': {'status': {'type': 'string', 'enum': ['enabled', 'disabled']},
                   'disabled_reason': _reason, 'forced_down': types.boolean},
    'additionalProperties': False,
}

_LEGACY_ACTIONS = {'enable': enable_disable, 'disable': enable_disable,
                   'disable-log-reason': disable_log_reason}


@dataclass(frozen=True)
class Services:
    """What /os-services does at one microversion."""

    index_query: Schema
    # PUT /os-services/<action> (host and binary in the body), by action name
    legacy_actions: Mapping[str, Schema]
    by_uuid: bool = False
    # PUT /os-services/{uuid}; when set, the legacy actions are gone
    update: Schema | None = None


TABLE = versioned.history(
    Services(index_query=index_query, legacy_actions=_LEGACY_ACTIONS),
    ('2.11', {'legacy_actions': dict(_LEGACY_ACTIONS, **{'force-down': force_down})}),
    ('2.53', {'by_uuid': True, 'update': update_v253}),
    ('2.75', {'index_query': index_query_v275}),
)
