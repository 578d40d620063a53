"""[glance]: where compute fetches images (used once an image service exists)."""
from oslo_config import cfg

opts = [
    cfg.ListOpt('api_servers', help='Image service endpoints (unset: the service catalog).'),
    cfg.IntOpt('num_retries', default=3, min=0, help='Retries of a failed image download.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='glance')
