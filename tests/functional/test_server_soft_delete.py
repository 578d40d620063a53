"""Soft delete ([DEFAULT] reclaim_instance_interval): DELETE makes a server
SOFT_DELETED, `restore` brings it back, `forceDelete` deletes it at once and the
compute host's periodic task reclaims it after the interval; through the REST
API on the all-in-one's fake driver."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from minova import utils
from minova.cells import mappings
from minova.cmd.all_in_one import AllInOne
from minova.compute import manager as compute_manager
from minova.conf import CONF
from tests.functional.conftest import Client
from tests.functional.test_server_lifecycle import _usages
from tests.functional.test_server_state_actions import _act, _actions, _boot, _conflict


def _compute(aio: AllInOne) -> compute_manager.ComputeManager:
    return next(s.manager for s in aio.services if s.binary == compute_manager.BINARY)


@pytest.fixture
def soft_delete() -> Iterator[None]:
    CONF.set_override('reclaim_instance_interval', 3600)
    yield
    CONF.clear_override('reclaim_instance_interval')


@pytest.fixture
def alice(api_base: str) -> Client:
    return Client(api_base, token='alice:project-a')


def _gone(admin: Client, server_id: str) -> None:
    """Delete the server for good, whatever its state and the option's."""
    r = admin.get(f'/servers/{server_id}')
    if r.status_code == 404:
        return
    if r.json()['server']['status'] != 'SOFT_DELETED':
        admin.delete(f'/servers/{server_id}')
        if CONF.reclaim_instance_interval <= 0:
            admin.wait_gone(server_id)
            return
        admin.wait_for_status(server_id, {'SOFT_DELETED'})
    _act(admin, server_id, {'forceDelete': None})
    admin.wait_gone(server_id)


def test_soft_delete_and_restore(soft_delete: None, admin: Client, tiny_flavor: dict,
                                 placement_base: str) -> None:
    before = _usages(placement_base).get('MEMORY_MB', 0)
    server = _boot(admin, 'soft-vm')
    try:
        assert _usages(placement_base).get('MEMORY_MB', 0) == before + 64
        assert _conflict(_act(admin, server, {'restore': None})) == (
            f"Cannot 'restore' instance {server} while it is in vm_state active")
        assert admin.delete(f'/servers/{server}').status_code == 204
        s = admin.wait_for_status(server, {'SOFT_DELETED'})
        assert s['OS-EXT-STS:vm_state'] == 'soft-delete'
        assert s['OS-EXT-STS:task_state'] is None
        assert s['OS-EXT-STS:power_state'] == 4
        # Its resources stay held. As Nova's query, a list of live servers
        # leaves it out; deleted=true (admin) or soft_deleted=true shows it.
        assert _usages(placement_base).get('MEMORY_MB', 0) == before + 64

        def listed(query: str) -> list[str]:
            r = admin.get(f'/servers{query}')
            assert r.status_code == 200, r.text
            return [x['id'] for x in r.json()['servers']]

        assert mappings.instance_mapping_get(server)['queued_for_delete']
        assert server not in listed('')
        assert server not in listed('?status=SOFT_DELETED')
        assert server in listed('?deleted=true')
        assert server not in listed('?deleted=true&soft_deleted=false')
        assert server in listed('?status=SOFT_DELETED&soft_deleted=true')
        assert server in listed('/detail?soft_deleted=true')
        assert _conflict(_act(admin, server, {'pause': None})).startswith("Cannot 'pause'")
        assert _act(admin, server, {'restore': None}).status_code == 202
        s = admin.wait_for_status(server, {'ACTIVE'})
        assert s['OS-EXT-STS:power_state'] == 1 and s['OS-EXT-STS:task_state'] is None
        assert _actions(admin, server)[:2] == ['restore', 'delete']
        assert _usages(placement_base).get('MEMORY_MB', 0) == before + 64
        assert server in listed('')
        assert not mappings.instance_mapping_get(server)['queued_for_delete']
    finally:
        _gone(admin, server)
    assert _usages(placement_base).get('MEMORY_MB', 0) == before


