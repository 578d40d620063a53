"""The metadata service: [DEFAULT] metadata_listen/metadata_listen_port (as
older nova.conf had them) and [neutron] metadata_proxy_shared_secret, the
key of the X-Instance-ID-Signature that identifies the asking instance."""
from oslo_config import cfg

default_opts = [
    cfg.HostAddressOpt('metadata_listen', default='0.0.0.0',
                       help='Address minova-api-metadata listens on.'),
    cfg.PortOpt('metadata_listen_port', default=8775,
                help='Port minova-api-metadata listens on.'),
]

neutron_opts = [
    cfg.StrOpt('metadata_proxy_shared_secret', default='', secret=True,
               help='Key of the HMAC-SHA256 in X-Instance-ID-Signature that the proxy '
                    'in front of the metadata service (Neutron\'s metadata agent, or '
                    'the libvirt compute\'s per-guest metadata sockets) signs '
                    'X-Instance-ID with. Empty: the metadata service answers no instance, '
                    'and user-mode guests get no metadata socket (the all-in-one makes '
                    'up a secret of its own when it is empty).'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(default_opts)
    conf.register_opts(neutron_opts, group='neutron')
