"""Expected races answered over RPC: the caller gets the exception, the server
logs one INFO line and no 'Exception during message handling' traceback."""
from __future__ import annotations

import logging
import uuid
from typing import Any

import oslo_messaging as messaging
import pytest

from minova import exception, rpc
from minova.conductor.manager import ConductorManager
from minova.context import get_admin_context


class Endpoint:
    target = messaging.Target(version='1.0')
    expected_exceptions = ConductorManager.expected_exceptions

    def update(self, context: Any, uuid: str) -> None:
        raise exception.InstanceInvalidState(action='update', instance_uuid=uuid,
                                             attr='task_state', state='deleting')

    def gone(self, context: Any, uuid: str) -> None:
        raise exception.InstanceNotFound(instance_id=uuid)

    def broken(self, context: Any) -> None:
        raise ValueError('a real bug')


@pytest.fixture
def client() -> Any:
    topic = 'quiet-' + uuid.uuid4().hex[:8]
    server = rpc.get_server(messaging.Target(topic=topic, server='h'), [Endpoint()])
    server.start()
    yield rpc.get_client(messaging.Target(topic=topic, version='1.0'), timeout=10)
    server.stop()
    server.wait()


def test_expected_races_are_quiet(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    ctx = get_admin_context()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(exception.InstanceInvalidState):
        client.call(ctx, 'update', uuid='u1')
    with pytest.raises(exception.InstanceNotFound):
        client.call(ctx, 'gone', uuid='u2')
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO
             and r.name == 'minova.rpc']
    assert len(infos) == 2 and 'u1' in infos[0] and 'deleting' in infos[0]


def test_other_errors_still_log_their_traceback(client: Any,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(Exception, match='a real bug'):
        client.call(get_admin_context(), 'broken')
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


def test_in_process_callers_get_the_plain_exception() -> None:
    from minova.rpc import QuietEndpoint
    quiet = QuietEndpoint(Endpoint(), Endpoint.expected_exceptions)
    with pytest.raises(messaging.ExpectedException):
        quiet.update(None, uuid='u1')
    with pytest.raises(exception.InstanceInvalidState):
        Endpoint().update(None, uuid='u1')
