"""tools/tempest_cloud.py: the all-in-one it starts for Tempest keeps its
metadata service and VNC proxy on free loopback ports of its own, so that it
neither fails to bind nor takes 8775/6080 from another cloud on the machine."""
from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType

from oslo_config import cfg

from minova.conf import console, metadata

REPO = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location('tempest_cloud_tool',
                                                  REPO / 'tools' / 'tempest_cloud.py')
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _load(text: str, tmp_path: Path) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    console.register_opts(conf)
    metadata.register_opts(conf)
    path = tmp_path / 'minova.conf'
    path.write_text(text)
    conf([], default_config_files=[str(path)])
    return conf


def test_metadata_and_vnc_proxy_on_free_loopback_ports(tmp_path: Path) -> None:
    conf = _load(_tool()._own_ports_conf(), tmp_path)
    assert conf.metadata_listen == '127.0.0.1'
    assert conf.vnc.novncproxy_host == '127.0.0.1'
    ports = {conf.metadata_listen_port, conf.vnc.novncproxy_port}
    assert len(ports) == 2 and not ports & {8775, 6080}
    # The console URLs it hands out point at its own proxy.
    assert conf.vnc.novncproxy_base_url == \
        f'http://127.0.0.1:{conf.vnc.novncproxy_port}/vnc_auto.html'
    for port in ports:      # free when written
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', port))
