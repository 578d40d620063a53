"""Compute capability traits (Nova's CAPABILITY_TRAITS_MAP): what each driver
reports, how the resource tracker syncs them onto its node provider in the
real placement (an operator's traits stay), and the scheduler's use of them:
a disabled compute is never picked, a multiattach boot needs a host whose
driver can share the volume."""
from __future__ import annotations

import uuid
from typing import Any

import os_traits
import pytest

from minova import exception
from minova.compute.resource_tracker import ResourceTracker
from minova.virt import driver
from minova.virt.fake import FakeDriver
from minova.virt.libvirt.driver import LibvirtDriver
from tests.unit.backbone.fakes import spec

# What mini-Nova's drivers do (besides COMPUTE_NODE, which every node has).
COMMON = {'COMPUTE_NET_ATTACH_INTERFACE', 'COMPUTE_VOLUME_EXTEND',
          'COMPUTE_VOLUME_MULTI_ATTACH', 'COMPUTE_IMAGE_TYPE_RAW',
          'COMPUTE_IMAGE_TYPE_QCOW2'}
FAKE = COMMON | {'COMPUTE_SAME_HOST_COLD_MIGRATE'}
LIBVIRT = COMMON
RES = {'vcpus': 4, 'memory_mb': 4096, 'local_gb': 40}

# A capability a driver claims must be a driver call it implements.
IMPLEMENTS = {'supports_attach_interface': 'attach_interface',
              'supports_extend_volume': 'extend_volume',
              'supports_multiattach': 'attach_volume'}


def _reported(drv_cls: type[driver.ComputeDriver]) -> set[str]:
    drv = object.__new__(drv_cls)    # the class's capabilities, no hypervisor
    return {t for t, has in drv.capabilities_as_traits().items() if has}


def test_every_capability_trait_is_a_standard_trait() -> None:
    standard = set(os_traits.get_traits())
    assert set(driver.CAPABILITY_TRAITS.values()) <= standard
    assert len(set(driver.CAPABILITY_TRAITS.values())) == len(driver.CAPABILITY_TRAITS)


@pytest.mark.parametrize('drv_cls, expected', [(FakeDriver, FAKE), (LibvirtDriver, LIBVIRT)])
def test_each_driver_reports_only_what_it_does(drv_cls: Any, expected: set[str]) -> None:
    assert _reported(drv_cls) == expected
    # No tags reach guests and no certificate is checked: not claimed.
    assert not _reported(drv_cls) & {'COMPUTE_DEVICE_TAGGING', 'COMPUTE_TRUSTED_CERTS',
                                     'COMPUTE_VOLUME_ATTACH_WITH_TAG', 'COMPUTE_RESCUE_BFV',
                                     'COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG'}
    for cap, method in IMPLEMENTS.items():
        if drv_cls.capabilities.get(cap):
            assert getattr(drv_cls, method) is not getattr(driver.ComputeDriver, method)


def _traits(cloud: Any, rp: str) -> set[str]:
    r = cloud.placement('GET', f'/resource_providers/{rp}/traits')
    assert r.status_code == 200, r.text
    return set(r.json()['traits'])


def test_the_tracker_syncs_its_traits_and_keeps_an_operators(cloud: Any) -> None:
    drv = FakeDriver()
    rt = ResourceTracker('h1', drv, None, cloud.client)
    rp = str(uuid.uuid4())
    assert rt.report_to_placement(cloud.ctx, 'h1', rp, RES) is True
    assert _traits(cloud, rp) == FAKE | {'COMPUTE_NODE'}

    # An operator's traits: their own stay; a capability trait the driver
    # lacks is taken off again.
    assert cloud.placement('PUT', '/traits/CUSTOM_RACK_A').status_code == 201
    gen = cloud.placement('GET', f'/resource_providers/{rp}').json()['generation']
    r = cloud.placement('PUT', f'/resource_providers/{rp}/traits', {
        'resource_provider_generation': gen,
        'traits': sorted(FAKE | {'CUSTOM_RACK_A', 'HW_CPU_X86_AVX2',
                                 'COMPUTE_DEVICE_TAGGING'})})
    assert r.status_code == 200, r.text
    # The driver loses a capability (say, an upgrade of the hypervisor).
    drv.capabilities = dict(drv.capabilities, supports_multiattach=False)
    # The node grew meanwhile: its inventory still follows (the traits'
    # write changed the provider's generation).
    assert rt.report_to_placement(cloud.ctx, 'h1', rp, dict(RES, vcpus=8)) is True
    assert _traits(cloud, rp) == (FAKE - {'COMPUTE_VOLUME_MULTI_ATTACH'}) | {
        'COMPUTE_NODE', 'CUSTOM_RACK_A', 'HW_CPU_X86_AVX2'}
    inv = cloud.placement('GET', f'/resource_providers/{rp}/inventories').json()
    assert inv['inventories']['VCPU']['total'] == 8


