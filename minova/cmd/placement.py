"""minova-placement: serve the placement REST API."""
from __future__ import annotations

import sys

from oslo_log import log as logging

from minova.conf import CONF


def main() -> None:
    if 'debug' not in CONF:
        logging.register_options(CONF)
    CONF(sys.argv[1:], project='minova')
    logging.setup(CONF, 'minova')
    from minova.placement import errors, wsgi
    from minova.wsgi import server as wsgi_server
    app = wsgi.make_app()
    server = wsgi_server.WSGIServer('placement', app, CONF.placement_api.bind_host,
                                    CONF.placement_api.bind_port,
                                    error_body=errors.error_body)
    server.start()
    server.wait()


if __name__ == '__main__':
    main()
