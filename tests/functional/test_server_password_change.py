"""changePassword through the REST API on the all-in-one's fake driver: the
host sets it and the answer waits for it; Nova's 409s and 400s."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from minova.cmd.all_in_one import AllInOne
from minova.compute import manager as compute_manager
from tests.functional.conftest import Client
from tests.functional.test_server_state_actions import _act, _boot, _conflict, _events


@pytest.fixture
def server(admin: Client, tiny_flavor: dict) -> Iterator[str]:
    server_id = _boot(admin, 'pw-vm')
    yield server_id
    admin.delete(f'/servers/{server_id}')
    admin.wait_gone(server_id)


def _guest(aio: AllInOne, server_id: str) -> dict:
    compute = next(s.manager for s in aio.services if s.binary == compute_manager.BINARY)
    return compute.driver._guests[server_id]


def test_change_password_sets_it_in_the_guest(admin: Client, server: str,
                                              aio: AllInOne) -> None:
    r = _act(admin, server, {'changePassword': {'adminPass': 's3cret'}})
    assert r.status_code == 202, r.text   # type: ignore[attr-defined]
    assert _guest(aio, server)['admin_password'] == 's3cret'
    s = admin.get(f'/servers/{server}').json()['server']
    assert s['status'] == 'ACTIVE' and s['OS-EXT-STS:task_state'] is None
    assert _events(admin, server, 'changePassword') == [
        ('compute_set_admin_password', 'Success')]


def test_change_password_refusals(admin: Client, api_base: str, server: str) -> None:
    for body in ({'changePassword': {}}, {'changePassword': {'adminPass': 1}},
                 {'changePassword': {'adminPass': 'x', 'other': 1}}):
        assert _act(admin, server, body).status_code == 400   # type: ignore[attr-defined]
    assert _act(admin, server, {'pause': None}).status_code == 202   # type: ignore[attr-defined]
    admin.wait_for_status(server, {'PAUSED'})
    message = _conflict(_act(admin, server, {'changePassword': {'adminPass': 'x'}}))
    assert message == (f"Cannot 'changePassword' instance {server} while it is in "
                       'vm_state paused')
    assert _act(admin, server, {'unpause': None}).status_code == 202   # type: ignore[attr-defined]
    admin.wait_for_status(server, {'ACTIVE'})
    # A locked server refuses a member of its project, not the admin.
    assert _act(admin, server, {'lock': None}).status_code == 202   # type: ignore[attr-defined]
    try:
        member = Client(api_base, token='member:admin')
        assert _conflict(_act(member, server, {'changePassword': {'adminPass': 'x'}})) == \
            f'Instance {server} is locked'
    finally:
        _act(admin, server, {'unlock': None})
