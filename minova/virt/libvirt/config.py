"""Domain XML built from a GuestSpec: one place that decides what a guest is."""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

METADATA_NS = 'http://minova.openstack.invalid/xmlns/instance/1'


@dataclasses.dataclass
class Disk:
    path: str
    fmt: str            # qcow2 | raw
    target: str         # vda, vdb ...
    readonly: bool = False


@dataclasses.dataclass
class GuestSpec:
    name: str
    uuid: str
    virt_type: str                  # kvm | qemu
    memory_mb: int
    vcpus: int
    disks: list[Disk]
    console_log: str
    display_name: str = ''
    # Who owns the guest: the deployment's uuid and the compute host's name.
    deployment: str | None = None
    host: str | None = None
    nics: list[str] = dataclasses.field(default_factory=list)   # MACs of user-mode NICs
    kernel: str | None = None
    ramdisk: str | None = None
    cmdline: str | None = None
    machine: str = 'pc'


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def domain_xml(spec: GuestSpec) -> str:
    dom = ET.Element('domain', type=spec.virt_type)
    _sub(dom, 'name', spec.name)
    _sub(dom, 'uuid', spec.uuid)
    meta = _sub(dom, 'metadata')
    ET.register_namespace('minova', METADATA_NS)
    inst = _sub(meta, f'{{{METADATA_NS}}}instance')
    _sub(inst, f'{{{METADATA_NS}}}name', spec.display_name)
    if spec.deployment:
        _sub(inst, f'{{{METADATA_NS}}}deployment', spec.deployment)
    if spec.host:
        _sub(inst, f'{{{METADATA_NS}}}host', spec.host)
    _sub(dom, 'memory', str(spec.memory_mb), unit='MiB')
    _sub(dom, 'currentMemory', str(spec.memory_mb), unit='MiB')
    _sub(dom, 'vcpu', str(spec.vcpus), placement='static')
    os_el = _sub(dom, 'os')
    _sub(os_el, 'type', 'hvm', arch='x86_64', machine=spec.machine)
    if spec.kernel:
        _sub(os_el, 'kernel', spec.kernel)
        if spec.ramdisk:
            _sub(os_el, 'initrd', spec.ramdisk)
        if spec.cmdline:
            _sub(os_el, 'cmdline', spec.cmdline)
    else:
        _sub(os_el, 'boot', dev='hd')
    features = _sub(dom, 'features')
    _sub(features, 'acpi')
    _sub(features, 'apic')
    if spec.virt_type == 'kvm':
        _sub(dom, 'cpu', mode='host-model')
    _sub(dom, 'clock', offset='utc')
    _sub(dom, 'on_poweroff', 'destroy')
    _sub(dom, 'on_reboot', 'restart')
    _sub(dom, 'on_crash', 'destroy')
    devices = _sub(dom, 'devices')
    for disk in spec.disks:
        d = _sub(devices, 'disk', type='file', device='disk')
        _sub(d, 'driver', name='qemu', type=disk.fmt)
        _sub(d, 'source', file=disk.path)
        _sub(d, 'target', dev=disk.target, bus='virtio')
        if disk.readonly:
            _sub(d, 'readonly')
    for mac in spec.nics:
        nic = _sub(devices, 'interface', type='user')
        _sub(nic, 'mac', address=mac)
        _sub(nic, 'model', type='virtio')
    # The guest's serial port goes to a file the API's console log reads.
    serial = _sub(devices, 'serial', type='file')
    _sub(serial, 'source', path=spec.console_log, append='on')
    _sub(serial, 'target', port='0')
    console = _sub(devices, 'console', type='file')
    _sub(console, 'source', path=spec.console_log, append='on')
    _sub(console, 'target', type='serial', port='0')
    _sub(devices, 'memballoon', model='none')
    return ET.tostring(dom, encoding='unicode')


def metadata_owner(metadata_xml: str) -> tuple[str | None, str | None]:
    """(deployment, host) named by a domain's minova metadata element;
    (None, None) for guests created before owners were recorded. libvirt
    hands the element back without its namespace; the domain XML has it."""
    try:
        root = ET.fromstring(metadata_xml)
    except ET.ParseError:
        return None, None

    def text(tag: str) -> str | None:
        found = root.findtext(tag)
        return found if found is not None else root.findtext(f'{{{METADATA_NS}}}{tag}')
    return text('deployment'), text('host')
