"""minova-image: serve the embedded Image service v2-compatible API."""
from __future__ import annotations

import sys

from oslo_log import log as logging

from minova.conf import CONF


def main() -> None:
    if 'debug' not in CONF:
        logging.register_options(CONF)
    CONF(sys.argv[1:], project='minova')
    logging.setup(CONF, 'minova')
    from minova import wsgi_server
    from minova.image import wsgi
    server = wsgi_server.WSGIServer('minova-image', wsgi.make_app(), CONF.image_api.bind_host,
                                    CONF.image_api.bind_port)
    server.start()
    server.wait()


if __name__ == '__main__':
    main()
