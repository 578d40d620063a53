"""A/B boots of domain XML variants: wall time and QEMU CPU time to the marker.

    python3 bench/guest_ab.py [-n 3] [--image IMG] A.xml B.xml ...

Each variant is a domain XML template whose {name}, {uuid}, {disk} and {log}
are filled in per boot; a comment line `<!-- overlay-size: N -->` makes the
root overlay N bytes (default: the image's own size) and `<!-- define -->`
defines the domain and starts it (as mini-Nova does) instead of createXML.
The variants boot in turn (A B C A B C ...), each on a new qcow2 overlay of
a copy of the image, and each boot is timed from the start call to the
guest's marker in its console file. Beside the wall time it prints the CPU
time (user + system) the domain's QEMU process used up to the marker: on a
shared machine the wall time of a TCG guest varies by seconds with the other
processes' load, its CPU time far less.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

import libvirt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from libvirt_boot import MARKER, URI, cpu_seconds, qemu_pid, scratch_image  # noqa: E402


def boot(conn: libvirt.virConnect, template: str, image: str, work: str, tag: str,
         poll: float, timeout: float = 180.0) -> tuple[float, float, float]:
    """(seconds to start, seconds to marker, QEMU CPU seconds to marker)."""
    d = tempfile.mkdtemp(prefix=f'{tag}-', dir=work)
    os.chmod(d, 0o755)
    disk, log = os.path.join(d, 'disk'), os.path.join(d, 'console.log')
    name = f'ab-{tag}-{os.getpid()}-{os.path.basename(d)}'
    uuid = str(uuidlib.uuid4())
    xml = template.format(name=name, uuid=uuid, disk=disk, log=log)
    size = re.search(r'<!-- overlay-size: (\d+) -->', template)
    t0 = time.monotonic()
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', image, '-F', 'qcow2', disk]
                   + ([size.group(1)] if size else []), check=True)
    if '<!-- define -->' in template:
        open(log, 'a').close()
        dom = conn.defineXML(xml)
        dom.create()
    else:
        dom = conn.createXML(xml, 0)
    started = time.monotonic() - t0
    pid = qemu_pid(uuid)
    try:
        while time.monotonic() - t0 < timeout:
            cpu = cpu_seconds(pid)
            if os.path.exists(log):
                with open(log, errors='replace') as f:
                    if MARKER in f.read():
                        return started, time.monotonic() - t0, cpu
            time.sleep(poll)
        raise SystemExit(f'{tag}: no marker')
    finally:
        dom.destroy()
        if '<!-- define -->' in template:
            dom.undefine()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('variants', nargs='+', help='domain XML templates')
    p.add_argument('-n', type=int, default=3)
    p.add_argument('--image', default='/var/cache/minova-test-image/minova-test.qcow2')
    p.add_argument('--poll', type=float, default=0.1)
    args = p.parse_args()
    work, image = scratch_image('minova-ab-', args.image)
    templates = {os.path.basename(v): open(v).read() for v in args.variants}
    conn = libvirt.open(URI)
    results: dict[str, list[tuple[float, float, float]]] = {t: [] for t in templates}
    try:
        for i in range(args.n):
            for tag, template in templates.items():
                r = boot(conn, template, image, work, tag.split('.')[0], args.poll)
                results[tag].append(r)
                print(f'{i} {tag:24} start {r[0]:6.2f}s marker {r[1]:6.2f}s '
                      f'qemu cpu {r[2]:6.2f}s  load {os.getloadavg()[0]:.1f}', flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f'{"variant":24} {"marker":>8} {"cpu":>7} (medians of {args.n})')
    for tag, rs in results.items():
        print(f'{tag:24} {statistics.median(r[1] for r in rs):7.2f}s '
              f'{statistics.median(r[2] for r in rs):6.2f}s   cpu all: '
              + ' '.join(f'{r[2]:.2f}' for r in rs))


if __name__ == '__main__':
    main()
