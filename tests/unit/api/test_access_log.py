"""One access line per request, with the request's id and project (as Nova's request log)."""
from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.unit.api.conftest import Client


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == 'minova.api.access']


def test_a_line_per_request_with_status_time_request_id_and_project(
        user: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger='minova.api.access'):
        r = user.get('/servers/0e9a3a6f-2a5e-4c36-9c2c-6a2f0f1d9a57', query_string='a=1',
                     version='2.1')
    assert r.status_code == 404
    [rec] = _lines(caplog)
    msg = rec.getMessage()
    assert rec.levelno == logging.INFO
    assert '"GET /v2.1/servers/0e9a3a6f-2a5e-4c36-9c2c-6a2f0f1d9a57?a=1" status: 404' in msg
    assert f'len: {len(r.content)}' in msg
    assert 'microversion: 2.1 ' in msg and ' time: 0.' in msg
    ctx: Any = rec.context  # type: ignore[attr-defined]
    assert ctx.request_id == r.headers['x-openstack-request-id']
    assert (ctx.user_id, ctx.project_id) == ('alice', 'proj-a')


def test_refused_requests_are_logged_with_their_request_id(
        app: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger='minova.api.access'):
        r = Client(app, token=None).get('/flavors')
    assert r.status_code == 401
    [rec] = _lines(caplog)
    assert '"GET /v2.1/flavors" status: 401' in rec.getMessage()
    ctx: Any = rec.context  # type: ignore[attr-defined]
    assert ctx.request_id == r.headers['x-openstack-request-id']
    assert ctx.project_id is None


def test_quiet_when_info_is_off(user: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger='minova.api.access'):
        assert user.get('/flavors').status_code == 200
    assert not _lines(caplog)
