"""A libvirt guest's usage, in both shapes the API shows (before and from 2.48).

Counters come from the domain itself: info() for state, memory and CPU time,
vcpus() per vCPU, blockStats() per disk and interfaceStats() per NIC with a
host device. A counter the hypervisor cannot give (for example the stats of a
user-mode NIC, which has no host device) is left out, as Nova does.
"""
from __future__ import annotations

import contextlib
import datetime
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from minova import states, utils

if TYPE_CHECKING:
    from minova.db.instances import Instance


def _libvirt() -> Any:
    import libvirt
    return libvirt


def _devices(dom: Any) -> tuple[list[str], list[tuple[str | None, str | None]]]:
    """(disk target devs, [(mac, host dev or None)]) from the live domain XML."""
    doc = ET.fromstring(dom.XMLDesc(0))
    disks = [dev for t in doc.findall('./devices/disk/target') if (dev := t.get('dev'))]
    nics = []
    for iface in doc.findall('./devices/interface'):
        mac = iface.find('mac')
        target = iface.find('target')
        nics.append((mac.get('address') if mac is not None else None,
                     target.get('dev') if target is not None else None))
    return disks, nics


def _vcpu_times(dom: Any) -> list[tuple[int, int]]:
    """[(vcpu id, cpu time ns)]; [] where the hypervisor does not say."""
    with contextlib.suppress(_libvirt().libvirtError):
        return [(v[0], v[2]) for v in dom.vcpus()[0]]
    return []


def legacy(dom: Any) -> dict[str, Any]:
    """Flat counters as Nova's libvirt driver names them (cpu0_time, vda_read...)."""
    lv = _libvirt()
    out: dict[str, Any] = {}
    for vcpu_id, cpu_time in _vcpu_times(dom):
        out[f'cpu{vcpu_id}_time'] = cpu_time
    disks, nics = _devices(dom)
    for dev in disks:
        with contextlib.suppress(lv.libvirtError):
            rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.blockStats(dev)
            out.update({f'{dev}_read_req': rd_req, f'{dev}_read': rd_bytes,
                        f'{dev}_write_req': wr_req, f'{dev}_write': wr_bytes,
                        f'{dev}_errors': errs})
    for _mac, nic_dev in nics:
        if not nic_dev:
            continue
        with contextlib.suppress(lv.libvirtError):
            stats = dom.interfaceStats(nic_dev)
            names = ('rx', 'rx_packets', 'rx_errors', 'rx_drop', 'tx', 'tx_packets',
                     'tx_errors', 'tx_drop')
            out.update({f'{nic_dev}_{name}': value for name, value in zip(names, stats,
                                                                           strict=True)})
    out['memory'] = dom.maxMemory()
    with contextlib.suppress(lv.libvirtError, AttributeError):
        for key, value in dom.memoryStats().items():
            out[f'memory-{key}'] = value
    return out


def _uptime(launched_at: Any) -> int | None:
    if not launched_at:
        return None
    if isinstance(launched_at, str):
        launched_at = utils.parse_time(launched_at)
    assert isinstance(launched_at, datetime.datetime)
    return int((utils.utcnow() - launched_at.replace(tzinfo=None)).total_seconds())


def instance_diagnostics(dom: Any, instance: Instance, power_state: int,
                         virt_type: str) -> dict[str, Any]:
    """Nova's 2.48 diagnostics of a guest (memory in MiB, CPU time in ns)."""
    lv = _libvirt()
    _state, max_kib, used_kib, _ncpu, _cpu_time = dom.info()
    cpus = [{'id': vcpu_id, 'time': cpu_time, 'utilisation': None}
            for vcpu_id, cpu_time in _vcpu_times(dom)]
    disks, nics = _devices(dom)
    disk_details = []
    for dev in disks:
        with contextlib.suppress(lv.libvirtError):
            rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.blockStats(dev)
            disk_details.append({'read_bytes': rd_bytes, 'read_requests': rd_req,
                                 'write_bytes': wr_bytes, 'write_requests': wr_req,
                                 'errors_count': errs})
    nic_details = []
    for mac, nic_dev in nics:
        nic: dict[str, Any] = {'mac_address': mac}
        for key in ('rx_octets', 'rx_errors', 'rx_drop', 'rx_packets', 'rx_rate',
                    'tx_octets', 'tx_errors', 'tx_drop', 'tx_packets', 'tx_rate'):
            nic[key] = None
        if nic_dev:
            with contextlib.suppress(lv.libvirtError):
                (nic['rx_octets'], nic['rx_packets'], nic['rx_errors'], nic['rx_drop'],
                 nic['tx_octets'], nic['tx_packets'], nic['tx_errors'],
                 nic['tx_drop']) = dom.interfaceStats(nic_dev)
        nic_details.append(nic)
    return {
        'state': states.POWER_STATE_MAP.get(power_state, 'pending'),
        'driver': 'libvirt', 'hypervisor': virt_type, 'hypervisor_os': 'linux',
        'uptime': _uptime(instance.get('launched_at')),
        'config_drive': str(instance.get('config_drive') or '').lower() in ('true', '1'),
        'num_cpus': len(cpus), 'num_nics': len(nic_details), 'num_disks': len(disk_details),
        'cpu_details': cpus, 'nic_details': nic_details, 'disk_details': disk_details,
        'memory_details': {'maximum': max_kib // 1024, 'used': used_kib // 1024},
    }
