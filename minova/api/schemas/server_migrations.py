"""Bodies of os-migrateLive per microversion (each the previous plus a change)
and of a live migration's force_complete action."""
from __future__ import annotations

import copy
from typing import Any

from minova.api.schemas import types

_host = dict(types.fqdn, type=['string', 'null'])


def _live(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {'type': 'object',
            'properties': {'os-migrateLive': {
                'type': 'object', 'properties': props, 'required': required,
                'additionalProperties': False}},
            'required': ['os-migrateLive'], 'additionalProperties': False}


migrate_live = _live({'block_migration': types.boolean,
                      'disk_over_commit': types.boolean, 'host': _host},
                     ['block_migration', 'disk_over_commit', 'host'])

# 2.25: block_migration may be 'auto'; disk_over_commit is gone.
_block_auto = copy.deepcopy(types.boolean)
_block_auto['enum'].append('auto')
migrate_live_v225 = _live({'block_migration': _block_auto, 'host': _host},
                          ['block_migration', 'host'])

# 2.30: force (skip the scheduler for the named host); 2.68 removes it again.
migrate_live_v230 = _live({'block_migration': _block_auto, 'host': _host,
                           'force': types.boolean}, ['block_migration', 'host'])
migrate_live_v268 = migrate_live_v225

MIGRATE_LIVE_TABLE: list[tuple[str, dict[str, Any] | None]] = [
    ('2.1', migrate_live), ('2.25', migrate_live_v225), ('2.30', migrate_live_v230),
    ('2.68', migrate_live_v268)]

force_complete: dict[str, Any] = {
    'type': 'object', 'properties': {'force_complete': {'type': 'null'}},
    'required': ['force_complete'], 'additionalProperties': False}
