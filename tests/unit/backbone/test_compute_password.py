"""changePassword on the compute host (set_admin_password, RPC 1.10): the
driver's answers become Nova's errors, and the task state is always cleared."""
from __future__ import annotations

from typing import Any

import pytest

from minova import exception, states
from minova.db import instances as inst_db
from tests.unit.backbone.test_compute import Env, build


@pytest.fixture
def env(dbs: Any, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(dbs, monkeypatch)


def _updating(env: Env, ctx: Any, mgr: Any) -> str:
    inst = env.scheduled(ctx)
    build(mgr, env, ctx, inst)
    inst_db.update(env.dbs.cell, inst['uuid'], {'task_state': states.UPDATING_PASSWORD})
    return str(inst['uuid'])


def test_password_set_in_a_running_guest(env: Env, ctx: Any) -> None:
    mgr = env.start()
    uuid = _updating(env, ctx, mgr)
    mgr.set_admin_password(ctx, env.get(uuid), 'pw')
    assert mgr.driver._guests[uuid]['admin_password'] == 'pw'
    assert env.get(uuid)['task_state'] is None


@pytest.mark.parametrize('refusal, expected', [
    (exception.SetAdminPasswdNotSupported(), exception.InstancePasswordSetFailed),
    (NotImplementedError(), exception.NotSupported),
])
def test_driver_refusals_are_novas_errors(env: Env, ctx: Any, monkeypatch: pytest.MonkeyPatch,
                                          refusal: Exception, expected: type) -> None:
    mgr = env.start()
    uuid = _updating(env, ctx, mgr)

    def refuse(instance: Any, new_pass: str) -> None:
        raise refusal
    monkeypatch.setattr(mgr.driver, 'set_admin_password', refuse)
    with pytest.raises(expected) as err:
        mgr.set_admin_password(ctx, env.get(uuid), 'pw')
    if expected is exception.InstancePasswordSetFailed:
        assert err.value.message == (
            f'Failed to set admin password on {uuid} because set_admin_password is not '
            'supported by this driver or guest instance.')
        assert err.value.code == 409
    else:
        assert err.value.message == 'Unable to set password on instance'
        assert err.value.code == 501
    assert env.get(uuid)['task_state'] is None


def test_a_guest_that_is_not_running_refuses(env: Env, ctx: Any) -> None:
    mgr = env.start()
    uuid = _updating(env, ctx, mgr)
    mgr.driver.power_off(env.get(uuid))
    with pytest.raises(exception.InstancePasswordSetFailed, match='instance is not running'):
        mgr.set_admin_password(ctx, env.get(uuid), 'pw')
    assert env.get(uuid)['task_state'] is None


def test_libvirt_guests_have_no_agent_to_take_it() -> None:
    from minova.virt.libvirt import driver as libvirt_driver
    with pytest.raises(exception.SetAdminPasswdNotSupported):
        libvirt_driver.LibvirtDriver.set_admin_password(object(), {}, 'pw')  # type: ignore[arg-type]
