"""[image_api]: the embedded Image service v2-compatible endpoint (minova-image)."""
from oslo_config import cfg

opts = [
    cfg.HostAddressOpt('bind_host', default='0.0.0.0', help='Address minova-image listens on.'),
    cfg.PortOpt('bind_port', default=9292, help='Port minova-image listens on.'),
    cfg.StrOpt('images_path', default='$state_path/images',
               help='Where minova-image keeps image data and metadata.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='image_api')
