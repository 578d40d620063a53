"""[glance]: where compute and the API reach the Image service (keystoneauth1)."""
from oslo_config import cfg

opts = [
    cfg.ListOpt('api_servers', help='Image service endpoints (unset: the service catalog).'),
    cfg.IntOpt('num_retries', default=3, min=0, help='Retries of a failed image download.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='glance')


def register_client_opts(conf: cfg.ConfigOpts) -> None:
    """[glance]: keystoneauth1's options (see minova.conf.register_client_opts)."""
    from keystoneauth1 import loading as ks_loading
    ks_loading.register_session_conf_options(conf, 'glance')
    ks_loading.register_auth_conf_options(conf, 'glance')
    ks_loading.register_adapter_conf_options(conf, 'glance')
    conf.set_default('service_type', 'image', group='glance')
    conf.set_default('valid_interfaces', ['internal', 'public'], group='glance')
