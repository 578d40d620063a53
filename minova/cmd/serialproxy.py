"""minova-serialproxy: the websocket proxy to guests' TCP serial ports
([serial_console] serialproxy_host/port). Tokens are checked against
[database] connection."""
from __future__ import annotations

from minova.cmd.novncproxy import serve


def main(argv: list[str] | None = None) -> None:
    serve('serialproxy', argv)


if __name__ == '__main__':
    main()
