"""The libvirt connection and the choice of hypervisor type.

KVM is chosen only when it really runs guests here: /dev/kvm can exist on a
host whose CPU lacks vmx/svm (nested without virtualisation extensions), and
a guest under it then never gets past the firmware. So beyond the CPU flags,
a probe guest must boot through the firmware and signal back within a time
limit; otherwise QEMU's TCG emulator is used.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Any

from minova.conf import CONF

LOG = logging.getLogger(__name__)

PROBE_TIMEOUT = 10.0
_PROBE_EXIT = 0x42 * 2 + 1   # isa-debug-exit turns the byte written into (v << 1) | 1


def _cpu_has_virt_flags() -> bool:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    flags = line.split(':', 1)[1].split()
                    return 'vmx' in flags or 'svm' in flags
    except OSError:
        pass
    return False


def _probe_kvm_guest(emulator: str) -> tuple[bool, str]:
    """Boot a one-sector guest under KVM via the firmware; it writes to the
    isa-debug-exit port, which makes QEMU exit with a known status."""
    sector = bytearray(512)
    code = bytes([0xB0, 0x42, 0xE6, 0xF4, 0xF4, 0xEB, 0xFE])  # mov al,42h; out f4h,al; hlt
    sector[:len(code)] = code
    sector[510:] = b'\x55\xaa'
    with tempfile.NamedTemporaryFile(suffix='.img') as disk:
        disk.write(bytes(sector) + bytes(1024 * 1024 - 512))
        disk.flush()
        cmd = [emulator, '-accel', 'kvm', '-M', 'pc', '-m', '16', '-nodefaults',
               '-display', 'none', '-drive', f'file={disk.name},format=raw,if=virtio',
               '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']
        try:
            rc = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            return False, f'a KVM probe guest did not finish booting in {PROBE_TIMEOUT:.0f}s'
        except OSError as e:
            return False, f'could not run {emulator}: {e}'
    if rc != _PROBE_EXIT:
        return False, f'a KVM probe guest failed (exit status {rc})'
    return True, 'a KVM probe guest booted'


def detect_virt_type() -> tuple[str, str]:
    """('kvm' | 'qemu', why)."""
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return 'qemu', '/dev/kvm is missing or not accessible'
    if not _cpu_has_virt_flags():
        return 'qemu', '/dev/kvm exists but the CPU has no vmx/svm flag'
    emulator = shutil.which('qemu-system-x86_64') or '/usr/bin/qemu-system-x86_64'
    ok, why = _probe_kvm_guest(emulator)
    return ('kvm' if ok else 'qemu'), why


class Host:
    """One libvirt connection, opened on first use and reopened when it drops."""

    def __init__(self) -> None:
        self._conn: Any = None
        self._lock = threading.Lock()
        self.virt_type = CONF.libvirt.virt_type
        if self.virt_type is None:
            self.virt_type, why = detect_virt_type()
            LOG.info('libvirt: using virt_type=%s (%s)', self.virt_type, why)
        else:
            LOG.info('libvirt: using virt_type=%s (configured)', self.virt_type)
        self.uri = CONF.libvirt.connection_uri or 'qemu:///system'

    def get_connection(self) -> Any:
        import libvirt
        with self._lock:
            if self._conn is not None:
                try:
                    if self._conn.isAlive():
                        return self._conn
                except libvirt.libvirtError:
                    pass
                LOG.warning('libvirt connection to %s lost; reconnecting', self.uri)
            self._conn = libvirt.open(self.uri)
            return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:  # noqa: BLE001 - closing a dead connection
                    pass
                self._conn = None
