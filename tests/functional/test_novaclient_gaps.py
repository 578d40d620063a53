"""The issue-15 routes through a real client: python-novaclient, as an operator's
scripts use it, against the all-in-one (noauth2 token, fixed endpoint)."""
from __future__ import annotations

import datetime
from typing import Any

import pytest

from minova.image.builtin import TINY_IMAGE_ID
from minova.virt import fake

novaclient = pytest.importorskip('novaclient.client')

IMAGE = TINY_IMAGE_ID   # the all-in-one's built-in image (minova-tiny)


def _nova(api_base: str, version: str, token: str = 'admin:admin') -> Any:
    from keystoneauth1 import session, token_endpoint
    sess = session.Session(auth=token_endpoint.Token(api_base, token))
    return novaclient.Client(version, session=sess, endpoint_override=api_base)


@pytest.fixture(scope='module')
def server(api_base: str, tiny_flavor: dict[str, Any]) -> Any:
    nova = _nova(api_base, '2.79')
    srv = nova.servers.create('nc-gaps', IMAGE, tiny_flavor['id'], nics='none',
                              meta={'a': 'b'}, tags=['t1'])
    for _ in range(300):
        srv = nova.servers.get(srv.id)
        if srv.status in ('ACTIVE', 'ERROR'):
            break
        import time
        time.sleep(0.05)
    assert srv.status == 'ACTIVE'
    yield srv
    srv.delete()


def test_server_routes(api_base: str, server: Any) -> None:
    nova = _nova(api_base, '2.79')
    assert nova.servers.ips(server) == {}
    assert nova.servers.get_console_output(server) == fake.FAKE_CONSOLE_LOG
    assert nova.servers.get_console_output(server, length=3) == \
        'FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE'
    _resp, diags = nova.servers.diagnostics(server)
    assert diags['driver'] == 'libvirt' and diags['state'] == 'running'   # Nova's fake values
    assert [s.id for s in nova.servers.list(search_opts={'tags': 't1'})] == [server.id]
    assert nova.servers.list(search_opts={'not-tags': 't1', 'name': '^nc-gaps$'}) == []
    updated = _nova(api_base, '2.74').servers.update(server, name='nc-gaps')
    assert 'OS-EXT-STS:vm_state' not in updated._info   # below 2.75
    updated = nova.servers.update(server, name='nc-gaps')
    assert updated._info['OS-EXT-STS:vm_state'] == 'active'
    assert [a.action for a in nova.instance_action.list(server)] == ['create']


def test_admin_routes(api_base: str, server: Any) -> None:
    nova = _nova(api_base, '2.80')
    # Other modules' moves are listed too: this server has none.
    assert nova.migrations.list(instance_uuid=server.id) == []
    start = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
    usages = nova.usage.list(start, datetime.datetime.utcnow(), detailed=True)
    mine = next(u for u in usages if u.tenant_id == 'admin')
    assert server.id in [s['instance_id'] for s in mine.server_usages]
    usage = nova.usage.get('admin', start, datetime.datetime.utcnow())
    assert usage.total_hours > 0
    quota = nova.quota_classes.get('default')
    assert quota.instances >= 1
    old = _nova(api_base, '2.87')
    hyp = old.hypervisors.list()[0]
    from novaclient import exceptions
    with pytest.raises(exceptions.HTTPNotImplemented):
        old.hypervisors.uptime(hyp)


def test_keypair_x509(api_base: str) -> None:
    nova = _nova(api_base, '2.91', token='winuser:project-win')
    kp = nova.keypairs.create('win-kp', key_type='x509')
    try:
        assert kp.type == 'x509' and kp.private_key
        assert kp.public_key.startswith('-----BEGIN CERTIFICATE-----')
    finally:
        nova.keypairs.delete('win-kp')
