"""Domain XML built from a GuestSpec: one place that decides what a guest is."""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

METADATA_NS = 'http://minova.openstack.invalid/xmlns/instance/1'
QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0'
# The guest side of the metadata service on user-mode networking (docs/metadata.md)
METADATA_NET = '169.254.0.0/16'
METADATA_ADDR = '169.254.169.254'
METADATA_CHARDEV = 'mdfwd0'
# Prefixes kept when a domain's own XML is parsed and written again (live migration).
ET.register_namespace('minova', METADATA_NS)
ET.register_namespace('qemu', QEMU_NS)


@dataclasses.dataclass
class Disk:
    path: str
    fmt: str            # qcow2 | raw
    target: str         # vda, vdb ...
    readonly: bool = False


@dataclasses.dataclass
class OvsNic:
    """A NIC plugged into an Open vSwitch bridge by libvirt (Neutron's vif_type
    'ovs'): Neutron's OVN controller claims the port by its interfaceid."""
    mac: str
    bridge: str         # br-int
    interfaceid: str    # the Neutron port id
    dev: str            # tap<port id[:11]>, as Nova names it
    mtu: int | None = None


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
    ovs_nics: list[OvsNic] = dataclasses.field(default_factory=list)
    kernel: str | None = None
    ramdisk: str | None = None
    cmdline: str | None = None
    machine: str = 'pc'
    # [vnc] enabled: a VGA display and a VNC server on this address (autoport)
    vnc_listen: str | None = None
    # [serial_console] enabled: serial port 0 is a TCP server here (host, port),
    # its output still logged to console_log
    serial_tcp: tuple[str, int] | None = None
    # [libvirt] metadata_via_user_network: the UNIX socket (the compute listens)
    # to which QEMU's slirp forwards the guest's connections to
    # 169.254.169.254:80 (minova/virt/libvirt/metadata_socket.py), and the
    # server's project, recorded for the compute's restart.
    metadata_socket: str | None = None
    project_id: str | None = None
    # Volumes (minova.virt.libvirt.volume): <disk> XML of the root volume of a
    # server booted from volume (first of all disks: the firmware boots it)
    # and of the other attached volumes (after the local disks).
    boot_volume: str | None = None
    volumes: list[str] = dataclasses.field(default_factory=list)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def ovs_interface(nic: OvsNic) -> ET.Element:
    """The <interface> of an OVS NIC: in the domain XML, and alone for a hot-plug."""
    iface = ET.Element('interface', type='bridge')
    _sub(iface, 'mac', address=nic.mac)
    _sub(iface, 'source', bridge=nic.bridge)
    port = _sub(iface, 'virtualport', type='openvswitch')
    _sub(port, 'parameters', interfaceid=nic.interfaceid)
    _sub(iface, 'target', dev=nic.dev)
    _sub(iface, 'model', type='virtio')
    if nic.mtu:
        _sub(iface, 'mtu', size=str(nic.mtu))
    return iface


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
    if spec.project_id:
        _sub(inst, f'{{{METADATA_NS}}}project', spec.project_id)
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
    if spec.boot_volume:
        devices.append(ET.fromstring(spec.boot_volume))
    for disk in spec.disks:
        d = _sub(devices, 'disk', type='file', device='disk')
        _sub(d, 'driver', name='qemu', type=disk.fmt)
        _sub(d, 'source', file=disk.path)
        _sub(d, 'target', dev=disk.target, bus='virtio')
        if disk.readonly:
            _sub(d, 'readonly')
    for volume in spec.volumes:
        devices.append(ET.fromstring(volume))
    # The guest's serial port goes to a file the API's console log reads; with
    # a serial console it is a TCP server whose output is logged to that file.
    for tag in ('serial', 'console'):
        if spec.serial_tcp:
            chardev = _sub(devices, tag, type='tcp')
            _sub(chardev, 'source', mode='bind', host=spec.serial_tcp[0],
                 service=str(spec.serial_tcp[1]))
            _sub(chardev, 'protocol', type='raw')
            _sub(chardev, 'log', file=spec.console_log, append='on')
        else:
            chardev = _sub(devices, tag, type='file')
            _sub(chardev, 'source', path=spec.console_log, append='on')
        if tag == 'serial':
            _sub(chardev, 'target', port='0')
        else:
            _sub(chardev, 'target', type='serial', port='0')
    if spec.vnc_listen:
        _sub(devices, 'graphics', type='vnc', autoport='yes', listen=spec.vnc_listen)
        video = _sub(devices, 'video')
        _sub(video, 'model', type='vga')
    for nic in spec.ovs_nics:
        devices.append(ovs_interface(nic))
    _sub(devices, 'memballoon', model='none')
    if spec.nics:
        # User-mode NICs on QEMU's command line, isolated (restrict=on): slirp
        # would otherwise carry the guest's traffic out through the host's own
        # sockets, and guest networks go nowhere but where they are asked to.
        # libvirt's <interface type='user'> can neither restrict nor guestfwd.
        ET.register_namespace('qemu', QEMU_NS)
        cmdline = _sub(dom, f'{{{QEMU_NS}}}commandline')
        if spec.metadata_socket:
            # (a comma inside a QEMU option value is written twice)
            path = spec.metadata_socket.replace(',', ',,')
            _sub(cmdline, f'{{{QEMU_NS}}}arg', value='-chardev')
            _sub(cmdline, f'{{{QEMU_NS}}}arg',
                 value=f'socket,id={METADATA_CHARDEV},path={path},reconnect=1')
        for i, mac in enumerate(spec.nics):
            netdev = f'user,id=usernet{i},restrict=on'
            if spec.metadata_socket and i == 0:
                # slirp forwards only addresses inside its own network
                netdev += (f',net={METADATA_NET},guestfwd=tcp:{METADATA_ADDR}:80-'
                           f'chardev:{METADATA_CHARDEV}')
            # A slot from the top: libvirt numbers its own devices from slot 2
            # and QEMU would otherwise give this one a slot libvirt then asks for.
            bus = 'pcie.0' if 'q35' in spec.machine else 'pci.0'
            device = f'virtio-net-pci,netdev=usernet{i},mac={mac},bus={bus},addr={0x1e - i:#x}'
            for arg in ('-netdev', netdev, '-device', device):
                _sub(cmdline, f'{{{QEMU_NS}}}arg', value=arg)
    return ET.tostring(dom, encoding='unicode')


