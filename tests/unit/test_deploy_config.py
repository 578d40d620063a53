"""minova-deploy's config files: what an operator gets by default and on request."""
from __future__ import annotations

import configparser

from minova.deploy import cli, config
from minova.deploy.layout import Settings


def _rabbit_opts(settings: Settings) -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(config.files(settings)['minova.conf'])
    return dict(parser['oslo_messaging_rabbit'])


def test_queues_are_transient_by_default_as_in_nova() -> None:
    assert _rabbit_opts(Settings())['amqp_durable_queues'] == 'False'


def test_durable_queues_on_request() -> None:
    args = cli._parser().parse_args(['up', '--durable-queues'])
    assert args.durable_queues is True
    assert _rabbit_opts(Settings(durable_queues=True))['amqp_durable_queues'] == 'True'


def test_novncproxy_per_cell_on_request(tmp_path: object) -> None:
    assert not [svc for svc in Settings().services() if svc['script'] == 'minova-novncproxy']
    args = cli._parser().parse_args(['up', '--novnc-port', '16080'])
    assert args.novnc_port == 16080
    s = Settings(state_dir=str(tmp_path), novnc_port=16080)
    proxies = [svc for svc in s.services() if svc['script'] == 'minova-novncproxy']
    assert [(p['name'], p['cell'], p['http']) for p in proxies] == [
        ('cell1-novncproxy', 'cell1', 16080), ('cell2-novncproxy', 'cell2', 16081)]
    files = config.files(s)
    for cell, port in (('cell1', 16080), ('cell2', 16081)):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        for name in (f'{cell}.conf', f'{cell}-novncproxy.conf'):
            parser.read_string(files[name])
        assert parser['vnc']['novncproxy_port'] == str(port)
        assert parser['vnc']['novncproxy_base_url'] == \
            f'http://127.0.0.1:{port}/vnc_auto.html'
        assert parser['database']['connection'] == s.db_url(cell)


def test_serialproxy_per_cell_on_request(tmp_path: object) -> None:
    assert not [svc for svc in Settings().services() if svc['script'] == 'minova-serialproxy']
    args = cli._parser().parse_args(['up', '--serial-port', '16083'])
    assert args.serial_port == 16083
    s = Settings(state_dir=str(tmp_path), serial_port=16083, novnc_port=16080)
    proxies = [svc for svc in s.services() if svc['script'] == 'minova-serialproxy']
    assert [(p['name'], p['cell'], p['http']) for p in proxies] == [
        ('cell1-serialproxy', 'cell1', 16083), ('cell2-serialproxy', 'cell2', 16084)]
    files = config.files(s)
    for cell, port in (('cell1', 16083), ('cell2', 16084)):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        for name in (f'{cell}.conf', f'{cell}-serialproxy.conf'):
            parser.read_string(files[name])
        assert parser['serial_console']['enabled'] == 'true'
        assert parser['serial_console']['serialproxy_port'] == str(port)
        assert parser['serial_console']['base_url'] == f'ws://127.0.0.1:{port}/'
        assert parser['database']['connection'] == s.db_url(cell)
        # both proxies at once: the cell's computes know both URLs
        assert parser['vnc']['novncproxy_base_url'] == \
            f'http://127.0.0.1:{port - 3}/vnc_auto.html'
