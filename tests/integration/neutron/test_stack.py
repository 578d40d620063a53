"""The real Neutron stack on its own: a port bound to the chassis, a network
namespace standing in for the guest, OVN's DHCP, the port going ACTIVE and
Neutron telling "Nova" (a stand-in HTTP server on the mini-Nova API port)
that the VIF is plugged."""
from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.integration.neutron.conftest import Neutron, dhcp, plug_fake_guest, unplug_fake_guest


class EventSink:
    """What Neutron POSTs to <nova_url>/os-server-external-events."""

    def __init__(self, port: int) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.arrived = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:   # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                with sink.arrived:
                    sink.requests.append((self.path, dict(self.headers), body))
                    sink.arrived.notify_all()
                events = [dict(e, code=200, status='completed') for e in body['events']]
                out = json.dumps({'events': events}).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_event(self, name: str, tag: str, timeout: float = 30.0) -> tuple[str, dict[str, str]]:
        def found() -> tuple[str, dict[str, str]] | None:
            for path, headers, body in self.requests:
                for e in body['events']:
                    if e['name'] == name and e['tag'] == tag:
                        return path, headers
            return None
        with self.arrived:
            self.arrived.wait_for(found, timeout)
            hit = found()
        assert hit, f'no {name} for {tag}; got {[b for _, _, b in self.requests]}'
        return hit


@pytest.fixture(scope='module')
def sink(neutron: Neutron) -> Iterator[EventSink]:
    s = EventSink(neutron.nova_port)
    yield s
    s.server.shutdown()
    s.server.server_close()


def test_bound_port_gets_dhcp_and_goes_active(neutron: Neutron, sink: EventSink,
                                              tmp_path: Any) -> None:
    net = neutron.create_network('stack-net')
    subnet = neutron.create_subnet(net['id'], '192.0.2.0/24')
    device = str(uuid.uuid4())
    port = neutron.create_port(net['id'], **{
        'binding:host_id': neutron.host, 'device_owner': 'compute:nova',
        'device_id': device})
    g = None
    try:
        # ML2/OVN bound it to this host's chassis as an OVS port on br-int
        assert port['binding:vif_type'] == 'ovs', port
        assert port['binding:vif_details'].get('bridge_name', 'br-int') == 'br-int'
        assert port['status'] == 'DOWN'
        assert net['mtu'] == 1442           # geneve's overhead off 1500

        g = plug_fake_guest(port)
        lease = dhcp(g, str(tmp_path))
        assert lease['ip'] == port['fixed_ips'][0]['ip_address']
        assert lease['mask'] == '24'
        assert lease['router'] == subnet['gateway_ip']
        assert lease['mtu'] == str(net['mtu'])

        neutron.wait_port(port['id'], 'ACTIVE')
        # ... and Neutron's nova notifier posted the event with mini-Nova's
        # noauth2 token to the configured endpoint
        path, headers = sink.wait_event('network-vif-plugged', port['id'])
        assert path == '/v2.1/os-server-external-events'
        assert headers.get('X-Auth-Token') == 'admin:admin'
    finally:
        if g:
            unplug_fake_guest(g)
        neutron.cleanup()
    assert neutron.ports(device_id=device) == []
