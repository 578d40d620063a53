"""libvirt guest diagnostics (both API shapes) and host uptime, against
libvirt's test:///default driver and the real `uptime`."""
from __future__ import annotations

import datetime
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from minova import utils
from minova.virt.libvirt import diagnostics


@pytest.fixture
def dom() -> Iterator[Any]:   # a libvirt.virDomain
    libvirt = pytest.importorskip('libvirt')
    conn = libvirt.open('test:///default')
    yield conn.lookupByName('test')
    conn.close()


def test_legacy_counters(dom: Any) -> None:
    out = diagnostics.legacy(dom)
    assert {'cpu0_time', 'cpu1_time', 'vda_read', 'vda_read_req', 'vda_write',
            'vda_write_req', 'vda_errors', 'testnet0_rx', 'testnet0_tx_drop',
            'memory'} <= set(out)
    assert out['memory'] == 8388608   # KiB, as libvirt reports it
    assert any(k.startswith('memory-') for k in out)


def test_instance_diagnostics(dom: Any) -> None:
    launched = utils.utcnow() - datetime.timedelta(seconds=100)
    out = diagnostics.instance_diagnostics(
        dom, {'launched_at': launched, 'config_drive': 'True'}, 1, 'kvm')
    assert out['state'] == 'running' and out['driver'] == 'libvirt'
    assert out['hypervisor'] == 'kvm' and out['hypervisor_os'] == 'linux'
    assert 100 <= out['uptime'] < 200 and out['config_drive'] is True
    assert (out['num_cpus'], out['num_disks'], out['num_nics']) == (2, 1, 1)
    assert [c['id'] for c in out['cpu_details']] == [0, 1]
    assert out['nic_details'][0]['mac_address'] == 'aa:bb:cc:dd:ee:ff'
    assert out['nic_details'][0]['rx_octets'] > 0
    assert out['nic_details'][0]['rx_rate'] is None
    assert out['disk_details'][0]['read_bytes'] > 0
    assert out['memory_details'] == {'maximum': 8192, 'used': 2048}   # MiB


@pytest.mark.skipif(shutil.which('uptime') is None, reason='no uptime command')
def test_host_uptime_is_the_uptime_command() -> None:
    from minova.virt.libvirt.driver import LibvirtDriver
    out = LibvirtDriver().get_host_uptime()
    assert ' up ' in out and 'load average' in out
