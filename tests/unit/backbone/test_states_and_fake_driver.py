"""API status mapping and the fake hypervisor."""
from __future__ import annotations

import json
from typing import Any

import pytest

from minova import exception, states
from minova.context import get_admin_context
from minova.virt.fake import FakeDriver


@pytest.mark.parametrize('vm_state, task_state, status', [
    ('active', None, 'ACTIVE'),
    ('active', 'rebooting', 'REBOOT'),
    ('active', 'reboot_started', 'REBOOT'),
    ('active', 'rebooting_hard', 'HARD_REBOOT'),
    ('active', 'reboot_pending_hard', 'HARD_REBOOT'),
    ('active', 'powering-off', 'ACTIVE'),
    ('stopped', None, 'SHUTOFF'),
    ('stopped', 'powering-on', 'SHUTOFF'),
    ('error', None, 'ERROR'),
    ('error', 'rebooting', 'ERROR'),
    ('building', 'scheduling', 'BUILD'),
    ('building', 'deleting', 'BUILD'),
    ('resized', None, 'VERIFY_RESIZE'),
    ('deleted', None, 'DELETED'),
    ('no-such-state', None, 'UNKNOWN'),
])
def test_status_from_state(vm_state: str, task_state: str | None, status: str) -> None:
    assert states.status_from_state(vm_state, task_state) == status


def test_status_filter_maps_back_to_vm_states() -> None:
    assert states.states_for_status('shutoff') == ['stopped']
    assert states.states_for_status('HARD_REBOOT') == ['active']
    assert states.states_for_status('BUILD') == ['building']
    assert states.states_for_status('NOPE') is None


# -- FakeDriver --------------------------------------------------------------------

@pytest.fixture
def driver(flags: Any) -> FakeDriver:
    flags('vcpus', 12, group='fake_driver')
    flags('memory_mb', 4096, group='fake_driver')
    flags('disk_gb', 80, group='fake_driver')
    d = FakeDriver()
    d.init_host('hv1')
    return d


def _inst(uuid: str, name: str = 'vm', **kw: Any) -> dict[str, Any]:
    return dict({'uuid': uuid, 'display_name': name, 'vcpus': 2, 'memory_mb': 1024,
                 'root_gb': 10}, **kw)


def test_fake_resources_come_from_config_and_guests(driver: FakeDriver) -> None:
    assert driver.get_available_nodes() == ['hv1']
    res = driver.get_available_resource('hv1')
    assert (res['vcpus'], res['memory_mb'], res['local_gb']) == (12, 4096, 80)
    assert (res['vcpus_used'], res['memory_mb_used'], res['local_gb_used']) == (0, 0, 0)
    assert res['hypervisor_type'] == 'fake' and res['hypervisor_hostname'] == 'hv1'
    assert json.loads(res['cpu_info'])['topology']['cores'] == 12
    driver.spawn(get_admin_context(), _inst('a'), {}, [], None, {}, [])
    driver.spawn(get_admin_context(), _inst('b'), {}, [], None, {}, [])
    res = driver.get_available_resource('hv1')
    assert (res['vcpus_used'], res['memory_mb_used'], res['local_gb_used']) == (4, 2048, 20)


def test_fake_guest_lifecycle(driver: FakeDriver) -> None:
    ctx = get_admin_context()
    inst = _inst('a')
    driver.spawn(ctx, inst, {}, [], None, {}, [])
    assert driver.list_instance_uuids() == ['a']
    assert driver.get_info(inst) == {'state': states.RUNNING}
    driver.power_off(inst)
    assert driver.get_info(inst) == {'state': states.SHUTDOWN}
    driver.power_on(ctx, inst, [])
    assert driver.get_info(inst) == {'state': states.RUNNING}
    driver.power_off(inst)
    driver.reboot(ctx, inst, [], 'HARD')
    assert driver.get_info(inst) == {'state': states.RUNNING}
    # Nova's fake lines, and Nova's fake diagnostics; no host uptime (Nova's 501)
    assert driver.get_console_output(ctx, inst).endswith(
        '\nFAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE')
    assert len(driver.get_console_output(ctx, inst).split('\n')) > 3
    assert driver.get_diagnostics(inst)['cpu0_time'] == 17300000000
    assert driver.get_instance_diagnostics(inst)['state'] == 'running'
    with pytest.raises(NotImplementedError):
        driver.get_host_uptime()
    driver.destroy(ctx, inst, [])
    driver.destroy(ctx, inst, [])   # destroying twice is harmless
    assert driver.list_instance_uuids() == []
    with pytest.raises(exception.InstanceNotFound):
        driver.get_info(inst)
    driver.power_off(inst)          # a vanished guest is off already
    with pytest.raises(exception.InstanceNotFound):
        driver.reboot(ctx, inst, [], 'SOFT')    # nothing to ask to reboot
    driver.power_on(ctx, inst, [])  # as a hard reboot: remade from the record
    assert driver.get_info(inst) == {'state': states.RUNNING}


def test_fake_spawn_fails_for_listed_names(driver: FakeDriver, flags: Any) -> None:
    flags('fail_spawn_names', ['doomed', 'cursed'], group='fake_driver')
    with pytest.raises(RuntimeError, match='^Fake spawn failure on hv1$'):
        driver.spawn(get_admin_context(), _inst('a', 'cursed'), {}, [], None, {}, [])
    assert driver.list_instance_uuids() == []
    driver.spawn(get_admin_context(), _inst('b', 'lucky'), {}, [], None, {}, [])
    assert driver.list_instance_uuids() == ['b']
