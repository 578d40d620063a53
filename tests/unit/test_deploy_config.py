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
