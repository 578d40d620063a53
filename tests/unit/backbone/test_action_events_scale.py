"""Instance action events at scale: an event is found through its action's
index, not by scanning every event of the cell (each boot starts and
finishes several, so the scan made every boot slower as servers piled up)."""
from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.dialects import sqlite

from minova import utils
from minova.db import actions
from minova.db.main_tables import instance_actions_events as events


def test_finishing_an_event_closes_only_that_action_s_event(dbs: Any) -> None:
    uuids = [utils.generate_uuid() for _ in range(3)]
    for uuid in uuids:
        actions.action_start(dbs.cell, uuid, 'create', f'req-{uuid}', 'user1', 'proj1')
        actions.event_start(dbs.cell, uuid, f'req-{uuid}', 'compute_spawn', host='h1')
    actions.event_finish(dbs.cell, uuids[1], f'req-{uuids[1]}', 'compute_spawn')
    for uuid in uuids:
        action = actions.action_get_by_request_id(dbs.cell, uuid, f'req-{uuid}')
        (event,) = actions.events_get(dbs.cell, action['id'])
        assert event['event'] == 'compute_spawn'
        if uuid == uuids[1]:
            assert event['result'] == 'Success' and event['finish_time'] is not None
        else:
            assert event['result'] is None and event['finish_time'] is None


def test_event_updates_and_reads_use_the_action_id_index(dbs: Any) -> None:
    actions.action_start(dbs.cell, utils.generate_uuid(), 'create', 'req-1', 'user1', 'proj1')
    now = utils.utcnow()
    close = events.update().where(events.c.action_id == 1, events.c.event == 'compute_spawn',
                                  events.c.finish_time.is_(None)).values(finish_time=now)
    read = events.select().where(events.c.action_id == 1).order_by(events.c.id.desc())
    with sqlite3.connect(dbs.cell[len('sqlite:///'):]) as conn:
        for q in (close, read):
            sql = str(q.compile(dialect=sqlite.dialect(),
                                compile_kwargs={'literal_binds': True}))
            plan = ' | '.join(r[-1] for r in conn.execute('EXPLAIN QUERY PLAN ' + sql))
            assert 'instance_actions_events_action_id_idx' in plan, plan
