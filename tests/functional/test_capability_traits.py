"""Compute capability traits through the all-in-one (fake driver), as Nova:
the compute's node provider carries COMPUTE_NODE and its driver's capability
traits, keeps an operator's own traits, gets COMPUTE_STATUS_DISABLED while
the service is disabled, and a boot with a multiattach volume finds no valid
host (ERROR, Nova's fault) where no driver can share the volume."""
# ruff: noqa: F811  (the fake Cinder fixtures come from test_volumes)
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from minova.clients import placement as placement_client
from minova.cmd.all_in_one import AllInOne
from tests.functional.conftest import Client, compute_service
from tests.functional.test_volumes import _at, _driver, cinder, clean  # noqa: F401
from tests.unit.volume.fake_cinder import FakeCinder

HEADERS = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.6'}


class Provider:
    """The all-in-one compute's node provider in placement."""

    def __init__(self, aio: AllInOne, base: str) -> None:
        self.aio, self.base = aio, base
        rps = requests.get(f'{base}/resource_providers?name={aio.host}', headers=HEADERS,
                           timeout=10).json()['resource_providers']
        self.url = f"{base}/resource_providers/{rps[0]['uuid']}"

    def update(self) -> None:
        """The compute's periodic resource update, now."""
        assert compute_service(self.aio, self.aio.host).manager.rt \
            .update_available_resource() is True

    def traits(self) -> set[str]:
        return set(requests.get(f'{self.url}/traits', headers=HEADERS,
                                timeout=10).json()['traits'])

    def set_traits(self, traits: set[str]) -> None:
        gen = requests.get(self.url, headers=HEADERS, timeout=10).json()['generation']
        r = requests.put(f'{self.url}/traits', headers=HEADERS, timeout=10, json={
            'resource_provider_generation': gen, 'traits': sorted(traits)})
        assert r.status_code == 200, r.text


@pytest.fixture
def provider(aio: AllInOne, placement_base: str) -> Iterator[Provider]:
    rp = Provider(aio, placement_base)
    rp.update()
    before = rp.traits()
    yield rp
    rp.set_traits(before)


def test_the_node_provider_has_the_fake_drivers_traits_and_an_operators(
        provider: Provider, placement_base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    traits = provider.traits()
    assert {'COMPUTE_NODE', 'COMPUTE_VOLUME_MULTI_ATTACH', 'COMPUTE_VOLUME_EXTEND',
            'COMPUTE_NET_ATTACH_INTERFACE', 'COMPUTE_IMAGE_TYPE_RAW',
            'COMPUTE_IMAGE_TYPE_QCOW2'} <= traits
    assert not traits & {'COMPUTE_DEVICE_TAGGING', 'COMPUTE_TRUSTED_CERTS',
                         'COMPUTE_STATUS_DISABLED'}
    assert requests.put(f'{placement_base}/traits/CUSTOM_OPERATOR', headers=HEADERS,
                        timeout=10).status_code in (201, 204)
    provider.set_traits(traits | {'CUSTOM_OPERATOR', 'COMPUTE_DEVICE_TAGGING'})
    # The compute reads the provider's traits again once its cache is old (as
    # Nova's provider tree refresh): then the trait it owns and lacks goes.
    monkeypatch.setattr(placement_client, 'TRAITS_REFRESH', 0.0)
    provider.update()
    assert provider.traits() == traits | {'CUSTOM_OPERATOR'}


def test_a_disabled_compute_service_has_the_disabled_trait(
        admin: Client, aio: AllInOne, provider: Provider) -> None:
    admin = _at(admin, '2.53')
    [svc] = admin.get(f'/os-services?binary=minova-compute&host={aio.host}'
                      ).json()['services']
    try:
        r = admin.put(f"/os-services/{svc['id']}",
                      {'status': 'disabled', 'disabled_reason': 'maintenance'})
        assert r.status_code == 200, r.text
        provider.update()
        assert 'COMPUTE_STATUS_DISABLED' in provider.traits()
    finally:
        assert admin.put(f"/os-services/{svc['id']}", {'status': 'enabled'}
                         ).status_code == 200
    provider.update()
    assert 'COMPUTE_STATUS_DISABLED' not in provider.traits()


def _boot_from(admin: Client, volume_id: str) -> dict[str, Any]:
    r = _at(admin, '2.60').post('/servers', {'server': {
        'name': 'multi-trait', 'flavorRef': 'tiny', 'imageRef': '', 'networks': 'none',
        'block_device_mapping_v2': [{'boot_index': 0, 'source_type': 'volume',
                                     'uuid': volume_id, 'destination_type': 'volume'}]}})
    assert r.status_code == 202, r.text
    return admin.wait_for_status(r.json()['server']['id'], {'ACTIVE', 'ERROR'})


def test_a_multiattach_boot_needs_a_host_whose_driver_shares_volumes(
        admin: Client, aio: AllInOne, tiny_flavor: Any, clean: FakeCinder,
        provider: Provider) -> None:
    driver = _driver(aio)
    vol = clean.add_volume(multiattach=True)
    try:
        driver.capabilities = dict(type(driver).capabilities, supports_multiattach=False)
        provider.update()
        assert 'COMPUTE_VOLUME_MULTI_ATTACH' not in provider.traits()
        server = _boot_from(admin, vol['id'])
        assert server['status'] == 'ERROR'
        assert server['fault']['code'] == 500
        assert server['fault']['message'].startswith('No valid host was found.')
        assert clean.status(vol['id']) == 'available' and not clean.live_attachments()
        assert admin.delete(f"/servers/{server['id']}").status_code == 204
        admin.wait_gone(server['id'])
    finally:
        del driver.capabilities     # the class's own again
    provider.update()
    assert 'COMPUTE_VOLUME_MULTI_ATTACH' in provider.traits()
    server = _boot_from(admin, vol['id'])
    assert server['status'] == 'ACTIVE', server.get('fault')
    assert server['OS-EXT-SRV-ATTR:host'] == aio.host
    assert admin.delete(f"/servers/{server['id']}").status_code == 204
    admin.wait_gone(server['id'])
    assert clean.status(vol['id']) == 'available'
