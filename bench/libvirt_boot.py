"""Boot-to-marker time: through mini-Nova against `virsh create` directly.

    python3 bench/libvirt_boot.py [-n 3] [--image /var/cache/minova-test-image/minova-test.qcow2]

Starts a private all-in-one (libvirt driver, its image service) in a
subprocess with a fresh state directory, uploads the test image (a new image
each run, so the first boot takes the cold path: download into the image
cache), then n times, alternating: POST /servers and poll the console log
through the API until the guest prints its marker; and the same image as a
qcow2 overlay in a domain of the same shape (made by the driver's own
domain_xml: 1 vCPU, 128 MiB, virtio disk, serial console to a file, and the
VNC display with its VGA device that mini-Nova's default `[vnc] enabled`
gives every guest; --no-vnc leaves both out on both sides) started with
`virsh create`, timed to the same marker in its console file. Both sides
poll every --poll seconds.

Before the timed boots, --warmup (1) untimed virsh boots of the same image
start the run's first QEMU, whose binary and firmware pages may be cold and
whose memory may first have to be reclaimed after other load: that cost is
the host's, and whichever side booted first paid it. mini-Nova's image cache
is still cold for its first boot.

Prints the first mini-Nova boot (the newly uploaded image) and the median of
the later ones, each against the median of the virsh boots, split in two:
up to the domain's start (mini-Nova: POST to the end of its libvirt_start
event; virsh: the overlay and `virsh create` returned) and the guest's own
part, from there to the marker. On a loaded machine the guest's part varies
by seconds from boot to boot, the part before the start by far less: that
part is what mini-Nova adds. Beside each, the CPU time (user + system) the
guest's QEMU process used from its start to the marker: the guest's own
work, which other processes' load hardly moves, so a guest that does more
under mini-Nova shows there, one that only waits longer for the CPU does
not; and the all-in-one's CPU from each POST to its marker (serving the
console polls among it). Then the first boot's server timeline
(`minova-manage server timeline`: its stages and the 'create' action's
events, the driver's spawn steps among them).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minova.virt.libvirt import config as vconfig  # noqa: E402
from minova.virt.libvirt import host as vhost  # noqa: E402

MARKER = 'MINOVA-TEST-IMAGE-BOOTED'
URI = 'qemu:///system'
H = {'X-Auth-Token': 'admin:admin', 'OpenStack-API-Version': 'compute latest'}


def _port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_aio(state: str, vnc: bool = True) -> tuple[subprocess.Popen, str, str]:
    api, placement, image = _port(), _port(), _port()
    conf = os.path.join(state, 'minova.conf')
    with open(conf, 'w') as f:
        f.write(f"""[DEFAULT]
state_path = {state}
compute_driver = libvirt.LibvirtDriver
reserved_host_memory_mb = 0
[api]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {api}
[placement_api]
bind_host = 127.0.0.1
bind_port = {placement}
[image_api]
bind_host = 127.0.0.1
bind_port = {image}
[vnc]
enabled = {vnc}
""")
    log = open(os.path.join(state, 'aio.log'), 'w')  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen([sys.executable, '-c',
                             'from minova.cmd.all_in_one import main; main()',
                             '--config-file', conf], stdout=log, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{api}/v2.1'
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + '/os-hypervisors', headers=H, timeout=5).json().get(
                    'hypervisors'):
                return proc, base, f'http://127.0.0.1:{image}'
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit('all-in-one did not start; see ' + log.name)


def upload(image_url: str, path: str) -> str:
    r = requests.post(image_url + '/v2/images', headers=H, timeout=30, json={
        'name': 'bench', 'disk_format': 'qcow2', 'container_format': 'bare'})
    image_id = r.json()['id']
    with open(path, 'rb') as f:
        requests.put(f'{image_url}/v2/images/{image_id}/file', data=f, timeout=120,
                     headers=dict(H, **{'Content-Type': 'application/octet-stream'}))
    return image_id


def qemu_pid(uuid: str) -> int | None:
    """The pid of the QEMU process running the domain uuid (None: not yet)."""
    run = '/run/libvirt/qemu'
    with contextlib.suppress(OSError):
        for entry in os.listdir(run):
            if not entry.endswith('.pid'):
                continue
            with contextlib.suppress(OSError, ValueError):
                with open(os.path.join(run, entry)) as f:
                    pid = int(f.read().strip())
                with open(f'/proc/{pid}/cmdline', 'rb') as f:
                    if uuid.encode() in f.read():
                        return pid
    return None


def scratch_image(prefix: str, source: str) -> tuple[str, str]:
    """(a work directory under /var/tmp, a copy of source in it), both readable
    by libvirt's QEMU user."""
    work = tempfile.mkdtemp(prefix=prefix, dir='/var/tmp')
    os.chmod(work, 0o755)
    image = os.path.join(work, 'image.qcow2')
    shutil.copy(source, image)
    os.chmod(image, 0o644)
    return work, image


def cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system, all threads) process pid has used so far."""
    return sum(cpu_split(pid))


def cpu_split(pid: int | None) -> tuple[float, float]:
    """(user, system) CPU seconds, all threads, process pid has used so far."""
    if pid is None:
        return float('nan'), float('nan')
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return float('nan'), float('nan')
    tick = os.sysconf('SC_CLK_TCK')
    return int(fields[11]) / tick, int(fields[12]) / tick


@dataclasses.dataclass
class Boot:
    marker: float       # seconds from the start of the request to the marker
    started: float      # seconds from it to the domain's start (nan: not known)
    # CPU seconds QEMU used from its start to the marker: the guest's own
    # work, which (unlike its wall time) the machine's other load hardly moves
    qemu_cpu: float = float('nan')
    # CPU seconds the all-in-one used from the POST to the marker (its API
    # answering the console polls among them); nan for virsh's boots
    aio_cpu: float = float('nan')
    qemu_sys: float = float('nan')     # the system (kernel) part of qemu_cpu

    @property
    def guest(self) -> float:
        return self.marker - self.started


class NovaBoot:
    """One boot through the API: its time to the marker, and (when asked)
    its server timeline read before the server is deleted."""

    def __init__(self, base: str, conf: str, pid: int) -> None:
        self.base, self.conf, self.pid = base, conf, pid
        self.state = os.path.dirname(conf)

    def _cpu(self) -> float:
        """CPU seconds the all-in-one has used so far."""
        with open(f'/proc/{self.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def __call__(self, image_id: str, i: int, poll: float, timeline: bool = False,
                 timeout: float = 120.0) -> tuple[Boot, str]:
        base = self.base
        t0, wall0, cpu0 = time.monotonic(), time.time(), self._cpu()
        r = requests.post(base + '/servers', headers=H, timeout=30, json={'server': {
            'name': f'bench-{i}', 'flavorRef': 'bench-lv', 'imageRef': image_id,
            'networks': 'none'}})
        r.raise_for_status()
        sid = r.json()['server']['id']
        log = os.path.join(self.state, 'instances', sid, 'console.log')
        in_file: float | None = None
        pid: int | None = None
        qcpu = float('nan')
        qsplit = (qcpu, qcpu)
        try:
            while time.monotonic() - t0 < timeout:
                pid = pid or qemu_pid(sid)
                if in_file is None:
                    qsplit = cpu_split(pid)
                    qcpu = sum(qsplit)
                    with contextlib.suppress(OSError), open(log, errors='replace') as f:
                        if MARKER in f.read():
                            in_file = time.monotonic() - t0
                r = requests.post(f'{base}/servers/{sid}/action', headers=H, timeout=30,
                                  json={'os-getConsoleOutput': {}})
                if r.status_code == 200 and MARKER in r.json()['output']:
                    took = time.monotonic() - t0
                    cpu = self._cpu() - cpu0
                    text, started = self.timeline(sid, wall0, wall0 + took)
                    text += (f'\n  the marker was in console.log {in_file or took:.2f} s after '
                             f'the POST; the all-in-one used {cpu:.2f} s of CPU meanwhile')
                    return Boot(took, started - wall0 if started else float('nan'),
                                qcpu, cpu, qsplit[1]), (text if timeline else '')
                time.sleep(poll)
            raise SystemExit(f'server {sid} never printed the marker')
        finally:
            requests.delete(f'{base}/servers/{sid}', headers=H, timeout=30)

    def timeline(self, sid: str, posted: float, marker: float) -> tuple[str, float | None]:
        """`minova-manage server timeline` of sid, and where the marker came
        (seconds after the POST, and after the domain's start returned)."""
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        out = subprocess.run(
            [sys.executable, '-c', 'from minova.cmd.manage import main; main()',
             '--config-file', self.conf, 'server', 'timeline', sid],
            capture_output=True, text=True, timeout=60,
            env=dict(os.environ, PYTHONPATH=root)).stdout.rstrip()
        out = '\n'.join(ln for ln in out.splitlines() if ' INFO ' not in ln)
        lines = [out]
        started = _event_finish(out, 'libvirt_start')
        if started is not None:
            lines.append(f'  domain started {started - posted:.2f} s after the POST; the '
                         f'guest printed its marker {marker - started:.2f} s later '
                         f'(seen by the poll {marker - posted:.2f} s after the POST)')
        return '\n'.join(lines), started


def _event_finish(timeline: str, event: str) -> float | None:
    """The finish of event in a rendered timeline, as a Unix time (the
    timeline shows UTC clock times of today)."""
    for line in timeline.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == event and parts[2] == '->':
            today = datetime.datetime.now(datetime.UTC).date()
            clock = datetime.datetime.strptime(parts[3], '%H:%M:%S.%f').time()
            return datetime.datetime.combine(today, clock, datetime.UTC).timestamp()
    return None


def virsh_boot(image: str, work: str, virt_type: str, i: int, poll: float, vnc: bool,
               timeout: float = 120.0) -> Boot:
    d = os.path.join(work, f'direct-{i}')
    os.makedirs(d, mode=0o755)
    disk, log = os.path.join(d, 'disk'), os.path.join(d, 'console.log')
    spec = vconfig.GuestSpec(name=f'bench-direct-{i}-{os.getpid()}', uuid=str(uuidlib.uuid4()),
                             virt_type=virt_type, memory_mb=128, vcpus=1,
                             disks=[vconfig.Disk(disk, 'qcow2', 'vda')], console_log=log,
                             vnc_listen='127.0.0.1' if vnc else None)
    xml = os.path.join(d, 'domain.xml')
    with open(xml, 'w') as f:
        f.write(vconfig.domain_xml(spec))
    t0 = time.monotonic()
    # Same work as the driver's disk step: an overlay on the (cached) image.
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', image, '-F', 'qcow2',
                    disk], check=True)
    subprocess.run(['virsh', '-q', '-c', URI, 'create', xml], check=True,
                   stdout=subprocess.DEVNULL)
    started = time.monotonic() - t0
    pid = qemu_pid(spec.uuid)
    try:
        while time.monotonic() - t0 < timeout:
            qsplit = cpu_split(pid)
            if os.path.exists(log):
                with open(log, errors='replace') as f:
                    if MARKER in f.read():
                        return Boot(time.monotonic() - t0, started, sum(qsplit),
                                    qemu_sys=qsplit[1])
            time.sleep(poll)
        raise SystemExit('the direct guest never printed the marker')
    finally:
        subprocess.run(['virsh', '-q', '-c', URI, 'destroy', spec.name],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('-n', type=int, default=3, help='boots of each kind')
    p.add_argument('--image', default='/var/cache/minova-test-image/minova-test.qcow2')
    p.add_argument('--poll', type=float, default=0.1,
                   help='console poll interval of both sides (s)')
    p.add_argument('--warmup', type=int, default=1,
                   help='untimed virsh boots first, so that neither side times the '
                        "host's first QEMU of the run (cold binary and firmware pages, "
                        'memory reclaimed after other load); mini-Nova\'s image cache '
                        'stays cold')
    p.add_argument('--no-vnc', dest='vnc', action='store_false',
                   help='no VNC display (nor VGA device) on either side')
    args = p.parse_args()
    work, image = scratch_image('minova-bench-', args.image)
    virt_type, why = vhost.detect_virt_type()
    state = os.path.join(work, 'state')
    os.makedirs(state, mode=0o755)
    proc, base, image_url = start_aio(state, args.vnc)
    try:
        image_id = upload(image_url, args.image)
        requests.post(base + '/flavors', headers=H, timeout=30, json={'flavor': {
            'name': 'bench-lv', 'id': 'bench-lv', 'vcpus': 1, 'ram': 128, 'disk': 1}})
        boot = NovaBoot(base, os.path.join(state, 'minova.conf'), proc.pid)
        # Alternating, so both sides see the same load on a shared machine.
        nova: list[Boot] = []
        direct: list[Boot] = []
        timeline = ''
        for i in range(args.warmup):
            virsh_boot(image, work, virt_type, args.n + i, args.poll, args.vnc)
        for i in range(args.n):
            took, text = boot(image_id, i, args.poll, timeline=i == 0)
            nova.append(took)
            timeline = timeline or text
            direct.append(virsh_boot(image, work, virt_type, i, args.poll, args.vnc))
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    print(f'virt_type {virt_type} ({why}); {args.n} boots each after {args.warmup} untimed '
          f'virsh boot(s), console polled every {args.poll:g} s; VNC display and VGA '
          f'{"on" if args.vnc else "off"} on both sides')
    print(f'{"":34} {"to marker":>9} {"ratio":>6} {"to start":>9} {"guest":>7} '
          f'{"QEMU CPU":>9} {"ratio":>6}')

    def row(label: str, boots: list[Boot], ref: float, ref_cpu: float) -> None:
        m = statistics.median(b.marker for b in boots)
        c = statistics.median(b.qemu_cpu for b in boots)
        print(f'{label:34} {m:8.2f}s {m / ref:6.2f} '
              f'{statistics.median(b.started for b in boots):8.2f}s '
              f'{statistics.median(b.guest for b in boots):6.2f}s '
              f'{c:8.2f}s {c / ref_cpu:6.2f}')
    d = statistics.median(b.marker for b in direct)
    dc = statistics.median(b.qemu_cpu for b in direct)
    row('virsh create (median)', direct, d, dc)
    row('mini-Nova first boot (new image)', nova[:1], d, dc)
    if len(nova) > 1:
        row('mini-Nova later boots (median)', nova[1:], d, dc)
    print('  mini-Nova all-in-one CPU from POST to marker: '
          + ', '.join(f'{b.aio_cpu:.2f}' for b in nova))
    for label, boots in (('virsh', direct), ('mini-Nova', nova)):
        print(f'  {label} all (marker/start/QEMU CPU/of which system): '
              + ', '.join(f'{b.marker:.2f}/{b.started:.2f}/{b.qemu_cpu:.2f}/{b.qemu_sys:.2f}'
                          for b in boots))
    print('first boot timeline:')
    print(timeline)


if __name__ == '__main__':
    main()
