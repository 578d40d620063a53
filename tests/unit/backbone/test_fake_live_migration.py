"""The fake driver's live migration: the guest leaves the source's table and
arrives in the destination's; abort, force_complete and failure injection."""
from __future__ import annotations

import threading
from typing import Any

import pytest

from minova import exception, states
from minova.context import get_admin_context
from minova.virt.driver import MigrationProgress
from minova.virt.fake import FakeDriver

CTX = get_admin_context()


def _pair() -> tuple[FakeDriver, FakeDriver, dict[str, Any]]:
    src, dst = FakeDriver(), FakeDriver()
    src.init_host('src')
    dst.init_host('dst')
    inst: dict[str, Any] = {'uuid': 'u-1', 'display_name': 'lm', 'vcpus': 1,
                            'memory_mb': 64, 'root_gb': 1, 'vm_state': states.ACTIVE}
    src.spawn(CTX, inst, {}, [], None, {}, [])  # type: ignore[arg-type]
    return src, dst, inst


def test_live_migration_moves_the_guest_with_progress(flags: Any) -> None:
    flags('live_migration_seconds', 0.05, group='fake_driver')
    src, dst, inst = _pair()
    data = dst.check_can_live_migrate_destination(CTX, inst, None)  # type: ignore[arg-type]
    assert data == {'dest_host': 'dst', 'block_migration': True}
    data = dst.pre_live_migration(CTX, inst, data)  # type: ignore[arg-type]
    seen: list[MigrationProgress] = []
    src.live_migration(CTX, inst, 'dst', data, seen.append)  # type: ignore[arg-type]
    assert len(seen) == FakeDriver.LIVE_MIGRATION_STEPS
    assert seen[-1]['memory_remaining'] == 0 and seen[-1]['disk_remaining'] == 0
    assert seen[-1]['disk_total'] == 1024 ** 3
    src.post_live_migration_at_source(CTX, inst, data)  # type: ignore[arg-type]
    dst.post_live_migration_at_destination(CTX, inst, data)  # type: ignore[arg-type]
    assert src.list_instance_uuids() == [] and dst.list_instance_uuids() == ['u-1']
    assert dst.get_info(inst)['state'] == states.RUNNING  # type: ignore[arg-type]


def _run_in_thread(src: FakeDriver, inst: dict[str, Any]) -> tuple[threading.Thread,
                                                                   list[BaseException]]:
    errors: list[BaseException] = []
    started = threading.Event()

    def run() -> None:
        try:
            src.live_migration(CTX, inst, 'dst', {},  # type: ignore[arg-type]
                               lambda p: started.set())
        except BaseException as e:  # noqa: BLE001 - handed to the test
            errors.append(e)
        started.set()
    t = threading.Thread(target=run)
    t.start()
    assert started.wait(5)
    return t, errors


def test_abort_raises_migration_aborted_and_keeps_the_guest(flags: Any) -> None:
    flags('live_migration_seconds', 5.0, group='fake_driver')
    src, dst, inst = _pair()
    t, errors = _run_in_thread(src, inst)
    src.live_migration_abort(inst)  # type: ignore[arg-type]
    t.join(5)
    assert [type(e) for e in errors] == [exception.MigrationAborted]
    assert src.list_instance_uuids() == ['u-1']
    with pytest.raises(exception.InstanceNotFound):   # nothing left to abort
        src.live_migration_abort(inst)  # type: ignore[arg-type]


def test_force_complete_ends_it_at_the_next_step(flags: Any) -> None:
    flags('live_migration_seconds', 5.0, group='fake_driver')
    src, dst, inst = _pair()
    t, errors = _run_in_thread(src, inst)
    src.live_migration_force_complete(inst)  # type: ignore[arg-type]
    t.join(2)
    assert not t.is_alive() and errors == []
    assert src.list_instance_uuids() == []


def test_failure_injection_keeps_the_guest_on_the_source(flags: Any) -> None:
    flags('live_migration_seconds', 0.05, group='fake_driver')
    flags('fail_live_migration_names', ['lm'], group='fake_driver')
    src, dst, inst = _pair()
    with pytest.raises(exception.LiveMigrationFailed):
        src.live_migration(CTX, inst, 'dst', {}, lambda p: None)  # type: ignore[arg-type]
    assert src.list_instance_uuids() == ['u-1']