def test_force_delete(soft_delete: None, admin: Client, tiny_flavor: dict,
                      placement_base: str) -> None:
    before = _usages(placement_base).get('MEMORY_MB', 0)
    server = _boot(admin, 'force-vm')
    try:
        assert admin.delete(f'/servers/{server}').status_code == 204
        admin.wait_for_status(server, {'SOFT_DELETED'})
        assert _act(admin, server, {'forceDelete': None}).status_code == 202
        admin.wait_gone(server)
        assert _usages(placement_base).get('MEMORY_MB', 0) == before
        shown = admin.get(f'/servers/{server}/os-instance-actions').json()
        assert [a['action'] for a in shown['instanceActions']][:2] == [
            'forceDelete', 'delete']
    finally:
        _gone(admin, server)


def test_reclaim_after_the_interval(soft_delete: None, admin: Client, tiny_flavor: dict,
                                    placement_base: str, aio: AllInOne) -> None:
    CONF.set_override('reclaim_instance_interval', 1)
    before = _usages(placement_base).get('MEMORY_MB', 0)
    server = _boot(admin, 'reclaim-vm')
    periodic = None
    try:
        assert admin.delete(f'/servers/{server}').status_code == 204
        admin.wait_for_status(server, {'SOFT_DELETED'})
        compute = _compute(aio)
        compute._reclaim_queued_deletes()   # not yet a second old: kept
        assert admin.get(f'/servers/{server}').json()['server']['status'] == 'SOFT_DELETED'
        periodic = utils.Periodic('test-reclaim', compute._reclaim_queued_deletes,
                                  0.2).start()
        time.sleep(1.0)
        admin.wait_gone(server, timeout=10)
        assert _usages(placement_base).get('MEMORY_MB', 0) == before
        assert compute.driver.list_instance_uuids().count(server) == 0
    finally:
        if periodic is not None:
            periodic.stop()
        _gone(admin, server)


def test_delete_without_interval_is_immediate(admin: Client, tiny_flavor: dict) -> None:
    server = _boot(admin, 'hard-vm')
    assert _conflict(_act(admin, server, {'restore': None})) == (
        f"Cannot 'restore' instance {server} while it is in vm_state active")
    assert admin.delete(f'/servers/{server}').status_code == 204
    admin.wait_gone(server)


def test_force_delete_of_a_live_server(admin: Client, tiny_flavor: dict) -> None:
    """As Nova's force_delete: any vm_state, but no task state (409)."""
    server = _boot(admin, 'force-live')
    try:
        assert _act(admin, server, {'os-stop': None}).status_code == 202
        admin.wait_for_status(server, {'SHUTOFF'})
        assert _act(admin, server, {'forceDelete': None}).status_code == 202
        admin.wait_gone(server)
    finally:
        _gone(admin, server)


def test_policy_lock_and_quota(soft_delete: None, admin: Client, alice: Client,
                               tiny_flavor: dict) -> None:
    server = _boot(alice, 'alice-soft')
    other = None
    try:
        assert alice.delete(f'/servers/{server}').status_code == 204
        alice.wait_for_status(server, {'SOFT_DELETED'})
        # Another project's server: 404 as for any action.
        bob = Client(alice.base, token='bob:project-b')
        assert _act(bob, server, {'restore': None}).status_code == 404
        # A reader may not restore or force delete.
        reader = Client(alice.base, token='carol:project-a')
        reader.session.headers['X-Roles'] = 'reader'
        for body, rule in (({'restore': None}, 'os-deferred-delete:restore'),
                           ({'forceDelete': None}, 'os-deferred-delete:force')):
            r = _act(reader, server, body)
            assert r.status_code == 403, r.text
            assert f'os_compute_api:{rule}' in r.text
        # Locked (by the admin): the owner is refused, the admin is not.
        assert _act(admin, server, {'lock': None}).status_code == 202
        locked = f'Instance {server} is locked'
        assert _conflict(_act(alice, server, {'restore': None})) == locked
        assert _conflict(_act(alice, server, {'forceDelete': None})) == locked
        assert _act(admin, server, {'unlock': None}).status_code == 202
        # Soft-deleted servers do not count against the quota (as Nova): a
        # restore checks it again.
        r = admin.put('/os-quota-sets/project-a', {'quota_set': {'instances': 1}})
        assert r.status_code == 200, r.text
        other = _boot(alice, 'alice-other')
        r = _act(alice, server, {'restore': None})
        assert r.status_code == 403, r.text
        assert alice.get(f'/servers/{server}').json()['server']['status'] == 'SOFT_DELETED'
    finally:
        admin.delete('/os-quota-sets/project-a')
        if other is not None:
            _gone(admin, other)
        _gone(admin, server)
