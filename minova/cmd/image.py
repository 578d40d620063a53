"""minova-image: serve the embedded Image service v2-compatible API."""
from __future__ import annotations

import sys

from minova.cmd import common
from minova.conf import CONF


def main() -> None:
    common.parse_args(sys.argv[1:])
    from minova.image import wsgi
    from minova.wsgi import server as wsgi_server
    server = wsgi_server.WSGIServer('minova-image', wsgi.make_service_app(),
                                    CONF.image_api.bind_host, CONF.image_api.bind_port)
    server.start()
    common.wait_for_signal(server.stop)


if __name__ == '__main__':
    main()