def vnc_port(xml: str) -> int | None:
    """The live VNC port of a running domain's XML (None: no VNC display, or
    none allocated: libvirt says -1 while the guest is off)."""
    graphics = ET.fromstring(xml).find("./devices/graphics[@type='vnc']")
    port = graphics.get('port') if graphics is not None else None
    return int(port) if port and int(port) > 0 else None


def serial_tcp(xml: str) -> list[tuple[str, int]]:
    """(host, port) of each TCP server serial port of a domain's XML."""
    out = []
    for source in ET.fromstring(xml).findall(
            "./devices/serial[@type='tcp']/source[@mode='bind']"):
        if source.get('service'):
            out.append((source.get('host') or '', int(source.get('service') or 0)))
    return out


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


def _metadata_chardev_args(dom: ET.Element) -> list[ET.Element]:
    return [a for a in dom.findall(f'./{{{QEMU_NS}}}commandline/{{{QEMU_NS}}}arg')
            if (a.get('value') or '').startswith(f'socket,id={METADATA_CHARDEV},')]


def metadata_socket(xml: str) -> tuple[str, str] | None:
    """(socket path, project id) of a domain whose guest reaches the metadata
    service through its socket; None for any other domain."""
    dom = ET.fromstring(xml)
    args = _metadata_chardev_args(dom)
    project = dom.find(f'./metadata/{{{METADATA_NS}}}instance/{{{METADATA_NS}}}project')
    if not args or project is None or not project.text:
        return None
    value = (args[0].get('value') or '').replace(',,', '\0')
    for option in value.split(','):
        if option.startswith('path='):
            return option[len('path='):].replace('\0', ','), project.text
    return None


def migration_xml(xml: str, host: str, deployment: str | None,
                  vnc_listen: str | None, serial_ports: list[tuple[str, int]],
                  kernel: str | None = None, ramdisk: str | None = None,
                  metadata_socket: str | None = None) -> str:
    """A running domain's XML (migratable) as the destination runs it: owned
    by the destination host, its VNC display on the destination's address
    and port (libvirt there picks the port: autoport), its TCP serial ports
    the destination's (host, port) in order, its kernel and ramdisk the
    destination's cached copies, its metadata socket the destination's."""
    dom = ET.fromstring(xml)
    if metadata_socket:
        sock = metadata_socket.replace(',', ',,')
        for arg in _metadata_chardev_args(dom):
            arg.set('value', f'socket,id={METADATA_CHARDEV},path={sock},reconnect=1')
    for tag, path in (('kernel', kernel), ('initrd', ramdisk)):
        el = dom.find(f'./os/{tag}')
        if el is not None and path:
            el.text = path
    inst = dom.find(f'./metadata/{{{METADATA_NS}}}instance')
    if inst is not None:
        for tag, value in (('host', host), ('deployment', deployment)):
            el = inst.find(f'{{{METADATA_NS}}}{tag}')
            if value is None:
                if el is not None:
                    inst.remove(el)
                continue
            if el is None:
                el = _sub(inst, f'{{{METADATA_NS}}}{tag}')
            el.text = value
    for graphics in dom.findall("./devices/graphics[@type='vnc']"):
        graphics.set('autoport', 'yes')
        for attr in ('port', 'websocket'):
            graphics.attrib.pop(attr, None)
        if vnc_listen:
            graphics.set('listen', vnc_listen)
            for listen in graphics.findall('listen'):
                if listen.get('type') == 'address':
                    listen.set('address', vnc_listen)
    ports = iter(serial_ports)
    for tag in ('serial', 'console'):
        for chardev in dom.findall(f"./devices/{tag}[@type='tcp']"):
            source = chardev.find("source[@mode='bind']")
            if source is None:
                continue
            if tag == 'console':   # the console is serial port 0 again
                if serial_ports:
                    addr, port = serial_ports[0]
                    source.set('host', addr)
                    source.set('service', str(port))
                continue
            try:
                addr, port = next(ports)
            except StopIteration:
                raise ValueError('fewer destination serial ports than the guest has') \
                    from None
            source.set('host', addr)
            source.set('service', str(port))
    return ET.tostring(dom, encoding='unicode')
