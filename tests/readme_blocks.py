"""The README's fenced blocks and the marker that says which test runs each.

    <!-- readme: TAG (the test or tier that runs it) -->
    ```sh
    ...
    ```
"""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / 'README.md'
FENCE = re.compile(r'^```(\w+)\n(.*?)^```', re.S | re.M)
MARKER = re.compile(r'<!-- readme: (\w+)(?: \(([^)]*)\))? -->\n$')
# setup and walkthrough: tests/functional/test_readme.py; the others name their test
TAGS = {'setup', 'walkthrough', 'ci', 'libvirt', 'split', 'keystone', 'deploy', 'bench'}


def blocks() -> list[tuple[str, str | None, str, str]]:
    """(tag, note, language, text) of every fenced block, in order."""
    text = README.read_text()
    out = []
    for m in FENCE.finditer(text):
        marker = MARKER.search(text, max(0, m.start() - 200), m.start())
        assert marker and marker.end() == m.start(), \
            f'README block without a <!-- readme: TAG --> marker:\n{m.group(0)[:200]}'
        out.append((marker.group(1), marker.group(2), m.group(1), m.group(2)))
    return out


def local_ports_conf(path: Path, ports: dict[str, int]) -> None:
    """A config file moving the README's 8774/8778/9292 to `ports`."""
    path.write_text(f"""[api]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {ports['8774']}
[placement_api]
bind_host = 127.0.0.1
bind_port = {ports['8778']}
[image_api]
bind_host = 127.0.0.1
bind_port = {ports['9292']}
""")


def localise(text: str, ports: dict[str, int]) -> str:
    for default, port in ports.items():
        text = text.replace(f'127.0.0.1:{default}', f'127.0.0.1:{port}')
    return text
