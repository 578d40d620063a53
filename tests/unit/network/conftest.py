"""A fake Neutron (fake_neutron.py) behind the real client, with [neutron] set."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from minova.conf import CONF
from minova.network import neutron as neutron_client
from tests.unit.network.fake_neutron import FakeNeutron, client


@pytest.fixture
def neutron() -> Iterator[FakeNeutron]:
    import minova.conf
    minova.conf.register_client_opts()
    fake = FakeNeutron()
    CONF.set_override('endpoint_override', 'http://fake-neutron:9696', group='neutron')
    CONF.set_override('http_retries', 1, group='neutron')
    neutron_client.set_client(client(fake))
    yield fake
    neutron_client.set_client(None)
    CONF.clear_override('endpoint_override', group='neutron')
    CONF.clear_override('http_retries', group='neutron')
