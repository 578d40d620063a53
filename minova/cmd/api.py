"""minova-api: the compute REST API on :8774."""
import sys

from minova.api import wsgi
from minova.cmd import common
from minova.conf import CONF
from minova.wsgi_server import WSGIServer


def main() -> None:
    common.parse_args(sys.argv[1:])
    server = WSGIServer('minova-api', wsgi.make_app(), CONF.api.osapi_compute_listen,
                        CONF.api.osapi_compute_listen_port)
    server.start()
    common.wait_for_signal(server.stop)
