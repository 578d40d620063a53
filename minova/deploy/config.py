"""The config files of a deployment, under <state>/etc/."""
from __future__ import annotations

from minova.deploy.layout import Settings


def _common(s: Settings, transport: str) -> str:
    return f"""[DEFAULT]
transport_url = {transport}
state_path = {s.root / 'state'}
report_interval = {s.report_interval}
service_down_time = {s.service_down_time}
concurrency_backend = {s.backend}
debug = {s.debug}

[placement]
endpoint_override = http://127.0.0.1:{s.placement_port}

[compute]
build_timeout_seconds = {s.build_timeout}

[fake_driver]
spawn_delay = {s.spawn_delay}

[oslo_messaging_rabbit]
# Durable: topic queues and their messages survive a broker restart, at the
# price of an fsync before each publish is confirmed. Reconnect quickly.
amqp_durable_queues = {s.durable_queues}
rabbit_retry_interval = 1
rabbit_retry_backoff = 1
rabbit_interval_max = 3
kombu_reconnect_delay = 0.5
heartbeat_timeout_threshold = 20
"""


def files(s: Settings) -> dict[str, str]:
    """File name under etc/ -> contents."""
    top = _common(s, s.transport_url('top')) + f"""
[api_database]
connection = {s.db_url('api')}

[database]
# Services above the cells (API, scheduler, super-conductor) keep their
# service records in cell0, as devstack configures them.
connection = {s.db_url('cell0')}

[placement_database]
connection = {s.db_url('placement')}

[api]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {s.api_port}
osapi_compute_workers = {s.api_workers}

[placement_api]
bind_host = 127.0.0.1
bind_port = {s.placement_port}
""" + s.extra_conf
    conductor = '[DEFAULT]\n'
    if s.single_conductor:
        # The only conductor serves the cell too: its DB is the cell's.
        conductor += f'\n[database]\nconnection = {s.db_url(s.cell_names[0])}\n'
    out = {'minova.conf': top.replace('[DEFAULT]\n', '[DEFAULT]\nhost = controller\n', 1),
           s.conductor_conf: conductor, 'scheduler.conf': '[DEFAULT]\n'}
    for cell in s.cell_names:
        # Cell services have no API DB credentials (the superconductor layout).
        out[f'{cell}.conf'] = _common(s, s.transport_url(cell)) + f"""
[database]
connection = {s.db_url(cell)}
""" + s.extra_conf
        out[f'{cell}-conductor.conf'] = f'[DEFAULT]\nhost = {cell}-controller\n'
        port = s.novnc_ports().get(cell)
        if port is not None:
            # the cell's computes hand out URLs of their cell's proxy
            out[f'{cell}.conf'] += (f'\n[vnc]\nnovncproxy_base_url = '
                                    f'http://127.0.0.1:{port}/vnc_auto.html\n')
            out[f'{cell}-novncproxy.conf'] = (
                f'[DEFAULT]\nhost = {cell}-controller\n\n[vnc]\n'
                f'novncproxy_host = 127.0.0.1\nnovncproxy_port = {port}\n')
        port = s.serial_ports().get(cell)
        if port is not None:
            # the cell's computes give guests TCP serial ports and hand out
            # URLs of their cell's proxy
            out[f'{cell}.conf'] += (f'\n[serial_console]\nenabled = true\n'
                                    f'base_url = ws://127.0.0.1:{port}/\n')
            out[f'{cell}-serialproxy.conf'] = (
                f'[DEFAULT]\nhost = {cell}-controller\n\n[serial_console]\n'
                f'serialproxy_host = 127.0.0.1\nserialproxy_port = {port}\n')
        for host in s.compute_hosts(cell):
            out[f'{host}.conf'] = f'[DEFAULT]\nhost = {host}\n'
    return out


def write(s: Settings) -> None:
    etc = s.root / 'etc'
    etc.mkdir(parents=True, exist_ok=True)
    for name, text in files(s).items():
        path = etc / name
        path.write_text(text)
        path.chmod(0o600)  # database passwords
