"""[vnc], [serial_console], [consoleauth] and [console]: remote consoles, as nova.conf.

The guest's VNC display listens on `[vnc] server_listen` and its TCP serial
port on `[serial_console] proxyclient_address` (both loopback by default),
so only the console proxies on the same host reach them. The proxies listen
on every address (Nova's 0.0.0.0, like every other minova service's listen
default) and admit only a valid token.
"""
from oslo_config import cfg

# The URLs are StrOpts where Nova has URIOpts: a URIOpt's default is checked at
# registration with rfc3986, which every console script would then import
# (minova/lean.py defers it).

# [DEFAULT] web, as Nova's console proxies take it (also --web on their command line)
web_opts = [
    cfg.StrOpt('web', default='/usr/share/novnc',
               help='Directory of the noVNC client that minova-novncproxy serves '
                    '(Debian\'s novnc package installs it here; Nova\'s default names '
                    'spice-html5, which mini-Nova does not serve).'),
]

vnc_opts = [
    cfg.BoolOpt('enabled', default=True,
                help='Give guests a VNC display and answer VNC console requests.'),
    cfg.HostAddressOpt('server_listen', default='127.0.0.1',
                       help='Address the guests\' VNC displays listen on.'),
    cfg.HostAddressOpt('server_proxyclient_address', default='127.0.0.1',
                       help='Address of this compute host that the VNC proxy connects '
                            'to for its guests\' displays.'),
    cfg.StrOpt('novncproxy_base_url', default='http://127.0.0.1:6080/vnc_auto.html',
               help='Public URL of the noVNC client page; a console URL is this with '
                    '"?path=%3Ftoken%3D<token>". Per compute host.'),
    cfg.HostAddressOpt('novncproxy_host', default='0.0.0.0',
                       help='Address minova-novncproxy listens on.'),
    cfg.PortOpt('novncproxy_port', default=6080,
                help='Port minova-novncproxy listens on.'),
]

serial_opts = [
    cfg.BoolOpt('enabled', default=False,
                help='Give guests a TCP serial port and answer serial console requests.'),
    cfg.StrOpt('port_range', default='10000:20000', regex=r'^\d+:\d+$',
               help='Range (MIN:MAX) of TCP ports the guests\' serial ports take.'),
    cfg.StrOpt('base_url', default='ws://127.0.0.1:6083/',
               help='Public URL of minova-serialproxy; a console URL is this with '
                    '"?token=<token>".'),
    cfg.HostAddressOpt('proxyclient_address', default='127.0.0.1',
                       help='Address the guests\' serial ports listen on and the serial '
                            'proxy connects to.'),
    cfg.HostAddressOpt('serialproxy_host', default='0.0.0.0',
                       help='Address minova-serialproxy listens on.'),
    cfg.PortOpt('serialproxy_port', default=6083,
                help='Port minova-serialproxy listens on.'),
]

consoleauth_opts = [
    cfg.IntOpt('token_ttl', default=600, min=0,
               help='Seconds a console token stays valid.'),
]

console_opts = [
    cfg.ListOpt('allowed_origins', default=[],
                help='Host names besides the request\'s Host that a console '
                     'connection\'s Origin may name.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(web_opts)
    conf.register_opts(vnc_opts, group='vnc')
    conf.register_opts(serial_opts, group='serial_console')
    conf.register_opts(consoleauth_opts, group='consoleauth')
    conf.register_opts(console_opts, group='console')


def port_range() -> tuple[int, int]:
    from minova.conf import CONF
    low, _, high = CONF.serial_console.port_range.partition(':')
    return int(low), int(high)
