"""os-volume_attachments request schemas, per microversion (Nova's)."""
from __future__ import annotations

import copy
from typing import Any

from minova.api.schemas import types

DEVICE: dict[str, Any] = {'type': ['string', 'null'],
                          'pattern': '(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$'}

create: dict[str, Any] = {
    'type': 'object',
    'properties': {'volumeAttachment': {
        'type': 'object',
        'properties': {'volumeId': types.uuid, 'device': DEVICE},
        'required': ['volumeId'],
        'additionalProperties': False}},
    'required': ['volumeAttachment'],
    'additionalProperties': False,
}
create_v249 = copy.deepcopy(create)
create_v249['properties']['volumeAttachment']['properties']['tag'] = types.tag
create_v279 = copy.deepcopy(create_v249)
create_v279['properties']['volumeAttachment']['properties']['delete_on_termination'] = {
    'type': 'boolean'}
CREATE = [('2.1', create), ('2.49', create_v249), ('2.79', create_v279)]

update: dict[str, Any] = {
    'type': 'object',
    'properties': {'volumeAttachment': {
        'type': 'object', 'properties': {'volumeId': types.uuid},
        'required': ['volumeId'], 'additionalProperties': False}},
    'required': ['volumeAttachment'],
    'additionalProperties': False,
}
# 2.85: the whole attachment may be sent back; only delete_on_termination
# (and, for a swap, volumeId) may differ from what the mapping holds.
update_v285 = copy.deepcopy(update)
update_v285['properties']['volumeAttachment']['properties'].update({
    'device': DEVICE, 'tag': types.tag, 'delete_on_termination': {'type': 'boolean'},
    'serverId': types.uuid, 'id': types.uuid})
UPDATE = [('2.1', update), ('2.85', update_v285)]
# From 2.85 a PUT naming the attached volume itself updates the attachment in
# place (delete_on_termination); before, every PUT is the admin's swap.
UPDATE_IN_PLACE = [('2.1', False), ('2.85', True)]

_index_props = {'limit': types.multi(types.non_negative_integer),
                'offset': types.multi(types.non_negative_integer)}
INDEX_QUERY = [('2.1', types.query(_index_props, strict=False)),
               ('2.75', types.query(_index_props, strict=True))]

# -- the deprecated os-volumes / os-snapshots proxies (2.1-2.35; 404 from 2.36) --

PROXY_QUERY = [('2.1', types.query({'limit': types.multi(types.non_negative_integer),
                                    'offset': types.multi(types.non_negative_integer)},
                                   strict=False)), ('2.36', None)]

volume_create: dict[str, Any] = {
    'type': 'object',
    'properties': {'volume': {
        'type': 'object',
        'properties': {
            'volume_type': {'type': 'string'},
            'metadata': {'type': 'object'},
            'snapshot_id': {'type': 'string'},
            'size': {'type': ['integer', 'string'], 'pattern': '^[0-9]+$', 'minimum': 1},
            'availability_zone': {'type': 'string'},
            'display_name': {'type': 'string'},
            'display_description': {'type': 'string'},
        },
        'required': ['size'],
        'additionalProperties': False}},
    'required': ['volume'],
    'additionalProperties': False,
}

snapshot_create: dict[str, Any] = {
    'type': 'object',
    'properties': {'snapshot': {
        'type': 'object',
        'properties': {
            'volume_id': {'type': 'string', 'minLength': 1},
            'force': types.boolean,
            'display_name': {'type': 'string'},
            'display_description': {'type': 'string'},
        },
        'required': ['volume_id'],
        'additionalProperties': False}},
    'required': ['snapshot'],
    'additionalProperties': False,
}
