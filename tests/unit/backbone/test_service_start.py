"""A service that starts again is seen as up from the moment it serves."""
from __future__ import annotations

import datetime
from typing import Any

import pytest

from minova import rpc, service, utils
from minova.db import services


class _Server:
    def stop(self) -> None:
        pass

    def wait(self) -> None:
        pass


def test_a_restarted_service_is_up_before_its_first_periodic_heartbeat(
        empty_dbs: dict[str, str], flags: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = empty_dbs['cell']
    flags('report_interval', 3600)     # no periodic heartbeat within the test
    old = services.get_or_create(url, 'h1', 'minova-conductor', 'conductor')
    # Its last heartbeat came before a restart slower than service_down_time.
    services.update(url, old['id'], {'last_seen_up': utils.utcnow()
                                     - datetime.timedelta(minutes=10)})
    assert not services.is_up(services.get_by_id(url, old['id']))
    monkeypatch.setattr(rpc, 'start_server', lambda *a, **kw: _Server())

    svc = service.Service('minova-conductor', 'conductor', object(), host='h1')
    svc.start()
    try:
        row = services.get_by_id(url, old['id'])
        assert services.is_up(row) and row['report_count'] == 1
    finally:
        svc.stop()
