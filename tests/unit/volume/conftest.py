"""A fake Cinder over HTTP (fake_cinder.py) behind the real client, with [cinder] set."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from minova.conf import CONF
from minova.volume import cinder as cinder_client
from tests.unit.volume.fake_cinder import FakeCinder, serve


@pytest.fixture(scope='module')
def served() -> Iterator[tuple[FakeCinder, str]]:
    fake = FakeCinder()
    url, stop = serve(fake)
    yield fake, url
    stop()


@pytest.fixture
def cinder(served: tuple[FakeCinder, str]) -> Iterator[FakeCinder]:
    """The fake, reset, at [cinder] endpoint_template (the project in the URL)."""
    import minova.conf
    minova.conf.register_client_opts()
    fake, url = served
    fake.__init__()     # type: ignore[misc]
    CONF.set_override('endpoint_template', url + '/%(project_id)s', group='cinder')
    CONF.set_override('http_retries', 0, group='cinder')
    cinder_client.set_client(None)
    yield fake
    cinder_client.set_client(None)
    for opt in ('endpoint_template', 'http_retries', 'endpoint_override'):
        CONF.clear_override(opt, group='cinder')


def served_url(served: tuple[FakeCinder, str]) -> Any:
    return served[1]
