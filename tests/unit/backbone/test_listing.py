"""Listing servers across build requests and cells while conductor moves them."""
from __future__ import annotations

from typing import Any

import pytest

from minova import utils
from minova.compute import api as compute_api
from minova.context import RequestContext
from minova.db import build_requests
from minova.db import instances as inst_db
from tests.unit.backbone.fakes import FLAVOR


def _build_request(name: str) -> dict[str, Any]:
    inst = {'uuid': utils.generate_uuid(), 'display_name': name, 'project_id': 'proj1',
            'user_id': 'user1', 'vcpus': 1, 'memory_mb': 512, 'root_gb': 1,
            'ephemeral_gb': 0, 'vm_state': 'building', 'task_state': 'scheduling',
            'power_state': 0, 'flavor': FLAVOR, 'created_at': utils.utcnow()}
    build_requests.create([inst], [{'instance_uuid': inst['uuid']}])
    return inst


@pytest.mark.parametrize('moves_after', ['build requests read', 'nothing read'])
def test_a_server_moving_into_its_cell_is_listed_once(dbs: Any, moves_after: str,
                                                      monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    api = compute_api.API.__new__(compute_api.API)  # no conductor client needed to read
    moving = _build_request('moving')
    staying = _build_request('staying')

    def hand_over() -> None:
        # What conductor does: the instance into the cell, then the build request out.
        inst_db.create(dbs.cell, {k: v for k, v in moving.items()})
        assert build_requests.hand_over(moving['uuid'], dbs.cell1['id'])

    if moves_after == 'nothing read':
        hand_over()
    else:
        real_get_all = build_requests.get_all

        def get_all_then_hand_over(*args: Any, **kw: Any) -> Any:
            found = real_get_all(*args, **kw)
            hand_over()
            return found
        monkeypatch.setattr(build_requests, 'get_all', get_all_then_hand_over)
    ctx = RequestContext(user_id='user1', project_id='proj1')
    listed = api.get_all(ctx, {'project_id': 'proj1'}, None, None, [], [])
    assert sorted(s['display_name'] for s in listed) == ['moving', 'staying']
    [row] = [s for s in listed if s['uuid'] == moving['uuid']]
    assert row['cell_uuid'] == dbs.cell1['uuid']  # the cell's row wins
    assert staying['uuid'] in {s['uuid'] for s in listed}
