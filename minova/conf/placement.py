"""[placement] (client side, keystoneauth1) and [placement_api] (our placement server)."""
from oslo_config import cfg

server_opts = [
    cfg.HostAddressOpt('bind_host', default='0.0.0.0', help='Address placement listens on.'),
    cfg.PortOpt('bind_port', default=8778, help='Port placement listens on.'),
    cfg.StrOpt('auth_strategy', default='noauth2', choices=['noauth2', 'keystone'],
               help='noauth2: token "admin" is an admin, "user:project" otherwise.'),
    cfg.IntOpt('workers', default=1, min=1, help='Placement worker processes.'),
]

DEFAULT_ENDPOINT = 'http://127.0.0.1:8778'


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(server_opts, group='placement_api')


def register_client_opts(conf: cfg.ConfigOpts) -> None:
    """[placement]: keystoneauth1's options (see minova.conf.register_client_opts)."""
    from keystoneauth1 import loading as ks_loading
    ks_loading.register_session_conf_options(conf, 'placement')
    ks_loading.register_auth_conf_options(conf, 'placement')
    ks_loading.register_adapter_conf_options(conf, 'placement')
    conf.set_default('service_type', 'placement', group='placement')
    conf.set_default('valid_interfaces', ['internal', 'public'], group='placement')


def list_opts() -> tuple[list[cfg.Opt], list[cfg.Opt]]:
    from keystoneauth1 import loading as ks_loading
    return (server_opts,
            ks_loading.get_session_conf_options()
            + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_adapter_conf_options(include_deprecated=False))