def test_the_disabled_trait_follows_the_service(cloud: Any) -> None:
    rt = ResourceTracker('h1', FakeDriver(), None, cloud.client)
    rp = str(uuid.uuid4())
    disabled: list[bool | None] = [True]
    rt.service_disabled = lambda ctx: disabled[0]
    rt.report_to_placement(cloud.ctx, 'h1', rp, RES)
    assert 'COMPUTE_STATUS_DISABLED' in _traits(cloud, rp)
    disabled[0] = None          # the record could not be read: left as it is
    rt.report_to_placement(cloud.ctx, 'h1', rp, RES)
    assert 'COMPUTE_STATUS_DISABLED' in _traits(cloud, rp)
    disabled[0] = False
    rt.report_to_placement(cloud.ctx, 'h1', rp, RES)
    assert _traits(cloud, rp) == FAKE | {'COMPUTE_NODE'}


def test_a_host_with_the_disabled_trait_is_not_picked(cloud: Any) -> None:
    cloud.add_host('off', vcpus=64, ram=65536, traits=['COMPUTE_STATUS_DISABLED'])
    cloud.add_host('on')
    assert cloud.select(spec(), [str(uuid.uuid4())]) == ['on']
    assert cloud.usage('off')['VCPU'] == 0


def _multiattach_boot() -> dict[str, Any]:
    return spec(is_bfv=True, block_device_mapping=[{
        'boot_index': 0, 'source_type': 'volume', 'destination_type': 'volume',
        'volume_id': str(uuid.uuid4()), 'multiattach': True}])


def test_a_multiattach_boot_lands_only_on_a_host_that_shares_volumes(cloud: Any) -> None:
    cloud.add_host('big', vcpus=64, ram=65536)     # the weighers' favourite
    cloud.add_host('shares', traits=['COMPUTE_VOLUME_MULTI_ATTACH'])
    assert cloud.select(_multiattach_boot(), [str(uuid.uuid4())]) == ['shares']
    plain = _multiattach_boot()
    plain['block_device_mapping'][0].pop('multiattach')
    assert cloud.select(plain, [str(uuid.uuid4())]) == ['big']


def test_a_multiattach_boot_with_no_such_host_finds_no_valid_host(cloud: Any) -> None:
    cloud.add_host('big', vcpus=64, ram=65536)
    with pytest.raises(exception.NoValidHost):
        cloud.select(_multiattach_boot(), [str(uuid.uuid4())])
    assert cloud.usage('big')['VCPU'] == 0


def test_unchanged_traits_are_read_again_only_after_the_refresh(
        cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A periodic update with nothing to change does not ask placement for
    the traits until TRAITS_REFRESH has passed (a thousand hosts would each
    read them every minute); the operator's edit is then corrected."""
    from minova.clients import placement as placement_client
    rt = ResourceTracker('h1', FakeDriver(), None, cloud.client)
    rp = str(uuid.uuid4())
    reads: list[str] = []
    real = cloud.client._get_traits
    monkeypatch.setattr(cloud.client, '_get_traits',
                        lambda ctx, uuid_: reads.append(uuid_) or real(ctx, uuid_))
    assert rt.report_to_placement(cloud.ctx, 'h1', rp, RES) is True
    assert rt.report_to_placement(cloud.ctx, 'h1', rp, RES) is True
    assert reads == [rp]
    gen = cloud.placement('GET', f'/resource_providers/{rp}').json()['generation']
    r = cloud.placement('PUT', f'/resource_providers/{rp}/traits', {
        'resource_provider_generation': gen, 'traits': sorted(FAKE)})   # no COMPUTE_NODE
    assert r.status_code == 200, r.text
    monkeypatch.setattr(placement_client, 'TRAITS_REFRESH', 0.0)
    assert rt.report_to_placement(cloud.ctx, 'h1', rp, RES) is True
    assert reads == [rp, rp]
    assert _traits(cloud, rp) == FAKE | {'COMPUTE_NODE'}
