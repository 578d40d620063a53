"""minova-novncproxy: noVNC's web client and the websocket proxy to guests'
VNC displays ([vnc] novncproxy_host/port; noVNC's files from --web or
[DEFAULT] web). Tokens are checked against [database] connection."""
from __future__ import annotations

import sys

from minova.cmd import common
from minova.conf import CONF
from minova.conf import console as console_conf


def serve(make: str, argv: list[str] | None = None) -> None:
    CONF.register_cli_opts(console_conf.web_opts)
    common.parse_args(sys.argv[1:] if argv is None else argv)
    from minova.console import websocketproxy
    server = getattr(websocketproxy, make)()
    server.start()
    common.wait_for_signal(server.stop)


def main(argv: list[str] | None = None) -> None:
    serve('novncproxy', argv)


if __name__ == '__main__':
    main()
