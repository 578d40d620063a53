"""minova-api-metadata: the metadata service on [DEFAULT]
metadata_listen:metadata_listen_port (:8775), as nova-api-metadata."""
from __future__ import annotations

import sys

from minova.cmd import common
from minova.conf import CONF
from minova.wsgi.server import WSGIServer


def main(argv: list[str] | None = None) -> None:
    common.parse_args(sys.argv[1:] if argv is None else argv)
    from minova.metadata import wsgi
    server = WSGIServer('minova-api-metadata', wsgi.make_app(), CONF.metadata_listen,
                        CONF.metadata_listen_port)
    server.start()
    common.wait_for_signal(server.stop)


if __name__ == '__main__':
    main()
